"""Markdown table, and the md/json/csv files written by write_results."""

import csv
import json
import math

import pytest

from eval.stats import Estimate
from eval.tables import ResultRow, read_results, results_markdown, write_results

NAN = float("nan")


def _rows() -> list[ResultRow]:
    acc = lambda v, lo, hi: Estimate(v, lo, hi, n_items=1000, n_seeds=3, n_boot=2000)  # noqa: E731
    return [
        ResultRow("weak (gold)", "weak", acc(0.601, 0.58, 0.62), auroc=0.655),
        ResultRow("ceiling (gold)", "ceiling", acc(0.729, 0.701, 0.756), auroc=0.80),
        ResultRow("student <- none", "student", acc(0.66, 0.64, 0.68),
                  pgr=Estimate(0.457, 0.31, 0.60, 1000, 3, 2000, n_dropped=2), note="xent"),
        ResultRow("student <- debate", "student", acc(0.70, 0.68, 0.72),
                  pgr=Estimate(0.77, NAN, NAN, 1000, 3, 2000, n_dropped=1500),
                  auroc=NAN, note="ensemble | 4 judges"),
    ]


def test_markdown_has_header_and_one_line_per_row():
    rows = _rows()
    md = results_markdown(rows)
    lines = md.strip().splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[0].startswith("| method | accuracy % [95% CI] | AUROC | PGR % [95% CI]")
    assert "| 72.9 [70.1, 75.6] | 0.800 | – | 1000 | 3 |" in lines[3]
    assert "45.7 [31.0, 60.0]" in lines[4]
    assert "77.0 [n/a, n/a]" in lines[5]
    # The pipe inside the note is escaped, so every line has the same number of cell borders.
    borders = [line.replace("\\|", "").count("|") for line in lines]
    assert len(set(borders)) == 1
    titled = results_markdown(rows, title="SciQ").splitlines()
    assert titled[0] == "### SciQ" and len(titled) == 4 + len(rows)


def test_write_results_writes_three_files_and_json_round_trips(tmp_path):
    rows = _rows()
    meta = {"dataset": "sciq", "seeds": [0, 1, 2], "gap": NAN, "out": tmp_path}
    paths = write_results(rows, tmp_path / "out", name="sciq", meta=meta)
    assert set(paths) == {"md", "json", "csv"}
    for ext, path in paths.items():
        assert path == tmp_path / "out" / f"sciq.{ext}"
        assert path.stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["sciq.csv", "sciq.json", "sciq.md"]

    text = paths["json"].read_text()
    assert "NaN" not in text
    data = json.loads(text)
    assert data["meta"]["gap"] is None and data["meta"]["out"] == str(tmp_path)
    assert data["rows"][3]["pgr"]["lo"] is None and data["rows"][3]["auroc"] is None
    assert data["rows"][0]["pgr"] is None

    back, back_meta = read_results(paths["json"])
    assert back[:3] == rows[:3]
    assert back_meta["seeds"] == [0, 1, 2]
    last = back[3]
    assert last.pgr.value == 0.77 and last.pgr.n_dropped == 1500
    assert math.isnan(last.pgr.lo) and math.isnan(last.pgr.hi)
    assert last.auroc is None   # a nan AUROC (one class absent) is stored as null = not available

    md_lines = paths["md"].read_text().strip().splitlines()
    assert len(md_lines) == 2 + len(rows)

    with paths["csv"].open() as fh:
        records = list(csv.DictReader(fh))
    assert [r["method"] for r in records] == [r.method for r in rows]
    assert float(records[1]["accuracy"]) == pytest.approx(0.729)
    assert records[0]["pgr"] == "" and records[3]["pgr_lo"] == ""
    assert records[3]["note"] == "ensemble | 4 judges"


def test_write_results_overwrites(tmp_path):
    rows = _rows()
    write_results(rows, tmp_path)
    paths = write_results(rows[:1], tmp_path)
    assert len(json.loads(paths["json"].read_text())["rows"]) == 1


def test_an_appendix_follows_the_table_in_markdown_only(tmp_path):
    rows = _rows()
    section = "## A diagnostic\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    paths = write_results(rows, tmp_path, meta={"diagnostic": {"value": 0.5}}, appendix=section)
    assert paths["md"].read_text() == results_markdown(rows) + "\n" + section
    data = json.loads(paths["json"].read_text())
    assert len(data["rows"]) == len(rows) and data["meta"]["diagnostic"] == {"value": 0.5}
    assert "diagnostic" not in paths["csv"].read_text()


def test_unknown_role_is_rejected():
    with pytest.raises(ValueError):
        ResultRow("x", "teacher", Estimate(0.5, 0.4, 0.6, 10, 1, 100))


def _calibrated_rows() -> list[ResultRow]:
    est = lambda v: Estimate(v, v - 0.01, v + 0.02, n_items=1000, n_seeds=3, n_boot=2000)  # noqa: E731
    rows = _rows()
    return [ResultRow(r.method, r.role, r.accuracy, r.pgr, r.auroc, r.note, ece=est(0.042 + i / 100), brier=est(0.2))
            for i, r in enumerate(rows)]


def test_ece_and_brier_are_columns_with_cis_in_every_file(tmp_path):
    rows = _calibrated_rows()
    lines = results_markdown(rows).strip().splitlines()
    assert lines[0] == ("| method | accuracy % [95% CI] | AUROC | ECE %, 15 bins [95% CI] | Brier [95% CI] "
                        "| PGR % [95% CI] | n items | seeds | note |")
    assert "| 72.9 [70.1, 75.6] | 0.800 | 5.2 [4.2, 7.2] | 0.200 [0.190, 0.220] | – | 1000 | 3 |" in lines[3]
    assert len({line.replace("\\|", "").count("|") for line in lines}) == 1
    paths = write_results(rows, tmp_path)
    back, _ = read_results(paths["json"])
    assert [r.ece for r in back] == [r.ece for r in rows] and back[0].brier == rows[0].brier
    with paths["csv"].open() as fh:
        record = next(csv.DictReader(fh))
    assert float(record["ece"]) == pytest.approx(0.042) and float(record["brier_hi"]) == pytest.approx(0.22)


def test_results_json_without_the_new_fields_still_loads(tmp_path):
    old = {"meta": {"dataset": "sciq"}, "rows": [
        {"method": "weak", "role": "weak", "accuracy": Estimate(0.6, 0.5, 0.7, 10, 1, 100).to_dict(),
         "pgr": None, "auroc": 0.6, "note": ""}]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(old))
    rows, meta = read_results(path)
    assert rows[0].ece is None and rows[0].brier is None and meta == {"dataset": "sciq"}
    assert "ECE" not in results_markdown(rows)  # an old table renders as it did
