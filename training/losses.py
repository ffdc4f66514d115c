"""Losses for training binary classifiers on soft labels, and the registry that names them.

Three losses are registered: ``xent`` (plain soft-label cross-entropy), ``logconf`` (the auxiliary
confidence loss of Burns et al. 2023, with a linear warm-up of its coefficient) and ``product``
(cross-entropy to the normalised product of weak and strong probabilities, also from Burns et al.).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_binary(logits: Tensor, soft_labels: Tensor) -> None:
    if logits.ndim != 2 or logits.shape[1] != 2:
        raise ValueError(f"logits must have shape [B, 2], got {tuple(logits.shape)}")
    if soft_labels.shape != (logits.shape[0],):
        raise ValueError(
            f"soft_labels must have shape [{logits.shape[0]}], got {tuple(soft_labels.shape)}"
        )


def _check_progress(progress: float) -> None:
    if not 0.0 <= progress <= 1.0:  # also rejects NaN
        raise ValueError(f"progress must lie in [0, 1], got {progress}")


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


def hardened_predictions(logits: Tensor, soft_labels: Tensor) -> Tensor:
    """The strong model's own 0/1 predictions, thresholded per batch to the weak labels' positive rate.

    With ``q1 = P(label 1)`` from ``softmax(logits)`` and ``m`` the batch mean of ``soft_labels``,
    an example is positive when ``q1 > t``, where ``t`` is the ``(1 - m)``-quantile of the batch's
    ``q1`` (linear interpolation). This is the rule of Burns et al.'s published code, written in
    terms of ``q1`` instead of ``q0``. For distinct predictions it makes ``ceil(m * (B - 1))``
    examples positive, so the positive rate tracks ``m`` (e.g. all-positive weak labels still
    leave the least confident example negative, as in the published code). Tied predictions fall
    on the same side. Returns a float tensor ``[B]`` of 0.0/1.0 that carries no gradient.
    """
    _check_binary(logits, soft_labels)
    with torch.no_grad():
        q1 = torch.softmax(logits.detach().float(), dim=-1)[:, 1]
        weak_rate = soft_labels.detach().float().mean().clamp(0.0, 1.0)
        threshold = torch.quantile(q1, 1.0 - weak_rate)
        return (q1 > threshold).float()


def logconf_coefficient(progress: float, aux_coef: float, warmup_frac: float) -> float:
    """Weight of the hardened targets: ``aux_coef * min(1, progress / warmup_frac)``.

    Ramps linearly from 0 at the start to ``aux_coef`` once ``warmup_frac`` of training is done;
    ``warmup_frac == 0`` means no warm-up (``aux_coef`` from the first step).
    """
    _check_progress(progress)
    if warmup_frac <= 0.0:
        return aux_coef
    return aux_coef * min(1.0, progress / warmup_frac)


def _check_number(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not low <= value <= high:  # also rejects NaN
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value}")


@dataclass(frozen=True)
class LogConfLoss:
    """Burns et al.'s auxiliary confidence loss ("logconf"), with a LINEAR warm-up.

    Cross-entropy to the target ``(1 - c) * weak + c * hardened``, where ``weak`` is the soft
    label, ``hardened`` the strong model's own thresholded prediction (see
    ``hardened_predictions``; no gradient flows through it) and
    ``c = logconf_coefficient(progress, aux_coef, warmup_frac)``.

    Difference from the published code (openai/weak-to-strong, ``logconf_loss_fn``): there the
    coefficient is ``aux_coef * progress`` while ``progress <= warmup_frac`` and then jumps to
    ``aux_coef``; here it rises linearly from 0 to ``aux_coef`` over the first ``warmup_frac`` of
    training and stays there. Defaults: ``aux_coef=0.75``, ``warmup_frac=0.2`` (the published
    code's class defaults are 0.5 and 0.1).
    """

    aux_coef: float = 0.75
    warmup_frac: float = 0.2

    def __post_init__(self) -> None:
        _check_number("aux_coef", self.aux_coef, 0.0, 1.0)
        _check_number("warmup_frac", self.warmup_frac, 0.0, 1.0)

    def __call__(self, logits: Tensor, soft_labels: Tensor, *, progress: float) -> Tensor:
        """The loss of one batch at training fraction ``progress``."""
        coef = logconf_coefficient(progress, self.aux_coef, self.warmup_frac)
        hardened = hardened_predictions(logits, soft_labels)
        target = (1.0 - coef) * soft_labels.float() + coef * hardened
        return soft_cross_entropy(logits, target)


@dataclass(frozen=True)
class ProductLoss:
    """Burns et al.'s product loss: cross-entropy to ``weak^alpha * strong^beta``, normalised.

    Per example the target over the two classes is proportional to
    ``[1 - p, p]^alpha * softmax(logits)^beta`` (``p`` the soft label), renormalised to sum to one
    and detached, so the gradient is that of a cross-entropy to a fixed target. Computed in log
    space, so saturated predictions do not give 0/0. Defaults ``alpha=1, beta=1`` as published;
    the published class also takes a ``warmup_frac`` that it never uses, so it is left out.
    ``progress`` is ignored.
    """

    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        _check_number("alpha", self.alpha, 0.0, math.inf)
        _check_number("beta", self.beta, 0.0, math.inf)

    def target(self, logits: Tensor, soft_labels: Tensor) -> Tensor:
        """The detached target P(label 1) per example, shape ``[B]``."""
        _check_binary(logits, soft_labels)
        with torch.no_grad():
            log_q = F.log_softmax(logits.detach().float(), dim=-1)
            p = soft_labels.detach().float()
            weak = torch.stack([1.0 - p, p], dim=1)
            # xlogy: 0 * log 0 = 0, so alpha = 0 ignores the weak labels even where they are 0 or 1
            log_target = torch.xlogy(torch.tensor(float(self.alpha)), weak) + self.beta * log_q
            return torch.softmax(log_target, dim=-1)[:, 1]

    def __call__(self, logits: Tensor, soft_labels: Tensor, *, progress: float) -> Tensor:
        """The loss of one batch; ``progress`` is ignored."""
        del progress
        return soft_cross_entropy(logits, self.target(logits, soft_labels))


LOSSES: dict[str, LossFn] = {
    "xent": xent_loss,
    "logconf": LogConfLoss(),
    "product": ProductLoss(),
}


def get_loss(name: str, **params: Any) -> LossFn:
    """Return the registered loss called ``name``, configured with ``params`` if any are given.

    ``get_loss("logconf", aux_coef=0.5)`` returns a ``LogConfLoss`` with that coefficient; losses
    registered as plain functions (``xent``) take no parameters. Unknown names, unknown
    parameters and out-of-range values raise ValueError.
    """
    try:
        loss = LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None
    if not params:
        return loss
    if not dataclasses.is_dataclass(loss):
        raise ValueError(f"loss {name!r} takes no parameters, got {sorted(params)}")
    accepted = sorted(f.name for f in dataclasses.fields(loss))
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"loss {name!r} has no parameter(s) {unknown}; it accepts {accepted}")
    return dataclasses.replace(loss, **params)
