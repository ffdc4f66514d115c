"""LoRA on the packaged SmolLM2-135M with SciQ items: it learns, saves small, and reloads to the same predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from labeling.data import load_rows
from training import LoraSettings, ModelSpec, TrainConfig, checkpoint_bytes, load_classifier, train_classifier
from training.predict import predict_proba, predict_proba_loaded

ITEMS = 48
LORA = TrainConfig(epochs=6, lr=1e-3, batch_size=8, max_length=96, warmup_ratio=0.1, seed=0, bf16=False,
                   lora=LoraSettings(r=8))


@pytest.mark.real
def test_lora_on_smollm2_learns_saves_small_and_reloads_the_same(smollm2_dir: Path, shared_data: Path,
                                                                 tmp_path: Path) -> None:
    rows = load_rows("sciq", source=shared_data / "sciq", split="train", limit=ITEMS)
    texts, labels = list(rows["text"]), [float(x) for x in rows["label"]]
    out = train_classifier(ModelSpec(str(smollm2_dir)), texts, labels, LORA, tmp_path / "lora", desc="lora")

    log = json.loads((out / "train_log.json").read_text())
    losses = log["loss_per_step"]
    assert np.mean(losses[-6:]) < np.mean(losses[:6])  # the loss falls
    assert log["trainable_parameters"] < log["total_parameters"] / 50
    assert checkpoint_bytes(out) < 20 * 2**20  # adapters, head and tokenizer: not the 540 MB model

    probs = predict_proba(out, texts, max_length=96, bf16=False)
    assert np.mean((probs > 0.5) == (np.array(labels) == 1.0)) >= 0.75  # it fitted its items, above chance

    from peft import PeftModel  # the adapters applied without merging: what the trained model computed

    base, tokenizer = load_classifier(ModelSpec(str(smollm2_dir)))
    unmerged = PeftModel.from_pretrained(base, str(out)).to(torch.float32)
    before = predict_proba_loaded(unmerged, tokenizer, texts, max_length=96, bf16=False, progress=False)
    np.testing.assert_allclose(probs, before, atol=1e-4)
