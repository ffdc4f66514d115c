"""The prompted judge as a pipeline stage: scored on Ray beside the fine-tuned judges, one more label source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling.experiment.pipeline import run_pipeline
from labeling.stages.prompted import judged_items

from test_labeling_pipeline import SCRIPTED, tiny_config


@pytest.fixture(scope="module")
def prompted_run(tmp_path_factory, tiny_model_dir, shared_data, ray_session):
    tmp_path = tmp_path_factory.mktemp("prompted")
    cfg = tiny_config(tmp_path, tiny_model_dir, shared_data, f"prompted_judge.model.path={tiny_model_dir}")
    return cfg, run_pipeline(cfg, backend=SCRIPTED)


def test_prompted_judge_is_a_label_source_with_its_own_rows(prompted_run) -> None:
    cfg, out = prompted_run
    methods = {r["method"] for r in json.loads((out / "results.json").read_text())["rows"]}
    assert {
        "student <- no oversight, prompted judge labels",
        "student <- debate, prompted judge labels",
        "judge <- debate, prompted judge, test with transcripts",
        "judge <- debate, prompted judge, test without transcripts",
        "judge <- no oversight, prompted judge, test without transcripts",
        "weak labels <- debate, prompted judge (on strong_train)",
    } <= methods
    assert "judge <- no oversight, prompted judge, test with transcripts" not in methods


def test_prompted_stages_hold_verdicts_for_every_item_and_never_the_label(prompted_run) -> None:
    cfg, _ = prompted_run
    artifacts = Path(cfg.output_dir) / "artifacts"
    stages = {p.name.rsplit("-", 1)[0]: p for p in artifacts.glob("prompted-judge-*")}
    assert set(stages) == {"prompted-judge-none", "prompted-judge-debate"}
    for stage in stages.values():
        assert (stage / "COMPLETE").is_file()
        items = pd.read_parquet(stage / "items.parquet")
        assert "label" not in items.columns  # the judge reads texts only
        for split in ("strong_train", "test"):
            pred = pd.read_parquet(stage / f"pred_{split}.parquet")
            assert len(pred) == 12 and pred["prob"].between(0, 1).all() and pred["id"].is_unique
    debate_items = pd.read_parquet(stages["prompted-judge-debate"] / "items.parquet")
    assert (debate_items["transcript"].str.len() > 0).all()
    assert (pd.read_parquet(stages["prompted-judge-none"] / "items.parquet")["transcript"] == "").all()
    # the transcript changes the verdict: the scripted scores hash the whole prompt
    a = pd.read_parquet(stages["prompted-judge-none"] / "pred_test.parquet")["prob"].to_numpy()
    b = pd.read_parquet(stages["prompted-judge-debate"] / "pred_test.parquet")["prob"].to_numpy()
    assert not np.allclose(a, b)


def test_rerun_reuses_the_prompted_stages(prompted_run, forbid_training) -> None:
    cfg, _ = prompted_run
    from labeling.exec.backends import BackendSpec

    run_pipeline(cfg, backend=BackendSpec("no.such.module:Backend", {}, {}))


def test_judged_items_refuse_missing_transcripts() -> None:
    splits = {name: pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"]}) for name in ("strong_train", "test")}
    with pytest.raises(KeyError, match="have no transcript"):
        judged_items(splits, {"a": "t"})
    frame = judged_items(splits, None)
    assert list(frame["split"]) == ["strong_train"] * 2 + ["test"] * 2 and (frame["transcript"] == "").all()
