"""The protocol grid: every protocol, ensemble and student loss through the pipeline, then the comparison.

Scripted debaters on real Ray actors and tiny random models; checks the shape of the comparison,
the market-making picks, ensemble averaging, and that shared stages are reused across the grid.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling.experiment.compare import run_compare
from labeling.config import load_config
from labeling.exec.backends import BackendSpec

SCRIPTED = BackendSpec("debate.backends.scripted:ScriptedBackend", {}, {})
REPO = Path(__file__).resolve().parents[2]
PROTOCOLS = ["none", "debate", "consultancy", "market_making", "debate_simultaneous"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory, tiny_model_dir, shared_data, ray_session):
    tmp_path = tmp_path_factory.mktemp("grid")
    cfg = load_config(
        REPO / "configs" / "sciq_cpu.yaml",
        [
            f"output_dir={tmp_path / 'runs'}",
            "name=grid",
            f"data.source={shared_data / 'sciq'}",
            "data.weak_train=10",
            "data.strong_train=10",
            "data.test=10",
            f"models.weak.path={tiny_model_dir}",
            "models.weak.num_hidden_layers=1",
            f"models.strong.path={tiny_model_dir}",
            f"models.debater.path={tiny_model_dir}",
            f"debate.protocols={json.dumps(PROTOCOLS)}",
            "debate.seeds=[0, 1]",
            "debate.shard_size=16",
            "debate.swap_positions=true",
            "training.ensembles=[single, debate_ensemble, finetune_ensemble]",
            "training.student_losses=[{name: xent}, {name: logconf, params: {aux_coef: 0.5},"
            " sources: [none, debate/debate_ensemble]}]",
            "training.weak.epochs=1",
            "training.judge.epochs=1",
            "training.strong.epochs=1",
            "training.workers=2",
            "eval.n_boot=100",
            f"compare.datasets=[{{dataset: sciq, source: {shared_data / 'sciq'}}}]",
        ],
    )
    out = run_compare(cfg, backend=SCRIPTED)
    return cfg, out


def test_comparison_files_and_rows(grid) -> None:
    cfg, out = grid
    for name in ("compare.md", "compare.json", "compare.csv", "compare_pgr.png", "compare_judges.png"):
        assert (out / name).stat().st_size > 0
    rows = json.loads((out / "compare.json").read_text())["rows"]
    students = [r for r in rows if r["role"] == "student"]
    # xent: none (single + finetune ensemble) and 4 debated protocols x 3 ensembles;
    # logconf only where its `sources` say: none's single judge and the debate ensemble
    assert len(students) == 2 + 4 * 3 + 2
    logconf = {r["method"] for r in students if "logconf" in r["method"]}
    assert logconf == {
        "student <- no oversight labels, logconf(aux_coef=0.5) loss",
        "student <- debate, debate ensemble (k=2) labels, logconf(aux_coef=0.5) loss",
    }
    base = "student <- no oversight labels, xent loss"
    baseline = [r for r in students if r["method"] == base]
    assert len(baseline) == 1 and "vs_baseline" not in baseline[0]
    assert all("vs_baseline" in r for r in students if r["method"] != base)
    assert any("debate ensemble (k=2)" in r["method"] for r in students)
    assert any("logconf(aux_coef=0.5) loss" in r["method"] for r in students)


def test_market_making_argues_against_the_weak_floor(grid) -> None:
    cfg, _ = grid
    artifacts = Path(cfg.output_dir) / "artifacts"
    stage = next(artifacts.glob("transcripts-market_making-s0-*"))
    floor = artifacts / json.loads((stage / "stage.json").read_text())["weak_picks_from"]
    assert json.loads((floor / "stage.json").read_text())["seed"] == cfg.training.seeds[0]
    picks = pd.concat(pd.read_parquet(p) for p in floor.glob("pred_*.parquet"))
    pick_by_id = {i: int(p >= 0.5) for i, p in zip(picks["id"], picks["prob"])}
    frame = pd.concat(pd.read_parquet(p) for p in sorted(stage.glob("shard-*.parquet")))
    assert len(frame) == 30
    for record in frame.to_dict(orient="records"):
        stance = {s["speaker"]: s["stance"] for s in record["stances"]}["consultant"]
        assert stance == ("incorrect" if pick_by_id[record["item_id"]] == 1 else "correct")


def test_debate_ensemble_labels_are_the_mean_of_their_judges(grid) -> None:
    cfg, out = grid
    manifest = json.loads((out / "sciq" / "manifest.json").read_text())
    members = manifest["stages"]["seed0"]["judges"]["debate/debate_ensemble"]
    assert len(members) == 2
    probs = [pd.read_parquet(Path(m) / "pred_strong_train.parquet")["prob"].to_numpy() for m in members]
    student = Path(manifest["stages"]["seed0"]["students"]["debate/debate_ensemble/xent"])
    stage = json.loads((student / "stage.json").read_text())
    assert sorted(stage["labels_from"]) == sorted(Path(m).name for m in members)
    assert not np.allclose(probs[0], probs[1])  # different transcripts -> different judges


def test_rerunning_the_grid_trains_nothing(grid, forbid_training) -> None:
    cfg, _ = grid
    # One worker, so that the patched training functions are the ones a rerun would call.
    inline = cfg.model_copy(update={"training": cfg.training.model_copy(update={"workers": 1})})
    run_compare(inline, backend=BackendSpec("no.such.module:Backend", {}, {}))


def test_swapped_debates_mirror_stances_and_report_position_bias(grid) -> None:
    cfg, out = grid
    artifacts = Path(cfg.output_dir) / "artifacts"
    assert not list(artifacts.glob("transcripts-consultancy-s0-swapped-*"))  # one speaker: nothing to swap
    for protocol in ("debate", "debate_simultaneous"):
        original = next(p for p in artifacts.glob(f"transcripts-{protocol}-s0-*") if "swapped" not in p.name)
        swapped = next(artifacts.glob(f"transcripts-{protocol}-s0-swapped-*"))

        def stances(stage: Path) -> dict[str, dict[str, str]]:
            frame = pd.concat(pd.read_parquet(p) for p in sorted(stage.glob("shard-*.parquet")))
            return {r["item_id"]: {s["speaker"]: s["stance"] for s in r["stances"]} for r in frame.to_dict("records")}

        a, b = stances(original), stances(swapped)
        test_ids = set(pd.read_parquet(next(artifacts.glob("data-*")) / "test.parquet")["id"])
        assert len(a) == 30 and set(b) == test_ids  # only the test items are swapped
        assert all(a[i]["A"] == b[i]["B"] and a[i]["B"] == b[i]["A"] for i in b)
        assert not list(artifacts.glob(f"transcripts-{protocol}-s1-swapped-*"))  # only the first seed's judge uses them
    results = json.loads((out / "sciq" / "results.json").read_text())
    bias = results["meta"]["position_bias"]
    assert set(bias) == {"debate", "debate_simultaneous"}
    assert all(-1 <= b["lo"] <= b["value"] <= b["hi"] <= 1 for b in bias.values())
    assert any("A/B-swapped" in r["method"] for r in results["rows"])


def test_compare_files_report_the_position_bias(grid) -> None:
    cfg, out = grid
    measured = json.loads((out / "sciq" / "results.json").read_text())["meta"]["position_bias"]
    summary = json.loads((out / "compare.json").read_text())
    assert {r["protocol"]: r["bias"] for r in summary["position_bias"] if r["dataset"] == "sciq"} == measured
    text = (out / "compare.md").read_text()
    assert "### position bias" in text
    for protocol, est in measured.items():
        assert f"| sciq | {protocol} | {100 * est['value']:.1f} [" in text


def test_compare_files_report_the_transcript_diagnostic(grid) -> None:
    cfg, out = grid
    measured = json.loads((out / "sciq" / "results.json").read_text())["meta"]["transcript_probe"]["protocols"]
    assert set(measured) == {f"{p}/seed0" for p in PROTOCOLS if p != "none"}
    summary = json.loads((out / "compare.json").read_text())["transcript_probe"]
    assert {r["transcripts"]: r["judge_transcript_gain"] for r in summary} == {
        name: numbers["judge_transcript_gain"] for name, numbers in measured.items()}
    text = (out / "compare.md").read_text()
    assert "### transcript information" in text
    for name, numbers in measured.items():
        gain = numbers["judge_transcript_gain"]
        assert f"| sciq | {name} | {100 * gain['value']:.1f} [" in text


def test_compare_files_report_calibration_and_student_vs_supervisor(grid) -> None:
    cfg, out = grid
    summary = json.loads((out / "compare.json").read_text())
    assert all(r["ece"]["value"] is not None and r["brier"]["value"] is not None for r in summary["rows"])
    measured = json.loads((out / "sciq" / "results.json").read_text())["meta"]["student_vs_supervisor"]
    assert summary["student_vs_supervisor"] == [{"dataset": "sciq", **r} for r in measured]
    students = {r["method"] for r in summary["rows"] if r["role"] == "student"}
    assert {r["method"] for r in measured} == students
    # every student against the weak floor; all but the no-oversight single judge's also against its labeler
    assert len(measured) == 2 * len(students) - 2
    text = (out / "compare.md").read_text()
    assert "| ECE % (15 bins) | Brier | note |" in text
    assert "### student vs weak supervisor: sciq" in text
    ensemble = next(r for r in measured if "debate ensemble (k=2) labels, xent" in r["method"]
                    and r["supervisor"] == "its labeler")
    assert f"| {ensemble['method']} | its labeler |" in text
    assert "ece_value" in pd.read_csv(out / "compare.csv").columns
    assert (out / "compare_supervision.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_reads_results_written_before_the_new_metrics(grid, tmp_path) -> None:
    import shutil

    from labeling.experiment.compare import comparison_markdown, comparison_rows
    from labeling.experiment.supervision import supervision_compare_markdown, supervision_compare_rows

    cfg, out = grid
    old = tmp_path / "old"
    shutil.copytree(out / "sciq", old, ignore=shutil.ignore_patterns("*.png"))
    data = json.loads((old / "results.json").read_text())
    for row in data["rows"]:
        del row["ece"], row["brier"]
    del data["meta"]["student_vs_supervisor"], data["meta"]["calibration"]
    (old / "results.json").write_text(json.dumps(data))
    rows = comparison_rows(cfg, "old", old)
    assert all(r["ece"] is None for r in rows) and "| – | – |" in comparison_markdown(rows, "x")
    assert supervision_compare_rows("old", old) == [] and supervision_compare_markdown([]) == ""
