"""Head-only training: the cached features are what the head reads, only ``score`` changes, and it learns."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from training.batching import pad_batch, tokenize_texts
from training.head import classification_head, last_non_pad_index, pooled_features
from training.models import ModelSpec, load_classifier
from training.predict import predict_proba
from training.train import TrainConfig, train_classifier

HEAD = TrainConfig(epochs=60, lr=5e-2, batch_size=32, warmup_ratio=0.0, seed=0, trainable="head", bf16=False,
                   checkpoint="full")  # the whole model, to compare every weight with the base


def test_cached_features_give_the_models_own_logits(tiny_model_dir: Path) -> None:
    model, tokenizer = load_classifier(ModelSpec(str(tiny_model_dir)))
    model.eval()
    texts = ["a b c good", "bad", "x y z w v u t s good bad", "hello"]
    ids = tokenize_texts(tokenizer, texts, 32)
    features = pooled_features(model, ids, batch_size=3, device=torch.device("cpu"), bf16=False, desc="t")
    with torch.inference_mode():
        logits = model(**pad_batch(ids, model.config.pad_token_id)).logits
        from_features = classification_head(model)(features)
    assert torch.allclose(logits, from_features, atol=1e-5)


def test_last_non_pad_index_skips_right_padding() -> None:
    ids = torch.tensor([[5, 6, 7, 0, 0], [5, 0, 0, 0, 0], [1, 2, 3, 4, 5]])
    assert last_non_pad_index(ids, pad_token_id=0).tolist() == [2, 0, 4]


def test_head_training_changes_only_the_head_and_learns(tiny_model_dir: Path, toy_task, tmp_path: Path) -> None:
    texts, labels = toy_task(256, seed=0)
    out = train_classifier(ModelSpec(str(tiny_model_dir)), texts, labels, HEAD, tmp_path / "head", desc="head")
    before, _ = load_classifier(ModelSpec(str(tiny_model_dir)))
    after = load_file(str(out / "model.safetensors"))
    changed = {name for name, value in before.state_dict().items()
               if name in after and not torch.equal(value, after[name])}
    assert changed == {"score.weight"}
    log = json.loads((out / "train_log.json").read_text())
    assert log["config"]["trainable"] == "head" and log["loss_per_step"][-1] < log["loss_per_step"][0]
    held_texts, held_labels = toy_task(128, seed=1)
    accuracy = np.mean((predict_proba(out, held_texts, bf16=False) > 0.5) == (np.array(held_labels) == 1.0))
    assert accuracy > 0.6  # a random 3-layer trunk still separates one keyword linearly


def test_unknown_trainable_is_rejected() -> None:
    with pytest.raises(ValueError, match="trainable"):
        TrainConfig(trainable="lora")


def test_left_truncation_is_trained_and_kept_by_the_checkpoint(tiny_model_dir: Path, toy_task, tmp_path: Path) -> None:
    """A model trained with truncation_side left reads a too-long text's end, also when reloaded to predict."""
    texts, labels = toy_task(64, seed=0)
    cfg = replace(HEAD, max_length=8, truncation_side="left", epochs=2)
    out = train_classifier(ModelSpec(str(tiny_model_dir)), texts, labels, cfg, tmp_path / "left", desc="left")
    assert json.loads((out / "tokenizer_config.json").read_text())["truncation_side"] == "left"
    tail = "the answer is good"
    long = " ".join(["filler"] * 50) + " " + tail
    probs = predict_proba(out, [long, " ".join(["filler"] * 46) + " " + tail], max_length=8, bf16=False)
    assert probs[0] == pytest.approx(probs[1], abs=1e-6)  # both cut to the same last 8 tokens
    right = train_classifier(ModelSpec(str(tiny_model_dir)), texts, labels, replace(cfg, truncation_side="right"),
                             tmp_path / "right", desc="right")
    cut = tokenize_texts(load_classifier(ModelSpec(str(right)))[1], [long], 8)[0]
    assert "answer" not in load_classifier(ModelSpec(str(right)))[1].decode(cut)  # right keeps the filler start
    with pytest.raises(ValueError, match="truncation_side"):
        TrainConfig(truncation_side="middle")
