"""LoRA and compact checkpoints on the tiny random model: what trains, what is saved, what reloads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from training import LoraSettings, checkpoint_bytes, is_compact
from training.models import ModelSpec
from training.predict import predict_proba
from training.train import TrainConfig, train_classifier

LORA = TrainConfig(epochs=4, lr=3e-3, batch_size=16, warmup_ratio=0.1, seed=0, bf16=False, lora=LoraSettings(r=2))
HEAD = TrainConfig(epochs=30, lr=5e-2, batch_size=32, warmup_ratio=0.0, seed=0, bf16=False, trainable="head")


@pytest.fixture(scope="module")
def lora_run(tiny_model_dir: Path, toy_task, tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts, labels = toy_task(128, seed=0)
    return train_classifier(ModelSpec(str(tiny_model_dir)), texts, labels, LORA,
                            tmp_path_factory.mktemp("lora") / "model", desc="lora")


def test_lora_trains_adapters_and_head_only_and_learns(lora_run: Path, toy_task) -> None:
    log = json.loads((lora_run / "train_log.json").read_text())
    assert 0 < log["trainable_parameters"] < log["total_parameters"] / 4
    assert log["config"]["lora"]["r"] == 2
    assert np.mean(log["loss_per_step"][-4:]) < np.mean(log["loss_per_step"][:4])
    texts, labels = toy_task(64, seed=1)
    accuracy = np.mean((predict_proba(lora_run, texts, bf16=False) > 0.5) == (np.array(labels) == 1.0))
    assert accuracy > 0.8


@pytest.mark.parametrize("cfg", [LORA, HEAD], ids=["lora", "head"])
def test_a_compact_checkpoint_predicts_what_the_full_one_does(cfg: TrainConfig, tiny_model_dir: Path, toy_task,
                                                              tmp_path: Path) -> None:
    texts, labels = toy_task(64, seed=0)
    spec = ModelSpec(str(tiny_model_dir))
    compact = train_classifier(spec, texts, labels, cfg, tmp_path / "compact", desc="compact")
    full = train_classifier(spec, texts, labels, TrainConfig(**{**cfg.__dict__, "checkpoint": "full"}),
                            tmp_path / "full", desc="full")
    assert is_compact(compact) and not is_compact(full)
    weights = {path.name: path.stat().st_size for path in compact.glob("*.safetensors")}
    assert set(weights) == ({"adapter_model.safetensors"} if cfg.lora else {"head.safetensors"})
    assert sum(weights.values()) < (full / "model.safetensors").stat().st_size / 4
    assert checkpoint_bytes(compact) < checkpoint_bytes(full)
    held, _ = toy_task(32, seed=2)
    np.testing.assert_allclose(predict_proba(compact, held, bf16=False), predict_proba(full, held, bf16=False),
                               atol=1e-5)


def test_a_compact_checkpoint_without_its_base_says_what_to_do(tiny_model_dir: Path, toy_task, tmp_path: Path) -> None:
    base = Path(shutil.copytree(tiny_model_dir, tmp_path / "base"))
    texts, labels = toy_task(32, seed=0)
    out = train_classifier(ModelSpec(str(base)), texts, labels, HEAD, tmp_path / "head", desc="head")
    shutil.rmtree(base)
    with pytest.raises(FileNotFoundError, match="its base model is missing.*checkpoint: full"):
        predict_proba(out, ["x"], bf16=False)


def test_gradient_checkpointing_changes_memory_not_the_result(tiny_model_dir: Path, toy_task, tmp_path: Path) -> None:
    texts, labels = toy_task(32, seed=0)
    spec = ModelSpec(str(tiny_model_dir))
    short = TrainConfig(**{**LORA.__dict__, "epochs": 1})
    plain = train_classifier(spec, texts, labels, short, tmp_path / "plain", desc="plain")
    recomputed = train_classifier(spec, texts, labels, TrainConfig(**{**short.__dict__, "gradient_checkpointing": True}),
                                  tmp_path / "gc", desc="gc")
    losses = [json.loads((d / "train_log.json").read_text())["loss_per_step"] for d in (plain, recomputed)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"lora": {"r": 0}}, "r must be >= 1"),
    ({"lora": {"dropout": 1.0}}, "dropout must be in"),
    ({"lora": {"target_modules": []}}, "target_modules"),
    ({"lora": {"r": 4}, "trainable": "head"}, "lora must be unset with trainable: head"),
    ({"checkpoint": "half"}, "checkpoint must be 'compact' or 'full'"),
])
def test_bad_lora_and_checkpoint_settings_are_refused(kwargs: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        TrainConfig(**kwargs)
