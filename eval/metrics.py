"""Per-item metrics for binary classifiers that output P(label = 1).

All functions take array-likes and return plain numpy / Python values. Labels must be
binary (0/1 or bool); probabilities may be any real scores (only their order matters
for AUROC).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["correctness", "accuracy", "auroc", "position_bias"]


def _binary_labels(labels: ArrayLike) -> np.ndarray:
    """Return labels as a bool array, rejecting anything that is not 0/1."""
    arr = np.asarray(labels)
    if arr.dtype == bool:
        return arr
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError("labels must be binary (0/1 or bool); got other values")
    return arr.astype(bool)


def correctness(probs: ArrayLike, labels: ArrayLike, threshold: float = 0.5) -> np.ndarray:
    """Bool per item: whether the hard prediction ``probs > threshold`` equals the label.

    ``probs`` may be ``[n_items]`` or ``[n_seeds, n_items]``; ``labels`` broadcasts
    against it (usually ``[n_items]``), so one call gives a seeds-by-items matrix.
    """
    p = np.asarray(probs, dtype=float)
    y = _binary_labels(labels)
    if p.ndim == 0 or p.ndim > 2:
        raise ValueError(f"probs must be 1-D or 2-D, got shape {p.shape}")
    try:
        return np.asarray((p > threshold) == y, dtype=bool)
    except ValueError as exc:  # broadcasting failure
        raise ValueError(f"probs {p.shape} and labels {y.shape} do not match") from exc


def accuracy(probs: ArrayLike, labels: ArrayLike, threshold: float = 0.5) -> float:
    """Fraction of items whose thresholded prediction equals the label (mean over seeds too)."""
    correct = correctness(probs, labels, threshold)
    if correct.size == 0:
        raise ValueError("accuracy of zero items is undefined")
    return float(correct.mean())


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``; tied values share the mean of the ranks they span."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)  # last 1-based rank held by each distinct value
    mean_rank = ends - (counts - 1) / 2.0
    return mean_rank[inverse]


def auroc(probs: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic.

    Equals the probability that a random positive item scores above a random negative
    one, counting ties as one half. Returns ``nan`` when either class is absent.
    """
    p = np.asarray(probs, dtype=float).ravel()
    y = _binary_labels(labels).ravel()
    if p.shape != y.shape:
        raise ValueError(f"probs {p.shape} and labels {y.shape} must have the same length")
    if np.isnan(p).any():
        raise ValueError("probs contain nan")
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(p)
    u_pos = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u_pos / (n_pos * n_neg))


def position_bias(p_original: ArrayLike, p_swapped: ArrayLike, a_argues_correct: ArrayLike) -> np.ndarray:
    """Per item: P(correct | A argues "correct") minus P(correct | B argues "correct").

    ``p_original`` / ``p_swapped`` are the judge's P(correct) on the original and the A/B-swapped
    debate of each item; ``a_argues_correct`` says whether A argued "correct" in the original.
    Positive values mean the judge favours the first speaker; the mean over items is the bias.
    """
    original = np.asarray(p_original, dtype=float)
    swapped = np.asarray(p_swapped, dtype=float)
    a_correct = np.asarray(a_argues_correct, dtype=bool)
    if not original.shape == swapped.shape == a_correct.shape:
        raise ValueError(f"shapes differ: {original.shape}, {swapped.shape}, {a_correct.shape}")
    return np.where(a_correct, original - swapped, swapped - original)
