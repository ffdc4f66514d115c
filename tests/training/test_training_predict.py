"""predict_proba: save/load round trip, batch-size invariance, input order, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from training.models import ModelSpec, load_classifier
from training.predict import predict_proba, predict_proba_loaded


@pytest.fixture(scope="module")
def classifier(tiny_model_dir: Path):
    """The tiny model with a randomly initialised (seeded) head, scaled up so outputs vary."""
    torch.manual_seed(5)
    model, tokenizer = load_classifier(ModelSpec(str(tiny_model_dir)))
    with torch.no_grad():
        model.score.weight.mul_(50.0)  # spread P(label 1) away from 0.5 so differences show
    return model, tokenizer


@pytest.fixture(scope="module")
def saved_classifier(classifier, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, tokenizer = classifier
    out = tmp_path_factory.mktemp("saved") / "clf"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_save_load_round_trip_gives_same_predictions(classifier, saved_classifier: Path, toy_task) -> None:
    model, tokenizer = classifier
    texts, _ = toy_task(24, seed=10)
    in_memory = predict_proba_loaded(model, tokenizer, texts, bf16=False)
    reloaded = predict_proba(saved_classifier, texts, bf16=False)
    assert reloaded.dtype == np.float64 and reloaded.shape == (24,)
    np.testing.assert_allclose(reloaded, in_memory, atol=1e-6)
    assert in_memory.std() > 0.01  # the check above would be empty if every output were equal


def test_batch_size_does_not_change_results(saved_classifier: Path, toy_task) -> None:
    texts, _ = toy_task(23, seed=11)  # lengths vary, so batches carry different padding
    one = predict_proba(saved_classifier, texts, batch_size=1, bf16=False)
    five = predict_proba(saved_classifier, texts, batch_size=5, bf16=False)
    everything = predict_proba(saved_classifier, texts, batch_size=64, bf16=False)
    np.testing.assert_allclose(five, one, atol=1e-5)
    np.testing.assert_allclose(everything, one, atol=1e-5)


def test_order_is_preserved(saved_classifier: Path, toy_task) -> None:
    texts, _ = toy_task(17, seed=12)
    forward = predict_proba(saved_classifier, texts, batch_size=4, bf16=False)
    backward = predict_proba(saved_classifier, texts[::-1], batch_size=4, bf16=False)
    np.testing.assert_allclose(backward[::-1], forward, atol=1e-5)
    singles = [predict_proba(saved_classifier, [t], bf16=False)[0] for t in texts[:4]]
    np.testing.assert_allclose(forward[:4], singles, atol=1e-5)
    assert len(set(np.round(forward, 4))) > 5  # outputs differ per text, so order matters


def test_bf16_is_close_to_fp32(saved_classifier: Path, toy_task) -> None:
    texts, _ = toy_task(8, seed=13)
    fp32 = predict_proba(saved_classifier, texts, bf16=False)
    bf16 = predict_proba(saved_classifier, texts, bf16=True)
    np.testing.assert_allclose(bf16, fp32, atol=0.1)


def test_probabilities_are_in_unit_interval(saved_classifier: Path, toy_task) -> None:
    probs = predict_proba(saved_classifier, toy_task(16, seed=14)[0])
    assert np.all((probs >= 0) & (probs <= 1))


def test_accepts_spec_and_truncation(tiny_model_dir: Path) -> None:
    probs = predict_proba(ModelSpec(str(tiny_model_dir), num_hidden_layers=1), ["the movie was good"])
    assert probs.shape == (1,)


def test_empty_input_gives_empty_output(saved_classifier: Path) -> None:
    assert predict_proba(saved_classifier, []).shape == (0,)


def test_long_texts_are_truncated(saved_classifier: Path) -> None:
    long_text = " ".join(["good"] * 400)  # longer than max_position_embeddings (256)
    probs = predict_proba(saved_classifier, [long_text], max_length=32, bf16=False)
    same = predict_proba(saved_classifier, [" ".join(["good"] * 32)], bf16=False)
    np.testing.assert_allclose(probs, same, atol=1e-6)


def test_errors(saved_classifier: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing-ckpt"):
        predict_proba(tmp_path / "missing-ckpt", ["a"])
    with pytest.raises(TypeError, match="single string"):
        predict_proba(saved_classifier, "the movie was good")
    with pytest.raises(ValueError, match="zero tokens"):
        predict_proba(saved_classifier, ["good", ""])
    with pytest.raises(ValueError, match="batch_size"):
        predict_proba(saved_classifier, ["good"], batch_size=0)
