"""train_classifier on the tiny random model: learning, soft labels, logs, atomic output, errors."""

from __future__ import annotations

import os

import json
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoConfig

import training.train as train_module
from training.models import ModelSpec
from training.predict import predict_proba
from training.train import TrainConfig, example_order, train_classifier

FAST = TrainConfig(epochs=4, lr=3e-3, batch_size=16, warmup_ratio=0.1, seed=0)


@pytest.fixture(scope="module")
def toy_run(tiny_model_dir: Path, toy_task, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One training run on the keyword task, shared by the tests below."""
    texts, labels = toy_task(128, seed=0)
    out = tmp_path_factory.mktemp("toy-run") / "judge"
    return train_classifier(ModelSpec(str(tiny_model_dir)), texts, labels, FAST, out, desc="toy")


def test_learns_the_keyword_task(toy_run: Path, toy_task) -> None:
    texts, labels = toy_task(64, seed=1)  # held-out sentences
    probs = predict_proba(toy_run, texts, bf16=True)
    accuracy = np.mean((probs > 0.5) == (np.array(labels) == 1.0))
    assert accuracy > 0.9


def test_loss_decreases_and_log_is_complete(toy_run: Path) -> None:
    log = json.loads((toy_run / "train_log.json").read_text())
    losses = log["loss_per_step"]
    assert log["steps"] == len(losses) == 32  # 4 epochs * 128 examples / 16 per batch
    assert log["n_examples"] == 128 and log["examples_seen"] == 512
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert log["config"]["lr"] == FAST.lr and log["config"]["loss"] == "xent"
    assert log["seconds"] > 0
    assert log["torch_version"] and log["transformers_version"]
    assert log["desc"] == "toy"


def test_output_is_a_normal_checkpoint_and_no_temp_dir_is_left(toy_run: Path) -> None:
    assert (toy_run / "config.json").is_file()
    assert (toy_run / "tokenizer_config.json").is_file()
    config = AutoConfig.from_pretrained(toy_run)
    assert config.num_labels == 2 and config.pad_token_id is not None
    assert [p.name for p in toy_run.parent.iterdir()] == ["judge"]
    mask = os.umask(0o022)
    os.umask(mask)
    assert toy_run.stat().st_mode & 0o777 == 0o777 & ~mask  # not mkdtemp's 0700: collaborators can read it


def test_soft_labels_are_honoured(tiny_model_dir: Path, toy_task, tmp_path: Path) -> None:
    texts, _ = toy_task(64, seed=2)
    cfg = TrainConfig(epochs=6, lr=3e-3, batch_size=16, warmup_ratio=0.1, bf16=False)
    out = train_classifier(ModelSpec(str(tiny_model_dir)), texts, [0.8] * len(texts), cfg, tmp_path / "m")
    probs = predict_proba(out, toy_task(32, seed=3)[0], bf16=False)
    # the xent optimum for a constant soft label 0.8 is 0.8, not a hardened 1.0
    assert abs(probs.mean() - 0.8) < 0.05
    assert probs.max() < 0.9 and probs.min() > 0.7


def test_same_seed_same_losses_other_seed_differs(tiny_model_dir: Path, toy_task, tmp_path: Path) -> None:
    texts, labels = toy_task(32, seed=4)
    spec = ModelSpec(str(tiny_model_dir), num_hidden_layers=1)
    cfg = TrainConfig(epochs=1, lr=1e-3, batch_size=8, bf16=False, seed=7)

    def losses(cfg: TrainConfig, name: str) -> list[float]:
        out = train_classifier(spec, texts, labels, cfg, tmp_path / name)
        return json.loads((out / "train_log.json").read_text())["loss_per_step"]

    first = losses(cfg, "a")
    assert losses(cfg, "b") == pytest.approx(first, abs=1e-6)
    assert losses(TrainConfig(epochs=1, lr=1e-3, batch_size=8, bf16=False, seed=8), "c") != pytest.approx(
        first, abs=1e-6
    )


def test_truncated_spec_is_saved_truncated(tiny_model_dir: Path, toy_task, tmp_path: Path) -> None:
    texts, labels = toy_task(8, seed=5)
    cfg = TrainConfig(epochs=1, batch_size=4, bf16=False)
    out = train_classifier(ModelSpec(str(tiny_model_dir), num_hidden_layers=2), texts, labels, cfg, tmp_path / "w")
    assert AutoConfig.from_pretrained(out).num_hidden_layers == 2
    assert json.loads((out / "train_log.json").read_text())["spec"]["num_hidden_layers"] == 2


def test_grad_accum_and_fractional_epochs_count_steps(tiny_model_dir: Path, toy_task, tmp_path: Path) -> None:
    texts, labels = toy_task(20, seed=6)
    cfg = TrainConfig(epochs=1.5, batch_size=4, grad_accum=2, bf16=False)
    out = train_classifier(ModelSpec(str(tiny_model_dir), num_hidden_layers=1), texts, labels, cfg, tmp_path / "g")
    log = json.loads((out / "train_log.json").read_text())
    assert log["examples_seen"] == 30  # 1.5 * 20
    assert log["steps"] == 4  # 8 micro-batches of <= 4, two per step


def test_example_order_covers_each_epoch_once() -> None:
    order = example_order(10, 2.5, seed=3)
    assert len(order) == 25
    assert sorted(order[:10]) == list(range(10)) and sorted(order[10:20]) == list(range(10))
    assert order == example_order(10, 2.5, seed=3)
    assert order != example_order(10, 2.5, seed=4)


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        (["a", "b"], [0.0], "length mismatch: 2 texts but 1"),
        (["a", "b"], [0.0, 1.5], "soft label 1 is 1.5"),
        (["a"], [-0.1], "soft label 0 is -0.1"),
        (["a"], [float("nan")], "soft label 0 is nan"),
        ([], [], "empty"),
    ],
)
def test_bad_inputs_raise_before_loading(texts, labels, message, tmp_path: Path) -> None:
    # the model path does not exist: data errors must be reported first, and clearly
    with pytest.raises(ValueError, match=message):
        train_classifier(ModelSpec(str(tmp_path / "absent")), texts, labels, TrainConfig(), tmp_path / "o")


def test_missing_model_dir_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="absent-model"):
        train_classifier(ModelSpec(str(tmp_path / "absent-model")), ["a"], [1.0], TrainConfig(), tmp_path / "o")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"epochs": 0}, {"lr": -1.0}, {"batch_size": 0}, {"grad_accum": 0}, {"warmup_ratio": 1.5}, {"threads": 0}],
)
def test_bad_configs_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="invalid TrainConfig"):
        TrainConfig(**kwargs)


def test_unknown_loss_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown loss 'logconfx'"):
        TrainConfig(loss="logconfx")


def test_existing_output_is_not_overwritten(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "done"
    out.mkdir()
    (out / "marker").write_text("keep me")
    with pytest.raises(FileExistsError, match="done"):
        train_classifier(ModelSpec(str(tiny_model_dir)), ["good"], [1.0], TrainConfig(), out)
    assert (out / "marker").read_text() == "keep me"


def test_empty_existing_output_dir_is_accepted(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "made-by-caller"
    out.mkdir()
    cfg = TrainConfig(epochs=1, batch_size=2, bf16=False)
    train_classifier(ModelSpec(str(tiny_model_dir), num_hidden_layers=1), ["good", "bad"], [1.0, 0.0], cfg, out)
    assert (out / "train_log.json").is_file()


def test_failed_run_leaves_nothing_behind(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exploding_loss(logits, soft_labels, *, progress):
        raise RuntimeError("killed mid-run")

    monkeypatch.setitem(train_module.LOSSES, "xent", exploding_loss)
    with pytest.raises(RuntimeError, match="killed mid-run"):
        train_classifier(ModelSpec(str(tiny_model_dir)), ["good"], [1.0], TrainConfig(), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_failed_save_leaves_no_partial_checkpoint(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_write(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", broken_write)  # train_log.json is written last
    cfg = TrainConfig(epochs=1, batch_size=1, bf16=False)
    with pytest.raises(OSError, match="disk full"):
        train_classifier(ModelSpec(str(tiny_model_dir), num_hidden_layers=1), ["good"], [1.0], cfg, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
