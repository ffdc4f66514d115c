"""Point estimates with percentile-bootstrap confidence intervals: accuracy, PGR, differences.

Inputs are per-item correctness arrays (bool or 0/1), shaped ``[n_items]`` or
``[n_seeds, n_items]``. For 2-D inputs every seed is scored on the same test items, and
the bootstrap has two levels: each replicate resamples seeds with replacement, then
resamples test items with replacement (one item resample shared by all seeds of that
replicate, because the seeds share one test set). Comparisons between models (PGR,
differences) are paired: all arrays in one replicate use the same seed and item draws.

A replicate is represented by multiplicity counts (how often each seed / item was drawn),
so the resampled mean is ``seed_counts @ (item_counts @ correct.T)`` divided by
``n_seeds * n_items`` -- exact integer arithmetic in float64 for any realistic size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .resample import check_args, percentile_ci, resampled_sums, resampled_totals

__all__ = ["Estimate", "pgr", "bootstrap_accuracy", "bootstrap_pgr", "bootstrap_sums", "bootstrap_ratio",
           "paired_difference"]

@dataclass(frozen=True)
class Estimate:
    """A point estimate with its (1 - alpha) percentile-bootstrap confidence interval.

    ``n_dropped`` counts bootstrap replicates that were discarded because the statistic
    was undefined there (for PGR: resamples where ceiling accuracy equals weak accuracy).
    """

    value: float
    lo: float
    hi: float
    n_items: int
    n_seeds: int
    n_boot: int
    alpha: float = 0.05
    n_dropped: int = 0

    @property
    def level(self) -> float:
        """Confidence level of the interval, e.g. 0.95."""
        return 1.0 - self.alpha

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (floats may be nan; callers that write JSON convert them)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimate:
        """Inverse of :meth:`to_dict`; ``None`` floats (JSON null) become nan."""
        def num(key: str) -> float:
            val = data.get(key)
            return float("nan") if val is None else float(val)

        return cls(
            value=num("value"), lo=num("lo"), hi=num("hi"),
            n_items=int(data["n_items"]), n_seeds=int(data["n_seeds"]),
            n_boot=int(data["n_boot"]), alpha=float(data.get("alpha", 0.05)),
            n_dropped=int(data.get("n_dropped", 0)),
        )

    def fmt(self, pct: bool = True) -> str:
        """Human-readable ``"72.9 [70.1, 75.6]"`` (percent, 1 decimal) or 3 decimals when not pct."""
        scale, digits = (100.0, 1) if pct else (1.0, 3)

        def one(x: float) -> str:
            return "n/a" if not math.isfinite(x) else f"{x * scale:.{digits}f}"

        return f"{one(self.value)} [{one(self.lo)}, {one(self.hi)}]"


def pgr(weak_acc: float, ceiling_acc: float, student_acc: float) -> float:
    """Performance gap recovered: ``(student - weak) / (ceiling - weak)``.

    Returns nan when ceiling equals weak (up to 1e-12) or any input is nan. Values above 1
    (student beats ceiling) and below 0 (student below weak) are returned as they are.
    """
    weak, ceiling, student = float(weak_acc), float(ceiling_acc), float(student_acc)
    gap = ceiling - weak
    if not math.isfinite(gap) or not math.isfinite(student) or abs(gap) <= 1e-12:
        return float("nan")
    return (student - weak) / gap


def _as_matrix(correct: ArrayLike, name: str) -> np.ndarray:
    """Validate a 0/1 correctness array and return it as float64 ``[n_seeds, n_items]``."""
    arr = np.asarray(correct)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be [n_items] or [n_seeds, n_items], got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype != bool and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must hold booleans or 0/1 values")
    return np.atleast_2d(arr.astype(np.float64))


def bootstrap_accuracy(
    correct: ArrayLike, *, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0
) -> Estimate:
    """Mean correctness with a percentile-bootstrap CI.

    ``correct`` is ``[n_items]`` or ``[n_seeds, n_items]``; 2-D input gets the two-level
    (seeds, then items) bootstrap described in the module docstring. The point value is
    the plain mean over all entries.
    """
    check_args(n_boot, alpha)
    mat = _as_matrix(correct, "correct")
    n_seeds, n_items = mat.shape
    rng = np.random.default_rng(seed)
    means = resampled_totals([mat], n_boot, rng)[:, 0] / mat.size
    lo, hi = percentile_ci(means, alpha)
    return Estimate(float(mat.mean()), lo, hi, n_items, n_seeds, int(n_boot), alpha)


def bootstrap_pgr(
    weak_correct: ArrayLike,
    ceiling_correct: ArrayLike,
    student_correct: ArrayLike,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
    paired: bool = True,
) -> Estimate:
    """PGR of three models scored on the same test items, with a paired bootstrap CI.

    The three arrays share one shape, ``[n_items]`` or ``[n_seeds, n_items]``; with
    ``paired`` (the default, and the right choice) every replicate applies the same item
    (and seed) draws to all three, which cancels the per-item difficulty they share.
    ``paired=False`` resamples them independently and exists for comparison only.

    The point value is :func:`pgr` of the plain means. Replicates whose resampled ceiling
    accuracy equals the weak accuracy are dropped and counted in ``n_dropped``; if more
    than half are dropped the bounds are nan.

    The CI is wide when ceiling - weak is small: PGR divides by that gap, so sampling noise
    of a few items moves the ratio a lot. With gaps of 2-4 points on ~1,000 items expect
    intervals tens of PGR points wide; report them, and the number of seeds, with the value.
    """
    check_args(n_boot, alpha)
    mats = [_as_matrix(x, name) for x, name in (
        (weak_correct, "weak_correct"), (ceiling_correct, "ceiling_correct"),
        (student_correct, "student_correct"))]
    if len({m.shape for m in mats}) != 1:
        raise ValueError(f"weak/ceiling/student shapes differ: {[m.shape for m in mats]}")
    n_seeds, n_items = mats[0].shape
    value = pgr(*(float(m.mean()) for m in mats))

    rng = np.random.default_rng(seed)
    totals = resampled_totals(mats, n_boot, rng, paired=paired)
    weak, ceiling, student = totals[:, 0], totals[:, 1], totals[:, 2]
    keep = ceiling != weak  # totals are exact integers, so this comparison is exact
    n_dropped = int(n_boot - keep.sum())
    if n_dropped > n_boot / 2:
        lo = hi = float("nan")
    else:
        ratios = (student[keep] - weak[keep]) / (ceiling[keep] - weak[keep])
        lo, hi = percentile_ci(ratios, alpha)
    return Estimate(value, lo, hi, n_items, n_seeds, int(n_boot), alpha, n_dropped)


def bootstrap_sums(
    arrays: Sequence[ArrayLike],
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> Estimate:
    """A statistic of per-seed sums of several arrays, with the paired two-level bootstrap CI.

    ``arrays`` share one shape, ``[n_items]`` or ``[n_seeds, n_items]`` (finite reals, e.g. 0/1
    indicators). ``combine(seed_counts [r, n_seeds], sums [r, len(arrays), n_seeds])`` returns one
    value per replicate, where ``sums`` are each seed's sums over the resampled items (every item
    count sums to ``n_items``) and ``seed_counts`` how often each seed was drawn; the point value is
    ``combine`` of the plain sums with every count 1. Replicates where it is nan (an empty condition)
    are dropped and counted; more than half dropped gives nan bounds.
    """
    check_args(n_boot, alpha)
    mats = [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in arrays]
    if not mats or len({m.shape for m in mats}) != 1 or mats[0].ndim != 2 or mats[0].size == 0:
        raise ValueError(f"arrays must share one non-empty 1-D or 2-D shape, got {[m.shape for m in mats]}")
    if not all(np.all(np.isfinite(m)) for m in mats):
        raise ValueError("arrays must be finite")
    n_seeds, n_items = mats[0].shape
    counts, sums = resampled_sums(mats, n_boot, np.random.default_rng(seed))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(combine(np.ones((1, n_seeds)), np.stack(mats).sum(axis=2)[None])[0])
        samples = np.asarray(combine(counts, sums), dtype=np.float64)
    keep = np.isfinite(samples)
    n_dropped = int(n_boot - keep.sum())
    lo, hi = (float("nan"),) * 2 if n_dropped > n_boot / 2 else percentile_ci(samples[keep], alpha)
    return Estimate(value, lo, hi, n_items, n_seeds, int(n_boot), alpha, n_dropped)


def bootstrap_ratio(numerator: ArrayLike, denominator: ArrayLike, **boot: Any) -> Estimate:
    """Ratio of sums, ``sum(numerator) / sum(denominator)`` over every (seed, item) cell, with the
    paired two-level bootstrap CI of :func:`bootstrap_sums` (``boot``: n_boot, alpha, seed).

    With 0/1 indicators ``numerator = event & condition`` and ``denominator = condition`` this is the
    conditional rate P(event | condition) pooled over seeds; nan when the condition never holds.
    """
    def ratio(counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
        totals = np.einsum("rs,rks->rk", counts, sums)
        return totals[:, 0] / totals[:, 1]  # 0 / 0 is nan: that replicate is dropped

    return bootstrap_sums([numerator, denominator], ratio, **boot)


def bootstrap_mean(
    values: ArrayLike,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> Estimate:
    """Mean of real-valued per-item values with a percentile bootstrap CI.

    ``values`` is ``[n_items]`` or ``[n_seeds, n_items]`` (e.g. a per-item probability
    difference); with seeds, each resample draws seeds, then items (two levels), like
    ``bootstrap_accuracy``.
    """
    check_args(n_boot, alpha)
    arr = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"values must be a non-empty [n_items] or [n_seeds, n_items] array, got {np.shape(values)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite")
    n_seeds, n_items = arr.shape
    rng = np.random.default_rng(seed)
    samples = np.empty(n_boot)
    for b in range(n_boot):
        rows = rng.integers(0, n_seeds, n_seeds)
        cols = rng.integers(0, n_items, n_items)
        samples[b] = arr[np.ix_(rows, cols)].mean()
    lo, hi = percentile_ci(samples, alpha)
    return Estimate(float(arr.mean()), lo, hi, n_items, n_seeds, n_boot, alpha)


def paired_difference(
    a_correct: ArrayLike,
    b_correct: ArrayLike,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> Estimate:
    """Accuracy of A minus accuracy of B on the same items, with a paired bootstrap CI.

    Both arrays share one shape (``[n_items]`` or ``[n_seeds, n_items]``). A CI that
    excludes 0 means A and B differ at level ``1 - alpha`` on this test set.
    """
    check_args(n_boot, alpha)
    a = _as_matrix(a_correct, "a_correct")
    b = _as_matrix(b_correct, "b_correct")
    if a.shape != b.shape:
        raise ValueError(f"a and b shapes differ: {a.shape} vs {b.shape}")
    n_seeds, n_items = a.shape
    rng = np.random.default_rng(seed)
    totals = resampled_totals([a, b], n_boot, rng, paired=True)
    diffs = (totals[:, 0] - totals[:, 1]) / a.size
    lo, hi = percentile_ci(diffs, alpha)
    value = float(a.mean() - b.mean())
    return Estimate(value, lo, hi, n_items, n_seeds, int(n_boot), alpha)
