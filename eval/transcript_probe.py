"""A cheap reference classifier over text: hashed word n-grams and an L2-regularised logistic regression.

It answers one question about a set of texts: do they carry information about a binary label
that a simple reader can pick up? Nothing here knows what the texts are; callers choose them
(for example a judge's input with and without a debate transcript) and compare the accuracies.

Features: the text is lower-cased and split into word tokens (``\\w+``); every n-gram of the
configured orders (unigrams and bigrams by default) is hashed into ``dims`` columns with a
random sign (signed feature hashing, so colliding n-grams tend to cancel instead of adding up).
Each n-gram contributes ``log1p(count)``; every row is scaled to unit L2 norm.

Model: logistic regression with an unpenalised intercept, minimising
``sum of log-losses + l2 / 2 * ||w||^2`` (``l2 = 1`` is scikit-learn's default ``C = 1``),
by L-BFGS from zero. The solver is deterministic; ``seed`` only salts the feature hash, so two
seeds differ just in which n-grams collide.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ProbeSettings", "HashedFeatures", "ProbeModel", "featurize", "fit_probe"]

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class ProbeSettings:
    """What the reference classifier reads and how hard it is regularised."""

    dims: int = 2**16  # hashed feature columns
    ngram_orders: tuple[int, ...] = (1, 2)  # unigrams and bigrams of word tokens
    l2: float = 1.0  # penalty on the summed log-loss (scikit-learn's C = 1)
    max_iter: int = 500
    tol: float = 1e-6  # stop when the largest gradient entry (of the mean loss) is below this

    def __post_init__(self) -> None:
        if self.dims < 2:
            raise ValueError(f"dims must be at least 2, got {self.dims}")
        if not self.ngram_orders or min(self.ngram_orders) < 1:
            raise ValueError(f"ngram_orders must be positive orders, got {self.ngram_orders}")
        if self.l2 <= 0:
            raise ValueError(f"l2 must be positive, got {self.l2}")


@dataclass(frozen=True)
class HashedFeatures:
    """A sparse ``[n_rows, dims]`` matrix as coordinate lists (row, column, value per nonzero)."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    n_rows: int
    dims: int

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """``X @ weights``: one score per row."""
        return np.bincount(self.rows, weights=self.vals * weights[self.cols], minlength=self.n_rows)

    def transpose_dot(self, per_row: np.ndarray) -> np.ndarray:
        """``X.T @ per_row``: one value per column."""
        return np.bincount(self.cols, weights=self.vals * per_row[self.rows], minlength=self.dims)


def _ngrams(text: str, orders: Sequence[int]) -> Counter[str]:
    """Counts of the text's lower-cased word n-grams of each order."""
    tokens = _WORD.findall(text.lower())
    return Counter(" ".join(tokens[i:i + n]) for n in orders for i in range(len(tokens) - n + 1))


def _hash_ngram(ngram: str, seed: int, dims: int) -> tuple[int, float]:
    """Column and sign of one n-gram (BLAKE2b, salted by ``seed``; stable across processes)."""
    digest = hashlib.blake2b(f"{seed}\x00{ngram}".encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dims, -1.0 if value >> 63 else 1.0


def featurize(texts: Sequence[str], settings: ProbeSettings, seed: int) -> HashedFeatures:
    """Hashed, signed, log1p-tf, L2-normalised n-gram features of ``texts`` (one row each)."""
    hashed: dict[str, tuple[int, float]] = {}
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for row, text in enumerate(texts):
        counts = _ngrams(text, settings.ngram_orders)
        if not counts:
            continue
        placed = []  # (column, sign) per distinct n-gram, in the order of ``counts``
        for ngram in counts:
            if ngram not in hashed:
                hashed[ngram] = _hash_ngram(ngram, seed, settings.dims)
            placed.append(hashed[ngram])
        where = np.array([column for column, _ in placed], dtype=np.int64)
        log_counts = np.log1p(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        signed = np.array([sign for _, sign in placed]) * log_counts
        columns, slot = np.unique(where, return_inverse=True)
        summed = np.bincount(slot, weights=signed)  # colliding n-grams add up
        norm = float(np.linalg.norm(summed))
        if norm == 0.0:
            continue
        rows.append(np.full(len(columns), row, dtype=np.int64))
        cols.append(columns)
        vals.append(summed / norm)
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return HashedFeatures(empty, empty, np.zeros(0), len(texts), settings.dims)
    return HashedFeatures(
        np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), len(texts), settings.dims
    )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, without overflow for large |z|."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]  # params -> (loss, gradient)


def _objective(features: HashedFeatures, labels: np.ndarray, l2: float) -> Objective:
    """Mean log-loss plus ``l2 / (2 n) * ||w||^2`` and its gradient, over ``params = [w, intercept]``."""
    n = features.n_rows

    def value_and_gradient(params: np.ndarray) -> tuple[float, np.ndarray]:
        weights, intercept = params[:-1], params[-1]
        scores = features.dot(weights) + intercept
        loss = float(np.mean(np.logaddexp(0.0, scores) - labels * scores)) + l2 / (2 * n) * float(weights @ weights)
        residual = (_sigmoid(scores) - labels) / n
        gradient = np.append(features.transpose_dot(residual) + (l2 / n) * weights, residual.sum())
        return loss, gradient

    return value_and_gradient


def _lbfgs_direction(gradient: np.ndarray, history: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The L-BFGS two-loop recursion: an approximation of ``-H^-1 @ gradient`` from recent steps."""
    q = gradient.copy()
    coefficients = []
    for step, change in reversed(history):
        rho = 1.0 / float(change @ step)
        alpha = rho * float(step @ q)
        q -= alpha * change
        coefficients.append((rho, alpha))
    if history:
        step, change = history[-1]
        q *= float(step @ change) / float(change @ change)
    for (step, change), (rho, alpha) in zip(history, reversed(coefficients)):
        q += step * (alpha - rho * float(change @ q))
    return -q


def _minimize(
    objective: Objective, start: np.ndarray, settings: ProbeSettings, memory: int = 10
) -> tuple[np.ndarray, int, bool]:
    """L-BFGS with a backtracking (Armijo) line search; returns (params, iterations, converged)."""
    params = start
    loss, gradient = objective(params)
    history: list[tuple[np.ndarray, np.ndarray]] = []
    for iteration in range(settings.max_iter):
        if float(np.max(np.abs(gradient))) <= settings.tol:
            return params, iteration, True
        direction = _lbfgs_direction(gradient, history)
        slope = float(gradient @ direction)
        if slope >= 0:  # not a descent direction (numerical trouble): restart from steepest descent
            history.clear()
            direction, slope = -gradient, -float(gradient @ gradient)
        step_size = 1.0
        for _ in range(60):
            candidate = params + step_size * direction
            new_loss, new_gradient = objective(candidate)
            if new_loss <= loss + 1e-4 * step_size * slope:
                break
            step_size *= 0.5
        else:
            return params, iteration, False  # no decrease possible: as good as it gets in floating point
        step, change = candidate - params, new_gradient - gradient
        if float(step @ change) > 1e-12:
            history = (history + [(step, change)])[-memory:]
        params, loss, gradient = candidate, new_loss, new_gradient
    return params, settings.max_iter, float(np.max(np.abs(gradient))) <= settings.tol


@dataclass(frozen=True)
class ProbeModel:
    """A fitted reference classifier: hashed n-gram weights, an intercept, and how it was fitted."""

    weights: np.ndarray
    intercept: float
    settings: ProbeSettings
    seed: int
    n_train: int
    iterations: int
    converged: bool
    train_accuracy: float

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(label = 1) for each text."""
        features = featurize(list(texts), self.settings, self.seed)
        return _sigmoid(features.dot(self.weights) + self.intercept)


def _checked_labels(texts: Sequence[str], labels: ArrayLike) -> np.ndarray:
    """Labels as float 0/1, after checking they match the texts and hold both classes."""
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(texts):
        raise ValueError(f"fit_probe needs one label per text: {len(texts)} texts, labels of shape {y.shape}")
    if len(y) == 0:
        raise ValueError("fit_probe needs at least one training text")
    if y.dtype != bool and not np.all((y == 0) | (y == 1)):
        raise ValueError("fit_probe labels must be binary (0/1 or bool)")
    y = y.astype(np.float64)
    if y.min() == y.max():
        raise ValueError(f"fit_probe needs both classes in the training labels; all {len(y)} are {int(y[0])}")
    return y


def fit_probe(
    texts: Sequence[str], labels: ArrayLike, *, seed: int = 0, settings: ProbeSettings | None = None
) -> ProbeModel:
    """Fit the reference classifier on ``texts`` with binary ``labels`` (deterministic for a given seed)."""
    settings = settings or ProbeSettings()
    texts = list(texts)
    y = _checked_labels(texts, labels)
    features = featurize(texts, settings, seed)
    objective = _objective(features, y, settings.l2)
    params, iterations, converged = _minimize(objective, np.zeros(settings.dims + 1), settings)
    weights, intercept = params[:-1], float(params[-1])
    train_accuracy = float(np.mean((features.dot(weights) + intercept > 0) == (y == 1)))
    return ProbeModel(weights, intercept, settings, seed, len(texts), iterations, converged, train_accuracy)
