"""report.html: what it holds, that model text never appears in it as markup, ``w2s report``'s errors, and a
comparison's page (opened in Chromium like the run's, test_labeling_report_browser.py)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

from playwright.sync_api import expect
from report_support import HOSTILE

from labeling.cli import main
from labeling.experiment.report_browser import opened_report
from labeling.experiment.report_data import report_data
from labeling.experiment.report_html import CHUNK, packed, render_page, write_html_report
from labeling.experiment.report_transcripts import segments


def unpacked(block: str) -> object:
    return json.loads(gzip.decompress(base64.b64decode(block)))


def blocks(page: str) -> dict[str, str]:
    return dict(re.findall(r'<script type="application/octet-stream" id="([^"]+)">([^<]*)</script>', page))


def test_segments_mark_checked_quotes_and_keep_the_rest_as_text() -> None:
    text = 'He said <v_quote>cells divide</v_quote> and <u_quote>made up</u_quote> <b>x</b>'
    assert segments(text) == [["He said ", ""], ["cells divide", "v"], [" and ", ""], ["made up", "u"], [" <b>x</b>", ""]]
    assert segments("") == [] and segments("plain") == [["plain", ""]]


def test_packed_blocks_round_trip_and_hold_no_markup() -> None:
    value = {"text": HOSTILE, "n": [1, 2.5, None]}
    block = packed(value)
    assert unpacked(block) == value
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", block)  # base64 only: nothing a parser could read as a tag


def test_page_embeds_its_data_compressed_and_allows_only_its_own_script(report_run) -> None:
    _, out = report_run
    page = (out / "report.html").read_text()
    assert HOSTILE not in page and "__pwned" not in page  # model text only inside the compressed blocks
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', page).group(1)
    script = re.search(r"<script>(.*)</script>", page, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src &#x27;sha256-{digest}&#x27;" in policy and "default-src &#x27;none&#x27;" in policy
    assert "http://" not in page and "https://" not in page  # nothing is fetched


def test_report_data_joins_every_transcript_with_its_judges_and_students(report_run) -> None:
    cfg, out = report_run
    page, index, details = report_data(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(index) == len(details) == 36  # one debate seed over 12 + 12 + 12 items
    assert {r["split"] for r in index} == {"weak_train", "strong_train", "test"}
    test = [(r, d) for r, d in zip(index, details) if r["split"] == "test"]
    assert all(len(d["judges"]) == 2 for _, d in test)  # one judge per training seed read each test transcript
    assert all(d["students"] for _, d in test) and not any(d["students"] for r, d in zip(index, details) if r["split"] != "test")
    assert all((r["p"] > 0.5) == (r["right"] == bool(r["gold"])) for r, _ in test)
    weak = [d for r, d in zip(index, details) if r["split"] == "weak_train"]
    assert all(not d["judges"] for d in weak)  # judges are trained on weak_train: they never score it
    kinds = {kind for d in details for turn in d["turns"] for _, kind in turn["segments"]}
    assert kinds == {"", "v", "u"}
    assert all(r["verified"] >= 1 and r["quotes"] > r["verified"] for r in index)
    section = page["sections"][0]
    assert section["rows"] == json.loads((out / "results.json").read_text())["rows"]
    assert section["config"]["name"] == cfg.name and manifest["data_stage"]
    assert any(s["train_seconds"] for s in section["stages"])


def test_pipeline_keeps_its_warnings_beside_the_results(report_run) -> None:
    _, out = report_run
    warned = json.loads((out / "warnings.json").read_text())
    assert isinstance(warned, list)
    assert all({"time", "level", "logger", "message"} <= set(w) for w in warned)


def test_large_pages_split_details_into_chunks() -> None:
    index = [{"id": str(n)} for n in range(CHUNK * 2 + 1)]
    details = [{"question": f"q{n}"} for n in range(len(index))]
    found = blocks(render_page({"kind": "run", "title": "t", "sections": []}, index, details))
    assert sorted(found) == ["w2s-chunk-0", "w2s-chunk-1", "w2s-chunk-2", "w2s-page"]
    assert [d["question"] for d in unpacked(found["w2s-chunk-2"])] == [f"q{2 * CHUNK}"]
    assert len(unpacked(found["w2s-page"])["index"]) == len(index)


def test_w2s_report_writes_the_page_and_names_a_bad_folder(report_run, tmp_path, capsys) -> None:
    _, out = report_run
    target = tmp_path / "elsewhere.html"
    assert main(["report", str(out), "--out", str(target)]) == 0
    assert target.stat().st_size > 1000 and "36 transcripts" in capsys.readouterr().out
    assert main(["report", str(tmp_path)]) == 2
    assert "results.json not found" in capsys.readouterr().err and not (tmp_path / "report.html").exists()


def test_w2s_report_on_a_run_from_before_the_report_says_how_to_refresh(report_run, tmp_path, capsys) -> None:
    _, out = report_run
    old = tmp_path / "old"
    shutil.copytree(out, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["data_stage"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(old)]) == 2
    assert "w2s eval" in capsys.readouterr().err


def test_compare_folder_gets_one_page_with_every_entry(tmp_path, tiny_model_dir, shared_data, ray_session) -> None:
    from report_support import report_config

    from labeling.exec.backends import BackendSpec
    from labeling.experiment.compare import run_compare

    cfg = report_config(tmp_path, tiny_model_dir, shared_data, "training.seeds=[0]", "name=grid",
                        'compare.datasets=[{dataset: sciq, source: "' + str(shared_data / "sciq") + '"}, '
                        '{dataset: sciq, source: "' + str(shared_data / "sciq") + '", name: verified, '
                        'overrides: ["debate.judge_view=verified_only"]}]')
    out = run_compare(cfg, backend=BackendSpec("labeling.label.backends:scripted_backend", {"quote_words": 5}, {}))
    page, index, _ = report_data(out)
    assert page["kind"] == "compare" and [s["label"] for s in page["sections"]] == ["sciq", "verified"]
    assert {r["entry"] for r in index} == {"sciq", "verified"} and (out / "report.html").is_file()
    assert page["compare"]["rows"] == json.loads((out / "compare.json").read_text())["rows"]
    with opened_report(out / "report.html") as (browser, errors):  # the comparison page in Chromium
        assert browser.locator("#compare-table tbody tr").count() == len(page["compare"]["rows"])
        assert browser.locator("#results-table-sciq tbody tr").count() > 0
        assert browser.locator("#results-table-verified tbody tr").count() > 0
        browser.select_option("#filter-entry", "verified")
        expect(browser.locator("#transcript-count")).to_have_text(re.compile(rf"^{len(index) // 2} of {len(index)}"))
    assert errors == []
