"""P(label = 1) from a trained binary sequence classifier."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.batching import pad_batch, tokenize_texts
from training.checkpoints import load_trained
from training.models import ModelSpec
from training.runtime import autocast, resolve_device, torch_threads


def predict_proba_loaded(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    batch_size: int = 16,
    max_length: int = 512,
    bf16: bool = True,
    desc: str = "predict",
    progress: bool = True,
) -> np.ndarray:
    """P(label = 1) per text with an already loaded classifier (e.g. a served judge).

    ``progress=False`` hides the progress bar (a server predicts many small batches).

    Texts are batched longest-first to minimise padding; the result is in input order, float64.
    Uses the model's current device and the caller's torch thread count; puts it in eval mode.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not a single string")
    if model.config.num_labels != 2:
        raise ValueError(f"expected a binary classifier, model has {model.config.num_labels} labels")
    probs = np.empty(len(texts), dtype=np.float64)
    if len(texts) == 0:
        return probs
    pad_id = model.config.pad_token_id
    if pad_id is None:
        raise ValueError("model config has no pad_token_id; load it with load_classifier")
    device = next(model.parameters()).device
    ids = tokenize_texts(tokenizer, texts, max_length)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
    model.eval()
    with torch.inference_mode(), tqdm(total=len(ids), desc=desc, unit="ex", disable=not progress) as bar:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = pad_batch([ids[i] for i in rows], pad_id, device)
            with autocast(device, bf16):
                logits = model(**batch).logits
            p1 = torch.softmax(logits.float(), dim=-1)[:, 1]
            probs[rows] = p1.double().cpu().numpy()
            bar.update(len(rows))
    return probs


def predict_proba(
    model: str | Path | ModelSpec,
    texts: Sequence[str],
    *,
    batch_size: int = 16,
    max_length: int = 512,
    threads: int = 1,
    bf16: bool = True,
    desc: str = "predict",
    device: str | None = "auto",
) -> np.ndarray:
    """Load a classifier checkpoint and return P(label = 1) per text (float64, input order).

    ``model`` is a checkpoint path (as written by ``train_classifier``), a hub id, or a
    ``ModelSpec``. Results do not depend on ``batch_size`` beyond float noise.
    """
    spec = model if isinstance(model, ModelSpec) else ModelSpec(str(model))
    target = resolve_device(device)
    with torch_threads(threads):
        classifier, tokenizer = load_trained(spec)
        classifier.to(target)
        return predict_proba_loaded(
            classifier,
            tokenizer,
            texts,
            batch_size=batch_size,
            max_length=max_length,
            bf16=bf16,
            desc=desc,
        )
