"""Training-test helpers: the keyword toy task, the tiny model's layer count, one torch thread.

The tiny random checkpoint itself (`tiny_model_dir`) comes from tests/conftest.py."""

from __future__ import annotations

import random

import pytest
import torch

TINY_LAYERS = 3  # the layer count of the session fixture `tiny_model_dir` (tests/conftest.py)


@pytest.fixture(scope="session")
def tiny_num_layers() -> int:
    """Number of transformer layers in the tiny checkpoint."""
    return TINY_LAYERS


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tests share a small machine: keep torch on one thread, restore afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


FILLER = "the a movie film book food was is really quite very it this that plot actors story".split()


def make_toy_task(n: int, seed: int) -> tuple[list[str], list[float]]:
    """Texts of filler words with one keyword at a random place: "good" -> 1.0, "bad" -> 0.0."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 9))]
        positive = rng.random() < 0.5
        words.insert(rng.randint(0, len(words)), "good" if positive else "bad")
        texts.append(" ".join(words))
        labels.append(1.0 if positive else 0.0)
    return texts, labels


@pytest.fixture(scope="session")
def toy_task():
    """The keyword task generator: ``toy_task(n, seed) -> (texts, labels)``."""
    return make_toy_task
