"""The reference classifier: it finds a planted signal, finds nothing in noise, is deterministic, checks inputs."""

import numpy as np
import pytest

from eval.transcript_probe import ProbeSettings, featurize, fit_probe

VOCABULARY = [f"word{i}" for i in range(300)]


def noisy_texts(labels: np.ndarray, rng: np.random.Generator, planted: bool) -> list[str]:
    """Forty random words per text; with ``planted`` one extra word says the label (``alpha`` = 1, ``omega`` = 0)."""
    texts = []
    for label in labels:
        words = list(rng.choice(VOCABULARY, 40))
        if planted:
            words.insert(int(rng.integers(0, 40)), "Alpha" if label else "omega")
        texts.append(" ".join(words))
    return texts


def split(planted: bool, seed: int = 0) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    train_y, test_y = rng.integers(0, 2, 200), rng.integers(0, 2, 400)
    return noisy_texts(train_y, rng, planted), train_y, noisy_texts(test_y, rng, planted), test_y


def test_it_learns_a_planted_word_that_flips_with_the_label() -> None:
    train, train_y, test, test_y = split(planted=True)
    probe = fit_probe(train, train_y, seed=0)
    assert probe.converged and probe.n_train == 200
    probs = probe.predict_proba(test)
    assert probs.shape == (400,) and np.all((probs > 0) & (probs < 1))
    assert np.mean((probs > 0.5) == test_y) > 0.9


def test_it_stays_near_chance_when_the_labels_carry_no_signal() -> None:
    train, train_y, test, test_y = split(planted=False, seed=1)
    probe = fit_probe(train, train_y, seed=0)
    assert probe.train_accuracy > 0.9  # it can memorise 200 noisy texts ...
    assert 0.4 < np.mean((probe.predict_proba(test) > 0.5) == test_y) < 0.6  # ... which does not generalise

    planted_train, planted_y, planted_test, planted_test_y = split(planted=True, seed=2)
    shuffled = np.random.default_rng(3).permutation(planted_y)  # the planted word no longer matches the label
    probe = fit_probe(planted_train, shuffled, seed=0)
    assert 0.4 < np.mean((probe.predict_proba(planted_test) > 0.5) == planted_test_y) < 0.6


def test_fits_are_deterministic_and_the_seed_only_salts_the_hash() -> None:
    train, train_y, test, _ = split(planted=True)
    first, again = fit_probe(train, train_y, seed=5), fit_probe(train, train_y, seed=5)
    np.testing.assert_array_equal(first.weights, again.weights)
    np.testing.assert_array_equal(first.predict_proba(test), again.predict_proba(test))
    other = fit_probe(train, train_y, seed=6)
    assert not np.array_equal(first.weights, other.weights)  # other columns ...
    assert np.mean((first.predict_proba(test) > 0.5) == (other.predict_proba(test) > 0.5)) > 0.95  # ... same reader


def test_features_are_signed_log_counts_of_unigrams_and_bigrams_with_unit_norm() -> None:
    settings = ProbeSettings(dims=2**20)
    features = featurize(["The cat the cat", "", "!!"], settings, seed=0)
    assert features.n_rows == 3 and set(features.rows.tolist()) == {0}  # texts without words are all-zero rows
    # "the" x2, "cat" x2, "the cat" x2, "cat the" x1: four distinct n-grams (no collision at 2**20 columns).
    assert sorted(np.abs(features.vals) * np.sqrt(3 * np.log1p(2) ** 2 + np.log1p(1) ** 2)) == pytest.approx(
        sorted([np.log1p(1)] + [np.log1p(2)] * 3)
    )
    assert np.linalg.norm(features.vals) == pytest.approx(1.0)
    unigrams = featurize(["The cat the cat"], ProbeSettings(dims=2**20, ngram_orders=(1,)), seed=0)
    assert len(unigrams.vals) == 2


def test_it_rejects_mismatched_lengths_and_one_class_labels() -> None:
    with pytest.raises(ValueError, match="one label per text"):
        fit_probe(["a", "b", "c"], [0, 1])
    with pytest.raises(ValueError, match="both classes"):
        fit_probe(["a", "b", "c"], [1, 1, 1])
    with pytest.raises(ValueError, match="binary"):
        fit_probe(["a", "b"], [0.2, 0.9])
    with pytest.raises(ValueError, match="at least one"):
        fit_probe([], [])
    with pytest.raises(ValueError, match="l2"):
        ProbeSettings(l2=0)
