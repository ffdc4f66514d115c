"""Binary ECE, Brier score and reliability curves: hand-computed values, bins, seeds, bootstrap CIs."""

import numpy as np
import pytest

from eval.calibration import (
    N_BINS,
    bin_index,
    bootstrap_brier,
    bootstrap_ece,
    brier_score,
    expected_calibration_error,
    reliability_curve,
)

P = np.array([0.05, 0.10, 0.30, 0.35, 0.70, 0.80, 0.95, 0.99])
Y = np.array([0, 0, 1, 0, 1, 0, 1, 1])


def test_fifteen_equal_width_bins_lower_edge_inclusive():
    assert N_BINS == 15
    # floor(p * 15): 0.75 -> 0, 1.5 -> 1, 4.5 -> 4, 5.25 -> 5, 10.5 -> 10, 12 -> 12, 14.25 -> 14, 14.85 -> 14
    assert bin_index(P).tolist() == [0, 1, 4, 5, 10, 12, 14, 14]
    assert bin_index([0.0, 0.2, 1.0], 5).tolist() == [0, 1, 4]  # the last bin holds p = 1


def test_ece_by_hand_with_15_bins():
    # per-bin sums of (y - p): -0.05, -0.10, +0.70, -0.35, +0.30, -0.80, (0.05 + 0.01); |.| summed = 2.36
    assert expected_calibration_error(P, Y) == pytest.approx(2.36 / 8)


def test_ece_by_hand_with_2_bins():
    # [0, 0.5): sum(y) - sum(p) = 1 - 0.80 = 0.20; [0.5, 1]: 3 - 3.44 = -0.44 -> (0.20 + 0.44) / 8
    assert expected_calibration_error(P, Y, n_bins=2) == pytest.approx(0.08)
    mean_p, freq, counts = reliability_curve(P, Y, n_bins=2)
    assert mean_p == pytest.approx([0.20, 0.86]) and freq == pytest.approx([0.25, 0.75])
    assert counts.tolist() == [4, 4]


def test_perfectly_calibrated_and_certain_predictions():
    y = np.array([1, 0, 1, 0])
    assert expected_calibration_error(y.astype(float), y) == 0.0 and brier_score(y.astype(float), y) == 0.0
    assert expected_calibration_error(1.0 - y, y) == 1.0 and brier_score(1.0 - y, y) == 1.0
    # p = 0.5 on a balanced set: one bin whose mean label is 0.5
    assert expected_calibration_error(np.full(4, 0.5), y) == 0.0 and brier_score(np.full(4, 0.5), y) == 0.25


def test_brier_by_hand():
    squared = [0.05**2, 0.10**2, 0.70**2, 0.35**2, 0.30**2, 0.80**2, 0.05**2, 0.01**2]
    assert brier_score(P, Y) == pytest.approx(sum(squared) / 8) == pytest.approx(0.1697)


def test_seeds_ece_is_the_mean_of_per_seed_eces_and_brier_the_cell_mean():
    other = np.array([0.9, 0.2, 0.6, 0.1, 0.4, 0.3, 0.8, 0.7])
    stacked = np.stack([P, other])
    assert expected_calibration_error(stacked, Y) == pytest.approx(
        (expected_calibration_error(P, Y) + expected_calibration_error(other, Y)) / 2)
    assert brier_score(stacked, Y) == pytest.approx((brier_score(P, Y) + brier_score(other, Y)) / 2)


def test_bootstrap_values_are_the_point_values_and_cis_bracket_them():
    rng = np.random.default_rng(0)
    probs = rng.random((3, 200))
    labels = (rng.random(200) < 0.5).astype(int)  # independent of probs: badly calibrated
    ece = bootstrap_ece(probs, labels, n_boot=400, seed=1)
    brier = bootstrap_brier(probs, labels, n_boot=400, seed=1)
    assert ece.value == pytest.approx(expected_calibration_error(probs, labels))
    assert brier.value == pytest.approx(brier_score(probs, labels))
    for est in (ece, brier):
        assert est.lo <= est.value <= est.hi and (est.n_seeds, est.n_items, est.n_boot) == (3, 200, 400)
    assert bootstrap_ece(probs, labels, n_boot=400, seed=1) == ece  # deterministic given the seed


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        expected_calibration_error([0.2, 1.2], [0, 1])
    with pytest.raises(ValueError):
        brier_score([0.2, np.nan], [0, 1])
    with pytest.raises(ValueError):
        brier_score([0.2, 0.3], [0, 2])
    with pytest.raises(ValueError):
        expected_calibration_error([0.2, 0.3, 0.4], [0, 1])
