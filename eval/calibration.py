"""Calibration of P(label = 1): binary expected calibration error, Brier score, reliability curves.

Binary, not top-label: every prediction is the probability ``p`` that the label is 1 (for our items:
that the candidate answer is correct), compared with the 0/1 label ``y``. Guo et al. 2017 define ECE
on the top-label confidence ``max(p, 1 - p)`` against correctness; on a binary task that folds ``p``
and ``1 - p`` into one bin, whereas the binary version checks the probability the models output and
the soft labels students train on, across the whole [0, 1] range.

- Bins: ``n_bins`` (default 15) equal-width bins of [0, 1]; item ``i`` falls in bin
  ``min(floor(p_i * n_bins), n_bins - 1)``, so bin ``b`` is ``[b / n_bins, (b + 1) / n_bins)`` and the
  last bin also holds ``p = 1``.
- ECE = sum over bins of ``(n_b / N) * |mean(y in b) - mean(p in b)|`` = ``sum_b |sum_{i in b} (y_i - p_i)| / N``.
- Brier score (Brier 1950, two-class form) = ``mean((p - y) ** 2)``.

With several training seeds (``probs`` shaped ``[n_seeds, n_items]``) the ECE is computed per seed
(each seed's model binned on its own) and averaged over seeds; the Brier score is the mean over every
(seed, item). The bootstrap CIs resample seeds, then items (``eval.stats.bootstrap_sums``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .stats import Estimate, bootstrap_sums

__all__ = ["N_BINS", "bin_index", "brier_score", "expected_calibration_error", "reliability_curve",
           "bootstrap_ece", "bootstrap_brier"]

N_BINS = 15


def _pairs(probs: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``probs`` as float ``[n_seeds, n_items]`` in [0, 1] and ``labels`` broadcast to the same shape."""
    p = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    if p.ndim != 2 or p.size == 0:
        raise ValueError(f"probs must be a non-empty [n_items] or [n_seeds, n_items] array, got {np.shape(probs)}")
    if not np.all(np.isfinite(p)) or p.min() < 0.0 or p.max() > 1.0:
        raise ValueError("probs must be finite probabilities in [0, 1]")
    y = np.asarray(labels)
    if y.dtype != bool and not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be binary (0/1 or bool)")
    try:
        return p, np.broadcast_to(y.astype(np.float64), p.shape)
    except ValueError as exc:
        raise ValueError(f"probs {p.shape} and labels {y.shape} do not match") from exc


def bin_index(probs: ArrayLike, n_bins: int = N_BINS) -> np.ndarray:
    """The equal-width bin of each probability: ``min(floor(p * n_bins), n_bins - 1)``."""
    if int(n_bins) < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    p = np.asarray(probs, dtype=np.float64)
    return np.minimum(np.floor(p * n_bins).astype(int), n_bins - 1)


def _bin_gaps(p: np.ndarray, y: np.ndarray, n_bins: int) -> np.ndarray:
    """``[n_bins, n_seeds, n_items]``: ``y - p`` where the item falls in the bin, else 0."""
    onehot = bin_index(p, n_bins)[None] == np.arange(n_bins)[:, None, None]
    return onehot * (y - p)[None]


def expected_calibration_error(probs: ArrayLike, labels: ArrayLike, n_bins: int = N_BINS) -> float:
    """Binary ECE with ``n_bins`` equal-width bins (module docstring); the mean over seeds for 2-D ``probs``."""
    p, y = _pairs(probs, labels)
    per_seed = np.abs(_bin_gaps(p, y, n_bins).sum(axis=2)).sum(axis=0) / p.shape[1]
    return float(per_seed.mean())


def brier_score(probs: ArrayLike, labels: ArrayLike) -> float:
    """Mean squared difference between P(label = 1) and the 0/1 label, over every (seed, item)."""
    p, y = _pairs(probs, labels)
    return float(np.mean((p - y) ** 2))


def reliability_curve(
    probs: ArrayLike, labels: ArrayLike, n_bins: int = N_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per non-empty bin, pooled over seeds: mean predicted P(label = 1), observed frequency of 1, count."""
    p, y = _pairs(probs, labels)
    bins = bin_index(p, n_bins).ravel()
    counts = np.bincount(bins, minlength=n_bins)
    filled = counts > 0
    mean_p = np.bincount(bins, weights=p.ravel(), minlength=n_bins)[filled] / counts[filled]
    freq = np.bincount(bins, weights=y.ravel(), minlength=n_bins)[filled] / counts[filled]
    return mean_p, freq, counts[filled]


def bootstrap_ece(probs: ArrayLike, labels: ArrayLike, n_bins: int = N_BINS, **boot: Any) -> Estimate:
    """:func:`expected_calibration_error` with its bootstrap CI over seeds and items (``boot``: n_boot, alpha, seed)."""
    p, y = _pairs(probs, labels)
    n_seeds, n_items = p.shape

    def ece(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:  # sums: [r, bins, seeds]
        return np.einsum("rs,rs->r", counts, np.abs(sums).sum(axis=1)) / (n_seeds * n_items)

    return bootstrap_sums(list(_bin_gaps(p, y, n_bins)), ece, **boot)


def bootstrap_brier(probs: ArrayLike, labels: ArrayLike, **boot: Any) -> Estimate:
    """:func:`brier_score` with its bootstrap CI over seeds and items (``boot``: n_boot, alpha, seed)."""
    p, y = _pairs(probs, labels)

    def mean(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
        return np.einsum("rs,rs->r", counts, sums[:, 0]) / p.size

    return bootstrap_sums([(p - y) ** 2], mean, **boot)
