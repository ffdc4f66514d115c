"""PGR point values and the behaviour of the paired PGR bootstrap."""

import math

import numpy as np
import pytest

from eval.stats import bootstrap_pgr, pgr


def test_pgr_hand_computed():
    assert pgr(0.6, 0.8, 0.7) == pytest.approx(0.5)
    assert pgr(0.6, 0.8, 0.6) == pytest.approx(0.0)
    assert pgr(0.6, 0.8, 0.8) == pytest.approx(1.0)
    assert pgr(0.6, 0.8, 0.5) == pytest.approx(-0.5)


def test_pgr_student_above_ceiling_exceeds_one():
    value = pgr(0.6, 0.8, 0.9)
    assert value > 1
    assert value == pytest.approx(1.5)


def test_pgr_undefined_cases_are_nan():
    assert math.isnan(pgr(0.7, 0.7, 0.8))
    assert math.isnan(pgr(0.1 + 0.2, 0.3, 0.5))  # equal up to float rounding
    assert math.isnan(pgr(float("nan"), 0.8, 0.7))


def test_bootstrap_pgr_point_value_is_pgr_of_means():
    weak = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])      # 0.2
    ceiling = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0])   # 0.6
    student = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])   # 0.4
    est = bootstrap_pgr(weak, ceiling, student, n_boot=500, seed=1)
    assert est.value == pytest.approx(0.5)
    assert est.lo <= est.value <= est.hi
    assert (est.n_items, est.n_seeds, est.n_boot) == (10, 1, 500)


def test_bootstrap_pgr_drops_and_counts_resamples_with_no_gap():
    n = 10
    weak = np.zeros(n, dtype=bool)
    weak[0] = True
    ceiling = weak.copy()
    ceiling[1] = True      # the only item where ceiling and weak differ
    student = weak.copy()
    est = bootstrap_pgr(weak, ceiling, student, n_boot=2000, seed=3)
    # A resample has ceiling == weak exactly when item 1 is never drawn: (1 - 1/n)^n = 0.349.
    expected = 2000 * (1 - 1 / n) ** n
    assert abs(est.n_dropped - expected) < 100   # ~4.6 binomial SDs
    assert math.isfinite(est.lo) and math.isfinite(est.hi)


def test_bootstrap_pgr_nan_bounds_when_most_resamples_dropped():
    same = np.array([1, 0, 1, 1, 0, 1], dtype=bool)
    est = bootstrap_pgr(same, same, ~same, n_boot=300, seed=0)
    assert math.isnan(est.value)
    assert est.n_dropped == 300
    assert math.isnan(est.lo) and math.isnan(est.hi)


def test_bootstrap_pgr_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        bootstrap_pgr(np.ones(5), np.ones(5), np.ones(6))
    with pytest.raises(ValueError):
        bootstrap_pgr(np.ones((2, 5)), np.ones((2, 5)), np.ones(5))


def _correlated_models(n_items: int, rng: np.random.Generator):
    """Weak/ceiling/student correctness driven by one shared item difficulty."""
    difficulty = rng.random(n_items)
    weak = difficulty < 0.60
    student = difficulty < 0.70
    ceiling = difficulty < 0.80
    return weak, ceiling, student


def test_pairing_narrows_the_pgr_interval():
    weak, ceiling, student = _correlated_models(400, np.random.default_rng(11))
    paired = bootstrap_pgr(weak, ceiling, student, n_boot=1000, seed=5)
    unpaired = bootstrap_pgr(weak, ceiling, student, n_boot=1000, seed=5, paired=False)
    assert paired.value == pytest.approx(unpaired.value)
    # Shared difficulty cancels in paired resamples; independent resamples keep all of it.
    assert (paired.hi - paired.lo) < 0.6 * (unpaired.hi - unpaired.lo)


def test_bootstrap_pgr_seed_matrix_reports_seeds():
    rng = np.random.default_rng(2)
    runs = [_correlated_models(200, rng) for _ in range(3)]
    weak, ceiling, student = (np.stack([r[k] for r in runs]) for k in range(3))
    est = bootstrap_pgr(weak, ceiling, student, n_boot=400, seed=0)
    assert (est.n_seeds, est.n_items) == (3, 200)
    assert est.value == pytest.approx(pgr(weak.mean(), ceiling.mean(), student.mean()))
    assert est.lo < est.value < est.hi
