"""The pipeline end to end on real Ray actors, with the scripted debater and tiny random models.

Checks every artifact, the results table, stage reuse, and resume after a partial stage.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from labeling.store.stages import COMPLETE
from labeling.config import ExperimentConfig, load_config
from labeling.exec.backends import BackendSpec
from labeling.experiment.pipeline import run_pipeline

SCRIPTED = BackendSpec("debate.backends.scripted:ScriptedBackend", {}, {})
REPO = Path(__file__).resolve().parents[2]


def tiny_config(tmp_path: Path, checkpoint: Path, shared_data: Path, *extra: str) -> ExperimentConfig:
    """The SciQ CPU config (configs/sciq_cpu.yaml) shrunk to 12 items per split, tiny models, one epoch."""
    overrides = [
        f"output_dir={tmp_path / 'runs'}",
        f"data.source={shared_data / 'sciq'}",
        "data.weak_train=12",
        "data.strong_train=12",
        "data.test=12",
        f"models.weak.path={checkpoint}",
        "models.weak.num_hidden_layers=1",
        f"models.strong.path={checkpoint}",
        f"models.debater.path={checkpoint}",
        "debate.shard_size=10",
        "training.weak.epochs=1",
        "training.judge.epochs=1",
        "training.strong.epochs=1",
        "eval.n_boot=200",
        *extra,
    ]
    return load_config(REPO / "configs" / "sciq_cpu.yaml", overrides)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_model_dir, shared_data, ray_session):
    tmp_path = tmp_path_factory.mktemp("pipeline")
    cfg = tiny_config(tmp_path, tiny_model_dir, shared_data)
    out = run_pipeline(cfg, backend=SCRIPTED)
    return cfg, out


def stage_dirs(cfg: ExperimentConfig) -> dict[str, Path]:
    return {p.name.rsplit("-", 1)[0]: p for p in (Path(cfg.output_dir) / "artifacts").iterdir()}


def test_every_stage_is_complete(finished_run) -> None:
    cfg, _ = finished_run
    stages = stage_dirs(cfg)
    assert set(stages) == {
        "data",
        "transcripts-debate-s0",
        "weak-floor",
        "ceiling",
        "judge-debate-s0",
        "student-none",
        "student-debate",
    }
    for path in stages.values():
        assert (path / COMPLETE).is_file(), path
        assert (path / "stage.json").is_file(), path


def test_transcripts_cover_every_item_once(finished_run) -> None:
    cfg, _ = finished_run
    stages = stage_dirs(cfg)
    shards = sorted(stages["transcripts-debate-s0"].glob("shard-*.parquet"))
    assert len(shards) == 4  # 36 items in shards of 10
    frame = pd.concat([pd.read_parquet(p) for p in shards])
    ids = set(pd.concat([pd.read_parquet(stages["data"] / f"{s}.parquet") for s in ("weak_train", "strong_train", "test")])["id"])
    assert sorted(frame["item_id"]) == sorted(ids)
    assert all(len(turns) == 3 for turns in frame["turns"])


def test_results_table_and_plot(finished_run) -> None:
    _, out = finished_run
    for name in ("results.md", "results.json", "results.csv", "results.png", "manifest.json", "transcript_examples.md"):
        assert (out / name).stat().st_size > 0, name
    data = json.loads((out / "results.json").read_text())
    methods = [row["method"] for row in data["rows"]]
    assert methods[:4] == [
        "weak floor (weak model, gold labels)",
        "ceiling (strong model, gold labels)",
        "student <- no oversight labels",
        "student <- debate labels",
    ]
    assert any("test with transcripts" in m for m in methods)
    assert any("test without transcripts" in m for m in methods)
    for row in data["rows"]:
        assert 0.0 <= row["accuracy"]["value"] <= 1.0
        assert row["accuracy"]["n_items"] == 12
    students = [row for row in data["rows"] if row["role"] == "student"]
    assert all(row["pgr"] is not None for row in students)
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paired_differences_follow_the_table(finished_run) -> None:
    from labeling.experiment.compare import comparison_rows

    cfg, out = finished_run
    data = json.loads((out / "results.json").read_text())
    gaps = data["meta"]["paired_differences"]
    assert [(g["better"], g["baseline"], g["kind"]) for g in gaps] == [
        ("ceiling (strong model, gold labels)", "weak floor (weak model, gold labels)", "gap"),
        ("student <- debate labels", "student <- no oversight labels", "student"),
    ]
    correct = pd.read_parquet(out / "test_correct.parquet")

    def accuracy(method: str) -> float:
        return float(correct[correct["method"] == method]["correct"].mean())

    for gap in gaps:  # recomputed from the stored per-item correctness
        diff = gap["difference"]
        assert diff["value"] == pytest.approx(accuracy(gap["better"]) - accuracy(gap["baseline"]))
        assert diff["lo"] <= diff["value"] <= diff["hi"] and diff["n_items"] == 12
    # w2s compare pairs the same student with the same baseline and must report the same CI.
    compared = {r["method"]: r for r in comparison_rows(cfg, "sciq", out)}
    assert compared["student <- debate labels"]["vs_baseline"] == gaps[1]["difference"]
    section = (out / "results.md").read_text().partition("## Paired differences")[2]
    row = "| student <- debate labels | student <- no oversight labels |"
    assert section and section.index(row) < section.index("## Student vs weak supervisor")


def test_calibration_and_student_vs_supervisor_are_in_the_results(finished_run) -> None:
    import numpy as np

    _, out = finished_run
    data = json.loads((out / "results.json").read_text())
    for row in data["rows"]:  # every model row, weak-label rows included
        for key in ("ece", "brier"):
            assert 0.0 <= row[key]["value"] <= 1.0 and row[key]["n_boot"] == 200, (row["method"], key)
    assert data["meta"]["calibration"]["ece_bins"] == 15
    text = (out / "results.md").read_text()
    assert "| ECE %, 15 bins [95% CI] | Brier [95% CI] |" in text.splitlines()[0]

    rows = data["meta"]["student_vs_supervisor"]
    assert [(r["method"], r["supervisor"]) for r in rows] == [
        ("student <- no oversight labels", "weak floor"),  # its labeler is the weak floor: one row
        ("student <- debate labels", "weak floor"),
        ("student <- debate labels", "its labeler"),
    ]
    correct = pd.read_parquet(out / "test_correct.parquet")

    def matrix(method: str) -> np.ndarray:
        part = correct[correct["method"] == method].sort_values(["seed", "id"])
        return np.stack([g["correct"].to_numpy(dtype=bool) for _, g in part.groupby("seed")])

    supervisors = {"weak floor": "weak floor (weak model, gold labels)",
                   "its labeler": "judge <- debate, test with transcripts"}
    for r in rows:  # agreement recomputed from the stored per-seed correctness: the seeds are paired
        student, supervisor = matrix(r["method"]), matrix(supervisors[r["supervisor"]])
        assert r["agreement"]["value"] == pytest.approx((student == supervisor).mean())
        assert r["supervisor_wrong"] == pytest.approx((~supervisor).sum() / len(supervisor))
        if r["inheritance"]["value"] is not None:
            assert r["inheritance"]["value"] + r["correction"]["value"] == pytest.approx(1.0)
    section = text.partition("## Student vs weak supervisor")[2]
    assert section and "| student <- debate labels | its labeler |" in section
    assert section.index("| student <- debate") < section.index("## Transcript-information")
    for name in ("results_reliability.png", "results_supervision.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_transcript_diagnostic_is_a_report_section_and_never_a_label_source(finished_run) -> None:
    from labeling.experiment.pipeline import label_sources
    from labeling.experiment.probe import SECTION_TITLE

    cfg, out = finished_run
    table, heading, section = (out / "results.md").read_text().partition(f"## {SECTION_TITLE}")
    assert heading and "reference classifier" in section and "reference classifier" not in table
    data = json.loads((out / "results.json").read_text())
    assert json.loads((out / "manifest.json").read_text())["transcript_probe"] == data["meta"]["transcript_probe"]
    numbers = data["meta"]["transcript_probe"]["protocols"]["debate/seed0"]
    assert numbers["fit_items"] == 12 and numbers["failed_skipped"] == 0
    for key in ("probe_with_transcript", "probe_item_only", "probe_marked", "judge_with_transcript"):
        assert 0.0 <= numbers[key]["value"] <= 1.0 and numbers[key]["n_items"] == 12, key
        assert f"{numbers[key]['value'] * 100:.1f} [" in section
    for key in ("probe_transcript_gain", "probe_marked_gain", "judge_transcript_gain", "probe_minus_judge"):
        assert -1.0 <= numbers[key]["value"] <= 1.0, key

    # Not a label source: no table row, no source, no student, no stage; students learn from judges and floors only.
    assert not any("reference classifier" in row["method"] for row in data["rows"])
    assert {(s.protocol, s.ensemble) for s in label_sources(cfg)} == {("none", "single"), ("debate", "single")}
    students = data["meta"]["stages"]["seed0"]["students"]
    assert set(students) == {"none/single/xent", "debate/single/xent"}
    for stage in students.values():
        labels_from = json.loads((Path(stage) / "stage.json").read_text())["labels_from"]
        assert all(name.startswith(("weak-floor-", "judge-")) for name in labels_from), labels_from


def test_student_labels_are_the_judges_soft_predictions(finished_run) -> None:
    cfg, _ = finished_run
    stages = stage_dirs(cfg)
    floor = pd.read_parquet(stages["weak-floor"] / "pred_strong_train.parquet")
    assert floor["prob"].between(0, 1).all()
    assert floor["prob"].nunique() > 1  # soft labels, not a constant


def test_a_finished_run_serves_its_judges_by_protocol(finished_run) -> None:
    """serve-judge's results-folder loader reads the manifest the pipeline writes (protocol/ensemble keys)."""
    from labeling.serve.judge_loader import members_from_results

    cfg, out = finished_run
    stages = stage_dirs(cfg)
    assert members_from_results(out, "debate", 0) == ("debate", [stages["judge-debate-s0"]])
    assert members_from_results(out, None, 0) == ("debate", [stages["judge-debate-s0"]])  # the only protocol debated
    assert members_from_results(out, "debate/single", 0) == ("debate", [stages["judge-debate-s0"]])
    assert members_from_results(out, "none", 0) == ("none", [stages["weak-floor"]])


def test_rerun_reuses_finished_stages(finished_run, forbid_training) -> None:
    cfg, out = finished_run
    before = (out / "results.json").read_text()
    run_pipeline(cfg, backend=BackendSpec("no.such.module:Backend", {}, {}))  # no debate work is left either
    after = json.loads((out / "results.json").read_text())
    assert [r["accuracy"] for r in after["rows"]] == [r["accuracy"] for r in json.loads(before)["rows"]]


def test_partial_stage_resumes_without_retraining(finished_run, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, _ = finished_run
    stages = stage_dirs(cfg)
    student = stages["student-debate"]
    original = pd.read_parquet(student / "pred_test.parquet")
    (student / COMPLETE).unlink()
    (student / "pred_test.parquet").unlink()
    transcripts = stages["transcripts-debate-s0"]
    shard = transcripts / "shard-00002.parquet"
    shard_bytes = pd.read_parquet(shard)
    (transcripts / COMPLETE).unlink()
    shard.unlink()

    import labeling.exec.ray_train as training  # where the stage looks the training function up

    def refuse(*args, **kwargs):
        raise AssertionError("resume retrained a saved checkpoint")

    monkeypatch.setattr(training, "train_classifier", refuse)
    run_pipeline(cfg, backend=SCRIPTED)
    assert (student / COMPLETE).is_file() and (transcripts / COMPLETE).is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(student / "pred_test.parquet"), original)
    redone = pd.read_parquet(shard)
    pd.testing.assert_frame_equal(redone.drop(columns=["turns"]), shard_bytes.drop(columns=["turns"]))
    assert [[t["text"] for t in turns] for turns in redone["turns"]] == [
        [t["text"] for t in turns] for turns in shard_bytes["turns"]
    ]


def marker_for_some_items(splits: dict[str, pd.DataFrame]) -> str:
    """A question word that some (not all) weak_train and strong_train items contain and no prompt template does."""
    import re

    from debate.prompts import _prompt_dir

    templates = " ".join(p.read_text() for p in _prompt_dir("v1").iterdir() if p.name.endswith(".txt")).lower()
    words = sorted({w for q in splits["weak_train"]["question"] for w in re.findall(r"[a-z]{6,}", q.lower())})
    for word in words:
        counts = [int(splits[s]["question"].str.lower().str.contains(word).sum()) for s in ("weak_train", "strong_train")]
        if word not in templates and all(0 < c < 12 for c in counts):
            return word
    raise AssertionError("no marker word found")


def test_failed_transcripts_never_train_a_judge_or_make_a_label(tmp_path, tiny_model_dir, shared_data, ray_session) -> None:
    from labeling.data.stage import prepare_splits
    from labeling.stages.transcripts import TranscriptSet

    cfg = tiny_config(tmp_path, tiny_model_dir, shared_data)
    splits = prepare_splits(cfg)
    marker = marker_for_some_items(splits)
    failing = BackendSpec("labeling.label.backends:scripted_backend", {"fail_marker": marker}, {})
    out = run_pipeline(cfg, backend=failing)

    stages = stage_dirs(cfg)
    read = TranscriptSet.read(next(s for s in _stage_objects(cfg) if s.kind == "transcripts-debate-s0"))
    hit = {name: {str(i) for i, q in zip(f["id"], f["question"]) if marker in q.lower()} for name, f in splits.items()}
    assert set(read.failed) == set().union(*hit.values()) and hit["weak_train"] and hit["strong_train"]

    def trained_on(kind: str) -> int:
        return json.loads((stages[kind] / COMPLETE).read_text())["train_items"]

    assert trained_on("judge-debate-s0") == 12 - len(hit["weak_train"])  # failed transcripts are not trained on
    assert trained_on("student-debate") == 12 - len(hit["strong_train"])  # ... and make no label
    assert trained_on("student-none") == 12  # the no-transcript labels do not depend on debates
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["transcripts"]["debate/seed0"]["failed"] == len(read.failed)


def _stage_objects(cfg: ExperimentConfig) -> list:
    from labeling.store import StageDir

    folders = (Path(cfg.output_dir) / "artifacts").iterdir()
    return [StageDir(p, p.name.rsplit("-", 1)[0], json.loads((p / "stage.json").read_text())) for p in folders]


def test_eval_only_reads_finished_stages_and_names_a_missing_one(finished_run, forbid_training, tmp_path, capsys) -> None:
    import shutil

    import yaml

    from labeling.cli import main
    from labeling.store import StageMissing, reuse_only

    cfg, out = finished_run
    with reuse_only():  # everything is finished: the table again, nothing trained (forbid_training)
        again = run_pipeline(cfg)
    assert (again / "results.md").read_text() == (out / "results.md").read_text()

    copy = tmp_path / "runs"
    shutil.copytree(cfg.output_dir, copy, ignore=shutil.ignore_patterns(cfg.name))
    moved = cfg.model_copy(update={"output_dir": str(copy)})
    student = next((copy / "artifacts").glob("student-debate-*"))
    (student / COMPLETE).unlink()
    with pytest.raises(StageMissing, match=r"student-debate .*not finished"), reuse_only():
        run_pipeline(moved)

    config_file = tmp_path / "moved.yaml"
    config_file.write_text(yaml.safe_dump(moved.model_dump(mode="json")))
    assert main(["eval", str(config_file)]) == 2
    assert "student-debate" in capsys.readouterr().err
    assert not (student / COMPLETE).exists()  # eval did not redo it


def test_a_pgr_cell_recomputes_from_the_artifacts_on_disk(finished_run) -> None:
    cfg, out = finished_run
    recompute_pgr_cell(cfg, out)


def recompute_pgr_cell(cfg: ExperimentConfig, out: Path) -> tuple[float, float, float]:
    """Follow one table cell back to files: test labels, three models' saved predictions, the PGR formula.

    Returns (weak, ceiling, student) accuracies; the real-model test calls it too, where they differ.
    """
    manifest = json.loads((out / "manifest.json").read_text())
    seed = manifest["stages"]["seed0"]
    floor_ids = set(pd.read_parquet(Path(seed["weak_floor"]) / "pred_test.parquet")["id"])
    tests = [pd.read_parquet(p / "test.parquet") for p in (Path(cfg.output_dir) / "artifacts").glob("data-*")]
    [test] = [t for t in tests if set(t["id"]) == floor_ids]  # the data stage this run was scored on

    def accuracy(stage: str) -> float:
        pred = pd.read_parquet(Path(stage) / "pred_test.parquet").set_index("id").loc[test["id"], "prob"]
        return float(((pred.to_numpy() > 0.5) == test["label"].to_numpy().astype(bool)).mean())

    weak, ceiling = accuracy(seed["weak_floor"]), accuracy(seed["ceiling"])
    student = accuracy(seed["students"]["debate/single/xent"])
    rows = {r["method"]: r for r in json.loads((out / "results.json").read_text())["rows"]}
    row = rows["student <- debate labels"]
    assert row["accuracy"]["value"] == pytest.approx(student)
    assert rows["weak floor (weak model, gold labels)"]["accuracy"]["value"] == pytest.approx(weak)
    assert rows["ceiling (strong model, gold labels)"]["accuracy"]["value"] == pytest.approx(ceiling)
    if ceiling != weak:
        assert row["pgr"]["value"] == pytest.approx((student - weak) / (ceiling - weak))
    else:  # tiny random models tie; PGR is undefined and must not be reported as a number
        assert row["pgr"]["value"] is None or row["pgr"]["value"] != row["pgr"]["value"]
    return weak, ceiling, student


def test_hidden_passage_reaches_debaters_only(tmp_path, tiny_model_dir, shared_data, ray_session, monkeypatch) -> None:
    """Debaters read SciQ's support paragraph and quote it; no judge, floor or student input ever holds the passage."""
    import labeling.exec.ray_train as trainer  # where the stage looks the training function up
    import labeling.stages.trained as training  # ... and the prediction function

    import eval.transcript_probe as transcript_probe
    from labeling.data.judge_input import QUOTE_LEGEND
    from labeling.experiment.probe import CANDIDATE_MARK
    from labeling.stages.transcripts import TranscriptSet

    seen: list[str] = []
    train, predict = trainer.train_classifier, training.predict_proba
    monkeypatch.setattr(trainer, "train_classifier", lambda spec, texts, *a, **k: seen.extend(texts) or train(spec, texts, *a, **k))
    monkeypatch.setattr(training, "predict_proba", lambda model, texts, *a, **k: seen.extend(texts) or predict(model, texts, *a, **k))
    probe_read: list[str] = []  # every text the transcript diagnostic's reference classifier reads
    featurize = transcript_probe.featurize
    monkeypatch.setattr(transcript_probe, "featurize", lambda texts, *a, **k: probe_read.extend(texts) or featurize(texts, *a, **k))
    cfg = tiny_config(tmp_path, tiny_model_dir, shared_data, "data.require_evidence=true", "training.workers=1",
                      "debate.quote_span_words=6", "debate.judge_input=item_both_ends")
    quoting = BackendSpec("labeling.label.backends:scripted_backend", {"quote_words": 5}, {})
    out = run_pipeline(cfg, backend=quoting)

    stages = stage_dirs(cfg)
    splits = {s: pd.read_parquet(stages["data"] / f"{s}.parquet") for s in ("weak_train", "strong_train", "test")}
    passages = [e for frame in splits.values() for e in frame["evidence"]]
    assert all(passages)  # require_evidence kept only items with a passage
    judged = [t for t in seen if "### Debate transcript" in t]
    assert judged and len(seen) > len(judged)  # judges, and plain floor/ceiling/student inputs
    for passage in passages:
        assert not any(passage in text for text in seen), "a passage reached a judge, floor or student"
        assert not any(passage in text for text in probe_read), "a passage reached the reference classifier"
    assert any("### Debate transcript" in t for t in probe_read)
    unmarked = {t for t in probe_read if CANDIDATE_MARK not in t}
    assert unmarked and unmarked <= set(seen)  # besides marked mentions, it reads judge (and floor) inputs only
    assert all(QUOTE_LEGEND in t and "<v_quote>" in t for t in judged)  # the quotes arrive checked

    read = TranscriptSet.read(next(s for s in _stage_objects(cfg) if s.kind == "transcripts-debate-s0"))
    assert all(side["verified_share"] == 1.0 for side in read.quote_stats.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["transcripts"]["debate/seed0"]["quotes_by_side"]["correct"]["quotes_per_turn"] >= 1
    # the item is restated last, so a too-long judge input loses its start: keyed, and kept by the checkpoint
    judge = stages["judge-debate-s0"]
    assert json.loads((judge / "stage.json").read_text())["truncation_side"] == "left"
    assert json.loads((judge / "model" / "tokenizer_config.json").read_text())["truncation_side"] == "left"
    floor = json.loads((stages["weak-floor"] / "model" / "tokenizer_config.json").read_text())
    assert floor.get("truncation_side", "right") == "right"
