"""The resampling every bootstrap in ``eval`` shares: seeds, then test items, as multiplicity counts.

A replicate draws training seeds with replacement, then test items with replacement (one item draw
shared by every seed of the replicate, because the seeds share one test set), and is represented by
how often each seed / item was drawn, so a resampled sum is ``seed_counts @ (item_counts @ values.T)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_CELLS_PER_CHUNK", "check_args", "draw_counts", "resampled_sums", "resampled_totals", "percentile_ci"]

# Upper bound on the number of count entries held in memory per chunk of replicates.
MAX_CELLS_PER_CHUNK = 4_000_000


def check_args(n_boot: int, alpha: float) -> None:
    """Reject a non-positive replicate count or an alpha outside (0, 1)."""
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def draw_counts(rng: np.random.Generator, n: int, reps: int) -> np.ndarray:
    """Multiplicity counts ``[reps, n]`` of ``n`` draws with replacement from ``n`` units."""
    if n == 1:
        return np.ones((reps, 1))
    idx = rng.integers(0, n, size=(reps, n))
    flat = idx + (np.arange(reps) * n)[:, None]
    return np.bincount(flat.ravel(), minlength=reps * n).reshape(reps, n).astype(np.float64)


def resampled_sums(mats: list[np.ndarray], n_boot: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One paired draw per replicate: seed counts ``[n_boot, n_seeds]`` and every array's sum per seed
    over the resampled items ``[n_boot, len(mats), n_seeds]`` (the item draw is shared by all seeds)."""
    n_seeds, n_items = mats[0].shape
    chunk = max(1, min(n_boot, MAX_CELLS_PER_CHUNK // max(n_items, n_seeds)))
    seed_counts, sums = np.empty((n_boot, n_seeds)), np.empty((n_boot, len(mats), n_seeds))
    for start in range(0, n_boot, chunk):
        reps = min(chunk, n_boot - start)
        seed_counts[start:start + reps] = draw_counts(rng, n_seeds, reps)
        item_counts = draw_counts(rng, n_items, reps)
        for j, mat in enumerate(mats):
            sums[start:start + reps, j] = item_counts @ mat.T
    return seed_counts, sums


def resampled_totals(
    mats: list[np.ndarray], n_boot: int, rng: np.random.Generator, paired: bool = True
) -> np.ndarray:
    """Total correct count per replicate and array: ``[n_boot, len(mats)]``.

    Divide by ``n_seeds * n_items`` for the resampled mean. With ``paired`` every array
    uses the same seed/item counts in a replicate; otherwise each draws its own.
    """
    if not paired:
        return np.concatenate([resampled_totals([m], n_boot, rng) for m in mats], axis=1)
    seed_counts, sums = resampled_sums(mats, n_boot, rng)
    return np.einsum("rs,rks->rk", seed_counts, sums)


def percentile_ci(samples: np.ndarray, alpha: float) -> tuple[float, float]:
    """The (alpha / 2, 1 - alpha / 2) quantiles of the replicates."""
    lo, hi = np.quantile(samples, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)
