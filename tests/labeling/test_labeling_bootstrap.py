"""Bootstrapping chains through the pipeline: tiny random models, scripted debaters on real Ray actors.

One plain run, then the same run with a two-link chain from the no-oversight and the debate labels
(through ``w2s compare``), in the same artifacts folder: the chain reuses every plain stage, each link
trains on the previous link's labels (checked from the stage folders), and its rows reach every table.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling.exec.backends import BackendSpec
from labeling.experiment.compare import run_compare
from labeling.experiment.pipeline import run_pipeline
from labeling.store.stages import COMPLETE

SCRIPTED = BackendSpec("debate.backends.scripted:ScriptedBackend", {}, {})
CHAIN = "2 layers -> deep, 4 layers"
STUDENT = f"student <- no oversight labels, bootstrapped via {CHAIN}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, deep_tiny_model_dir, shared_data, ray_session):
    from test_labeling_pipeline import tiny_config

    deep = tmp_path_factory.mktemp("models") / "deep"  # a name for the table rows
    deep.symlink_to(deep_tiny_model_dir)
    tmp_path = tmp_path_factory.mktemp("bootstrap")
    models = [f"models.weak.path={deep}", f"models.strong.path={deep}", "training.workers=1"]
    plain = tiny_config(tmp_path, deep, shared_data, *models)
    run_pipeline(plain, backend=SCRIPTED)
    before = {p.name for p in (Path(plain.output_dir) / "artifacts").iterdir()}
    chained = tiny_config(tmp_path, deep, shared_data, *models, "name=chained",
                          f"training.bootstrap=[{{num_hidden_layers: 2}}, {{path: {deep}, num_hidden_layers: 4}}]",
                          "training.bootstrap_sources=[none, debate]")
    out = run_compare(chained, backend=SCRIPTED)
    return plain, chained, before, out


def test_a_chain_keeps_every_other_stage_folder(runs) -> None:
    plain, _, before, _ = runs
    after = {p.name for p in (Path(plain.output_dir) / "artifacts").iterdir()}
    assert before < after  # every plain stage reused under its name
    kinds = sorted(name.rsplit("-", 1)[0] for name in after - before)
    assert kinds == sorted([f"bootstrap-{s}-l{k}-f{f}" for s in ("none", "debate") for k in (1, 2) for f in (0, 1)]
                           + ["student-none-bootstrap", "student-debate-bootstrap"])
    for name in after - before:
        assert (Path(plain.output_dir) / "artifacts" / name / COMPLETE).is_file()


def _frame(stage: str | Path, name: str) -> pd.Series:
    frame = pd.read_parquet(Path(stage) / name)
    return frame.set_index("id")["label" if "label" in frame else "prob"]


def test_each_link_trains_on_the_previous_links_out_of_fold_labels(runs) -> None:
    _, chained, _, out = runs
    seed = json.loads((out / "sciq" / "manifest.json").read_text())["stages"]["seed0"]
    strong_ids = set(pd.read_parquet(next((Path(chained.output_dir) / "artifacts").glob("data-*")) / "strong_train.parquet")["id"])
    for source, first_labels in (("none", seed["weak_floor"]), ("debate", seed["judges"]["debate/single"][0])):
        links = seed["bootstrap"][f"{source}/single"]
        assert len(links) == 2 and all(len(folds) == 2 for folds in links)
        previous = [first_labels]  # link 1 learns the source's labels
        for folds in links:
            for fold, stage in enumerate(folds):
                trained, heldout = _frame(stage, "train_labels.parquet"), _frame(stage, "pred_heldout.parquet")
                assert set(trained.index).isdisjoint(heldout.index)  # never labels an item it was trained on
                assert set(trained.index) | set(heldout.index) == strong_ids
                made_by = previous[0] if len(previous) == 1 else previous[1 - fold]  # the other fold's model
                expected = _frame(made_by, "pred_heldout.parquet" if len(previous) == 2 else "pred_strong_train.parquet")
                np.testing.assert_allclose(trained.to_numpy(), expected.loc[trained.index].to_numpy())
                recorded = json.loads((Path(stage) / "stage.json").read_text())
                assert recorded["labels_from"] == sorted(Path(p).name for p in previous)
                assert recorded["fold"] == fold and recorded["model"]["num_hidden_layers"] == [2, 4][links.index(folds)]
            previous = folds
        student = seed["students"][f"{source}/single/bootstrap/xent"]
        taught = _frame(student, "train_labels.parquet")
        last = pd.concat([_frame(stage, "pred_heldout.parquet") for stage in previous])
        np.testing.assert_allclose(taught.to_numpy(), last.loc[taught.index].to_numpy())
        assert set(taught.index) == strong_ids  # the same items as every other student


def test_rows_reach_results_and_the_comparison(runs) -> None:
    _, _, _, out = runs
    rows = {r["method"]: r for r in json.loads((out / "sciq" / "results.json").read_text())["rows"]}
    assert rows[STUDENT]["role"] == "student" and rows[STUDENT]["pgr"] is not None
    debate_student = f"student <- debate labels, bootstrapped via {CHAIN}"
    links = ["bootstrap link 1 (2 layers) <- no oversight labels", "bootstrap link 2 (deep, 4 layers) <- debate labels"]
    assert all(rows[m]["role"] == "bootstrap" and rows[m]["accuracy"]["n_items"] == 12 for m in links)
    assert f"weak labels <- no oversight, bootstrapped via {CHAIN} (on strong_train)" in rows
    table = (out / "sciq" / "results.md").read_text()
    assert all(f"| {m} |" in table for m in [STUDENT, debate_student, *links])
    compared = {r["method"]: r for r in json.loads((out / "compare.json").read_text())["rows"]}
    assert "vs_baseline" in compared[STUDENT] and "vs_baseline" in compared[debate_student]
    assert compared[links[0]]["role"] == "bootstrap" and "vs_baseline" not in compared[links[0]]
    text = (out / "compare.md").read_text()
    assert f"| {STUDENT} |" in text and f"| {links[1]} |" in text


def test_rerunning_the_chain_trains_nothing(runs, forbid_training) -> None:
    _, chained, _, out = runs
    inline = chained.model_copy(update={"training": chained.training.model_copy(update={"workers": 1})})
    before = (out / "sciq" / "results.json").read_text()
    run_compare(inline, backend=BackendSpec("no.such.module:Backend", {}, {}))
    assert json.loads((out / "sciq" / "results.json").read_text())["rows"] == json.loads(before)["rows"]
