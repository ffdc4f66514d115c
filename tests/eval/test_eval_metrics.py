"""Per-item metrics on hand-computed examples."""

import math

import numpy as np
import pytest

from eval.metrics import accuracy, auroc, correctness


def test_correctness_thresholds_strictly_above():
    probs = [0.9, 0.2, 0.5, 0.51]
    labels = [1, 1, 0, 1]
    # 0.5 is not > 0.5, so it predicts 0, which matches label 0.
    assert correctness(probs, labels).tolist() == [True, False, True, True]
    assert correctness(probs, labels, threshold=0.95).tolist() == [False, False, True, False]
    assert accuracy(probs, labels) == pytest.approx(0.75)


def test_correctness_accepts_bool_labels_and_seed_matrix():
    probs = np.array([[0.9, 0.1, 0.8], [0.2, 0.3, 0.7]])
    labels = np.array([True, False, False])
    out = correctness(probs, labels)
    assert out.shape == (2, 3)
    assert out.tolist() == [[True, True, False], [False, True, False]]
    assert accuracy(probs, labels) == pytest.approx(3 / 6)


def test_correctness_rejects_soft_labels_and_bad_shapes():
    with pytest.raises(ValueError):
        correctness([0.2, 0.7], [0.3, 1.0])
    with pytest.raises(ValueError):
        correctness([0.2, 0.7, 0.1], [0, 1])
    with pytest.raises(ValueError):
        accuracy([], [])


def test_auroc_hand_computed():
    # Positives 0.35, 0.8; negatives 0.1, 0.4. Pairs won: 0.35>0.1, 0.8>0.1, 0.8>0.4 -> 3/4.
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == pytest.approx(1.0)
    assert auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == pytest.approx(0.0)


def test_auroc_ties_count_half():
    # Positives 0.5, 0.9; negatives 0.5, 0.5. Pairs: 0.5 vs 0.5 twice (1/2 each), 0.9 wins twice.
    assert auroc([0.5, 0.5, 0.5, 0.9], [0, 1, 0, 1]) == pytest.approx(3 / 4)
    assert auroc([0.3] * 6, [0, 1, 0, 1, 1, 0]) == pytest.approx(0.5)


def test_auroc_matches_pairwise_count_with_many_ties():
    rng = np.random.default_rng(7)
    probs = np.round(rng.random(60), 1)  # only 11 distinct values: many ties
    labels = rng.random(60) < 0.4
    pos, neg = probs[labels], probs[~labels]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert auroc(probs, labels) == pytest.approx(wins / (pos.size * neg.size))


def test_auroc_single_class_is_nan():
    assert math.isnan(auroc([0.1, 0.7, 0.9], [1, 1, 1]))
    assert math.isnan(auroc([0.1, 0.7], [False, False]))


def test_position_bias_is_the_first_speakers_advantage() -> None:
    from eval import position_bias

    # item 0: A argued correct; judge gave 0.9 with A correct, 0.6 when swapped (B correct) -> +0.3 for A
    # item 1: A argued incorrect (B correct); judge gave 0.4 original, 0.7 swapped (A correct) -> +0.3 for A
    bias = position_bias([0.9, 0.4], [0.6, 0.7], [True, False])
    np.testing.assert_allclose(bias, [0.3, 0.3])
    np.testing.assert_allclose(position_bias([0.5, 0.2], [0.5, 0.2], [True, False]), [0.0, 0.0])
    with pytest.raises(ValueError, match="shapes differ"):
        position_bias([0.1], [0.1, 0.2], [True])
