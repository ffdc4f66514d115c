"""Bootstrap accuracy and paired differences: values, determinism, 2-D (seeds x items) input."""

import numpy as np
import pytest

from eval.stats import Estimate, bootstrap_accuracy, paired_difference


def test_bootstrap_accuracy_value_and_width():
    rng = np.random.default_rng(0)
    correct = rng.random(1000) < 0.7
    est = bootstrap_accuracy(correct, n_boot=2000, seed=1)
    assert est.value == pytest.approx(correct.mean())
    assert est.lo < est.value < est.hi
    p = correct.mean()
    normal_width = 2 * 1.96 * np.sqrt(p * (1 - p) / correct.size)
    assert (est.hi - est.lo) == pytest.approx(normal_width, rel=0.15)
    assert (est.n_items, est.n_seeds, est.n_boot, est.alpha) == (1000, 1, 2000, 0.05)


def test_bootstrap_is_deterministic_given_seed():
    correct = np.random.default_rng(4).random(300) < 0.6
    a = bootstrap_accuracy(correct, n_boot=300, seed=9)
    b = bootstrap_accuracy(correct, n_boot=300, seed=9)
    c = bootstrap_accuracy(correct, n_boot=300, seed=10)
    assert a == b
    assert (a.lo, a.hi) != (c.lo, c.hi)


def test_alpha_controls_interval_width():
    correct = np.random.default_rng(4).random(500) < 0.6
    wide = bootstrap_accuracy(correct, n_boot=1000, alpha=0.05)
    narrow = bootstrap_accuracy(correct, n_boot=1000, alpha=0.5)
    assert (narrow.hi - narrow.lo) < 0.6 * (wide.hi - wide.lo)


def test_seed_matrix_reports_seeds_and_adds_seed_variance():
    rng = np.random.default_rng(3)
    rates = np.array([0.5, 0.6, 0.7, 0.8])[:, None]
    correct = rng.random((4, 500)) < rates       # seeds disagree a lot
    est = bootstrap_accuracy(correct, n_boot=1000, seed=0)
    assert (est.n_seeds, est.n_items) == (4, 500)
    assert est.value == pytest.approx(correct.mean())
    flat = bootstrap_accuracy(correct.ravel(), n_boot=1000, seed=0)
    # Treating 4 x 500 entries as 2,000 independent items ignores between-seed variance.
    assert (est.hi - est.lo) > 2 * (flat.hi - flat.lo)


def test_one_seed_matrix_equals_vector():
    correct = np.random.default_rng(5).random(250) < 0.65
    assert bootstrap_accuracy(correct, n_boot=200) == bootstrap_accuracy(correct[None], n_boot=200)


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        bootstrap_accuracy([])
    with pytest.raises(ValueError):
        bootstrap_accuracy([0.2, 0.9])
    with pytest.raises(ValueError):
        bootstrap_accuracy(np.ones((2, 2, 2)))
    with pytest.raises(ValueError):
        bootstrap_accuracy([1, 0], alpha=1.5)
    with pytest.raises(ValueError):
        bootstrap_accuracy([1, 0], n_boot=0)


def test_paired_difference_sign_and_interval():
    rng = np.random.default_rng(8)
    difficulty = rng.random(1000)
    a = difficulty < 0.75
    b = difficulty < 0.70       # a is right on every item b is right on, plus 5% more
    est = paired_difference(a, b, n_boot=1000, seed=0)
    assert est.value == pytest.approx(a.mean() - b.mean())
    assert est.value > 0 and est.lo > 0          # paired CI excludes zero
    flipped = paired_difference(b, a, n_boot=1000, seed=0)
    assert flipped.value == pytest.approx(-est.value)
    assert flipped.hi < 0


def test_paired_difference_of_identical_arrays_is_exactly_zero():
    a = np.random.default_rng(1).random((2, 100)) < 0.5
    est = paired_difference(a, a.copy(), n_boot=200)
    assert (est.value, est.lo, est.hi) == (0.0, 0.0, 0.0)
    assert est.n_seeds == 2
    with pytest.raises(ValueError):
        paired_difference(a, a[0])


def test_estimate_fmt_and_dict_round_trip():
    est = Estimate(0.729, 0.701, 0.756, n_items=1000, n_seeds=3, n_boot=2000)
    assert est.fmt() == "72.9 [70.1, 75.6]"
    assert est.fmt(pct=False) == "0.729 [0.701, 0.756]"
    assert Estimate(0.5, float("nan"), float("nan"), 10, 1, 100).fmt() == "50.0 [n/a, n/a]"
    d = est.to_dict()
    assert d["value"] == 0.729 and d["n_seeds"] == 3 and d["alpha"] == 0.05
    assert Estimate.from_dict(d) == est


def test_bootstrap_mean_of_real_values() -> None:
    from eval import bootstrap_mean

    values = np.array([0.1, -0.2, 0.3, 0.0])
    est = bootstrap_mean(values, n_boot=500, seed=1)
    assert est.value == pytest.approx(0.05)
    assert est.lo <= 0.05 <= est.hi and est.lo >= -0.2 and est.hi <= 0.3
    constant = bootstrap_mean(np.full((2, 5), 0.25), n_boot=50)
    assert (constant.lo, constant.value, constant.hi) == (0.25, 0.25, 0.25) and constant.n_seeds == 2
    with pytest.raises(ValueError, match="finite"):
        bootstrap_mean([0.1, float("nan")])


def test_bootstrap_mean_covers_the_true_mean_at_about_the_nominal_rate() -> None:
    from eval import bootstrap_mean

    rng = np.random.default_rng(7)
    covered = sum(
        (lambda e: e.lo <= 0.1 <= e.hi)(bootstrap_mean(rng.normal(0.1, 0.3, 200), n_boot=300, seed=i))
        for i in range(150)
    )
    assert 0.88 <= covered / 150 <= 0.99


def test_ratio_of_sums_is_a_conditional_rate_with_the_accuracy_draws():
    from eval.stats import bootstrap_ratio

    rng = np.random.default_rng(7)
    event, condition = rng.random((3, 200)) < 0.5, rng.random((3, 200)) < 0.4
    est = bootstrap_ratio(event & condition, condition, n_boot=500, seed=2)
    assert est.value == pytest.approx((event & condition).sum() / condition.sum())
    assert est.lo < est.value < est.hi and (est.n_seeds, est.n_items) == (3, 200)
    # a condition that always holds gives the accuracy bootstrap exactly (the same seed and item draws)
    plain = bootstrap_accuracy(event, n_boot=500, seed=2)
    assert bootstrap_ratio(event, np.ones((3, 200)), n_boot=500, seed=2) == plain


def test_ratio_drops_replicates_without_the_condition():
    from eval.stats import bootstrap_ratio

    condition = np.zeros(20)
    condition[0] = 1
    est = bootstrap_ratio(condition, condition, n_boot=400, seed=0)
    assert est.value == 1.0 and est.n_dropped > 100  # item 0 missing from about 36% of the resamples
    never = bootstrap_ratio(np.zeros(5), np.zeros(5), n_boot=50)
    assert np.isnan([never.value, never.lo, never.hi]).all() and never.n_dropped == 50
