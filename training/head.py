"""Head-only training: a frozen trunk read once, and the classification head fitted on its features.

A decoder sequence classifier scores the last non-padding token's final hidden state with one
linear layer (``score``). With the trunk frozen, that hidden state does not change during training,
so it is computed once per text (one forward pass, no backward) and the head is fitted on the cached
features: exactly the model one would get by fine-tuning only ``score``, at a fraction of the cost.
This is the linear-probe setting of Burns et al. (2023).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from training.batching import pad_batch
from training.runtime import autocast


def classification_head(model: PreTrainedModel) -> torch.nn.Linear:
    """The linear layer that turns the pooled hidden state into logits (``score`` in decoder classifiers)."""
    head = getattr(model, "score", None)
    if not isinstance(head, torch.nn.Linear):
        raise ValueError(f"{type(model).__name__} has no linear `score` head; head-only training needs one")
    return head


def last_non_pad_index(input_ids: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """Per row, the position of the last token that is not padding (the token the head reads)."""
    positions = torch.arange(input_ids.shape[-1], device=input_ids.device)
    return (positions * (input_ids != pad_token_id)).argmax(-1)


def pooled_features(
    model: PreTrainedModel, ids: list[list[int]], *, batch_size: int, device: torch.device, bf16: bool, desc: str
) -> torch.Tensor:
    """The trunk's final hidden state at each text's last non-padding token, float32, in input order."""
    trunk, pad_id = model.base_model, model.config.pad_token_id
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)  # less padding per batch
    features = torch.empty(len(ids), model.config.hidden_size, dtype=torch.float32)
    trunk.eval()
    with torch.inference_mode(), tqdm(total=len(ids), desc=f"{desc} features", unit="ex") as bar:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = pad_batch([ids[i] for i in rows], pad_id, device)
            with autocast(device, bf16):
                hidden = trunk(**batch).last_hidden_state
            picked = hidden[torch.arange(len(rows), device=device), last_non_pad_index(batch["input_ids"], pad_id)]
            features[rows] = picked.float().cpu()
            bar.update(len(rows))
    return features


def freeze_all_but_head(model: PreTrainedModel) -> torch.nn.Linear:
    """Leave only the head trainable; returns it."""
    head = classification_head(model)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for parameter in head.parameters():
        parameter.requires_grad_(True)
    return head


def head_forward(head: torch.nn.Linear, features: torch.Tensor, device: torch.device) -> Callable[[list[int]], torch.Tensor]:
    """A micro-batch forward over cached features: example indices -> logits."""
    features = features.to(device)
    return lambda rows: head(features[rows])
