"""Losses for training binary classifiers on soft labels, and the registry that names them."""

from __future__ import annotations

from typing import Protocol

import torch.nn.functional as F
from torch import Tensor


def _check_binary(logits: Tensor, soft_labels: Tensor) -> None:
    if logits.ndim != 2 or logits.shape[1] != 2:
        raise ValueError(f"logits must have shape [B, 2], got {tuple(logits.shape)}")
    if soft_labels.shape != (logits.shape[0],):
        raise ValueError(
            f"soft_labels must have shape [{logits.shape[0]}], got {tuple(soft_labels.shape)}"
        )


def soft_cross_entropy(logits: Tensor, soft_labels: Tensor) -> Tensor:
    """Mean over the batch of ``-(p log q1 + (1 - p) log q0)``.

    ``logits`` is ``[B, 2]``; ``soft_labels`` is ``[B]`` with ``p = P(label 1)`` in ``[0, 1]``;
    ``q = softmax(logits)``. With hard 0/1 labels this equals ``F.cross_entropy``.
    """
    _check_binary(logits, soft_labels)
    log_q = F.log_softmax(logits.float(), dim=-1)
    p = soft_labels.to(log_q.dtype)
    return -(p * log_q[:, 1] + (1.0 - p) * log_q[:, 0]).mean()


class LossFn(Protocol):
    """A training loss: batch logits and soft labels in, scalar out.

    ``progress`` is the fraction of training already done, in ``[0, 1]``; losses that warm up a
    coefficient (e.g. the auxiliary-confidence loss of Burns et al.) use it, the others ignore it.
    """

    def __call__(self, logits: Tensor, soft_labels: Tensor, *, progress: float) -> Tensor: ...


def xent_loss(logits: Tensor, soft_labels: Tensor, *, progress: float) -> Tensor:
    """Plain soft-label cross-entropy (the "xent" baseline); ignores ``progress``."""
    del progress
    return soft_cross_entropy(logits, soft_labels)


LOSSES: dict[str, LossFn] = {
    "xent": xent_loss,
}


def get_loss(name: str) -> LossFn:
    """Return the registered loss called ``name``; ValueError listing the choices otherwise."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None

