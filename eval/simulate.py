"""The weak-to-strong gap simulator, part 1: a synthetic task, weak supervisors, error models, fixes.

Numpy only, no model weights: a cheap stand-in for the W2S experiment (Burns et al. 2023) for
teaching, for checking the statistics, and for asking what PGR a supervision pattern would give.
``eval.simulate_table`` runs settings over seeds and scores them with ``eval.stats``.

**Task.** Two classes, balanced: gold label ``y ~ Bernoulli(1/2)`` and latent
``z ~ N(0, I_dim)`` shifted by ``+-separation`` along coordinate 0 (``z_0 = (2y - 1) s + N(0, 1)``).
Equivalently the label follows a linear rule on ``z`` with logistic label noise,
``P(y = 1 | z) = sigmoid(2 s z_0)``; no classifier beats the Bayes accuracy ``Phi(s)`` (0.955 at
s = 1.7), and the rule ``1[z @ w > 0]`` scores ``Phi(s w_0 / |w|)`` (:func:`linear_accuracy`). The
strong learner sees ``z`` itself, in which the classes form two clusters with a low-density gap
between them (what a good pretrained representation gives, and what the auxiliary-confidence loss
exploits). Coordinate 1 is a *nuisance feature*: the strong learner sees it, the label ignores it.

**Weak supervisors at a target accuracy ``a``** (accuracy against the gold label). Every model
gives a soft label ``P(label 1)`` per item; its hard label is ``P > 0.5``. The ``ERROR_MODELS``:

* ``random``: each item is wrong (gold label flipped) independently with probability ``1 - a``,
  whatever its input. Soft label ``a`` towards the hard label on every item: calibrated on
  average, and no hint of where the errors are.
* ``structured``: wrong on exactly the half-space ``z_1 > t`` of the nuisance feature, with
  ``t = Phi^-1(a)`` so that the region holds a ``1 - a`` share of inputs; right everywhere else.
  Soft labels as ``random``.
* ``structured-confident``: the same region, confidently wrong: soft label ``wrong_confidence``
  (default 0.95) towards the wrong class inside it, ``a`` towards the right class outside.
* ``structured-correlated``: wrong on the wedge where the tilted rule
  ``1[cos(theta) z_0 + sin(theta) z_1 > 0]`` disagrees with ``1[z_0 > 0]``, ``theta`` set so that
  the wedge holds a ``1 - a`` share of inputs (:func:`wedge_angle`). The weak leans on the nuisance feature as well as
  the label feature; the strong learner sees both, so a linear student can copy these errors.
  Soft labels as ``random``.
* ``view``: a logistic regression (no intercept) trained on the gold labels of its own split,
  seeing ``z + sigma * n`` (``n ~ N(0, I)``, fixed per item). ``sigma`` makes the best rule on
  that view exactly ``a`` accurate (:func:`view_sigma`); finite training data leaves the trained
  model a little below. Soft labels are its probabilities, less confident near its boundary,
  where its errors are. ``a`` must lie below the Bayes accuracy.

**Fixes** (an oversight protocol, e.g. debate, as a change in the labels' error pattern):
:func:`apply_fixes` corrects ``round(fix_rate * n_wrong)`` of the wrong labels (soft label
mirrored, ``p -> 1 - p``), chosen uniformly (``fix_target="random"``) or with probability
proportional to the strong learner's confidence ``|z_0|`` (``"confident"``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = [
    "ERROR_MODELS", "FIX_TARGETS", "SimTask", "Split", "WeakLabels", "WeakSupervisor",
    "fit_logistic", "linear_accuracy", "view_sigma", "wedge_angle", "make_weak", "apply_fixes", "check_accuracy",
]

ERROR_MODELS = ("random", "structured", "structured-confident", "structured-correlated", "view")
FIX_TARGETS = ("random", "confident")
_PHI = NormalDist()


def check_accuracy(accuracy: float) -> float:
    """Return ``accuracy`` as a float if it lies in (0.5, 1); otherwise ValueError naming the option."""
    a = float(accuracy)
    if not 0.5 < a < 1.0:  # also rejects nan
        raise ValueError(f"--weak-accuracy must lie in (0.5, 1), got {accuracy}")
    return a


@dataclass(frozen=True)
class Split:
    """Items of one split: latent ``z`` [n, dim] (the strong view), gold ``y`` [n] (0/1), weak-view ``noise`` [n, dim]."""

    z: np.ndarray
    y: np.ndarray
    noise: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class SimTask:
    """The synthetic binary task: ``dim`` latent dimensions, class means at ``+-separation`` along ``z_0``."""

    dim: int = 20
    separation: float = 1.7

    def __post_init__(self) -> None:
        if int(self.dim) < 2:
            raise ValueError(f"--dim must be >= 2, got {self.dim}")
        if not 0.0 < float(self.separation) <= 5.0:  # also rejects nan
            raise ValueError(f"--separation must lie in (0, 5], got {self.separation}")

    def bayes_accuracy(self) -> float:
        """Accuracy of the best possible classifier, ``1[z_0 > 0]``: ``Phi(separation)``."""
        return _PHI.cdf(self.separation)

    def draw(self, n: int, rng: np.random.Generator) -> Split:
        """``n`` fresh items."""
        y = rng.integers(0, 2, size=n).astype(np.int8)
        z = rng.standard_normal((n, self.dim))
        z[:, 0] += (2.0 * y - 1.0) * self.separation
        return Split(z=z, y=y, noise=rng.standard_normal((n, self.dim)))


@dataclass(frozen=True)
class WeakLabels:
    """Soft labels ``probs`` (P(label 1)) [n] and whether each hard label is ``wrong`` [n]."""

    probs: np.ndarray
    wrong: np.ndarray

    @property
    def accuracy(self) -> float:
        """Share of items whose hard label equals the gold label."""
        return float(1.0 - self.wrong.mean())


def fit_logistic(x: np.ndarray, targets: np.ndarray, *, l2: float = 1e-3, iters: int = 30) -> np.ndarray:
    """Weights ``w`` [dim] of a logistic regression without intercept, fitted by Newton's method.

    ``targets`` are soft labels in [0, 1] (cross-entropy to them); ``l2`` is a small ridge
    penalty (times the number of items) that keeps the Hessian invertible.
    """
    n, dim = x.shape
    w = np.zeros(dim)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - targets) + l2 * n * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * n * np.eye(dim)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def linear_accuracy(task: SimTask, w: np.ndarray, input_noise: float = 0.0) -> float:
    """Population accuracy (exact, no test set) of ``1[(z + input_noise * n) @ w > 0]`` on ``task``.

    ``input_noise = 0`` scores a rule on the strong view; the ``view`` weak's ``sigma`` scores it on its view.
    """
    w = np.asarray(w, dtype=float)
    norm = float(np.linalg.norm(w)) * math.sqrt(1.0 + input_noise**2)
    return 0.5 if norm == 0.0 else _PHI.cdf(task.separation * float(w[0]) / norm)


def view_sigma(task: SimTask, accuracy: float) -> float:
    """Noise scale of the ``view`` weak's input at which the best rule on it is ``accuracy`` accurate."""
    a = check_accuracy(accuracy)
    if a >= task.bayes_accuracy():
        raise ValueError(f"--weak-accuracy {a} is not below the task's Bayes accuracy "
                         f"{task.bayes_accuracy():.3f}, which a 'view' weak cannot exceed")
    return math.sqrt((task.separation / _PHI.inv_cdf(a)) ** 2 - 1.0)


@functools.lru_cache(maxsize=256)
def wedge_angle(task: SimTask, accuracy: float) -> float:
    """Tilt ``theta`` of the ``structured-correlated`` rule whose disagreement wedge holds ``1 - accuracy``.

    Given ``z_0`` the rules disagree when ``z_1 sign(z_0) < -|z_0| cot(theta)``, so the wedge's share
    is ``E[Phi(-|z_0| cot(theta))]``, computed by Gauss-Hermite quadrature and solved by bisection.
    """
    share = 1.0 - check_accuracy(accuracy)
    nodes, weights = np.polynomial.hermite_e.hermegauss(96)
    weights = weights / weights.sum()
    abs_z0 = np.abs(task.separation + nodes)  # |z_0| has the same law in both classes

    def wedge_share(cot: float) -> float:
        return float(weights @ np.array([_PHI.cdf(-v * cot) for v in abs_z0]))

    lo, hi = 0.0, 1e3  # cot(theta): 0 -> share 1/2, large -> share 0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if wedge_share(mid) > share else (lo, mid)
    return math.atan2(1.0, 0.5 * (lo + hi))


def _soft(wrong: np.ndarray, y: np.ndarray, conf_right: float, conf_wrong: float) -> WeakLabels:
    """Soft labels for gold ``y`` with ``wrong`` items flipped and the given confidences in the hard label."""
    hard = np.where(wrong, 1 - y, y)
    conf = np.where(wrong, conf_wrong, conf_right)
    return WeakLabels(probs=np.where(hard == 1, conf, 1.0 - conf), wrong=wrong.astype(bool))


@dataclass(frozen=True)
class WeakSupervisor:
    """A weak supervisor of one error model at one target accuracy (see the module docstring).

    ``weights`` and ``sigma`` are used by ``view`` only; ``wrong_confidence`` by ``structured-confident``.
    """

    model: str
    accuracy: float
    task: SimTask
    weights: np.ndarray | None = None
    sigma: float = 0.0
    wrong_confidence: float = 0.95

    def wrong_region(self, split: Split, rng: np.random.Generator) -> np.ndarray:
        """Which items the weak gets wrong, for every model but ``view``."""
        a, z = self.accuracy, split.z
        if self.model == "random":
            return rng.random(len(split)) > a
        if self.model in ("structured", "structured-confident"):
            return z[:, 1] > _PHI.inv_cdf(a)
        if self.model == "structured-correlated":
            flip_angle = np.mod(np.arctan2(z[:, 1], z[:, 0]) + math.pi / 2, math.pi)
            return flip_angle < wedge_angle(self.task, a)
        raise ValueError(f"no error region for error model {self.model!r}")

    def label(self, split: Split, rng: np.random.Generator) -> WeakLabels:
        """The weak's soft labels for ``split`` (``rng`` drives ``random`` errors only)."""
        if self.model == "view":
            logits = (split.z + self.sigma * split.noise) @ self.weights
            probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
            return WeakLabels(probs=probs, wrong=(probs > 0.5) != (split.y == 1))
        wrong = self.wrong_region(split, rng)
        conf_wrong = self.wrong_confidence if self.model == "structured-confident" else self.accuracy
        return _soft(wrong, split.y, self.accuracy, conf_wrong)


def make_weak(
    task: SimTask, model: str, accuracy: float, weak_train: Split | None = None,
    *, wrong_confidence: float = 0.95,
) -> WeakSupervisor:
    """The weak supervisor of error ``model`` at target ``accuracy``; ``view`` trains on ``weak_train``'s gold labels."""
    if model not in ERROR_MODELS:
        raise ValueError(f"unknown error model {model!r} (--errors); choose from {list(ERROR_MODELS)}")
    a = check_accuracy(accuracy)
    if not 0.5 < wrong_confidence < 1.0:
        raise ValueError(f"wrong_confidence must lie in (0.5, 1), got {wrong_confidence}")
    if model != "view":
        return WeakSupervisor(model, a, task, wrong_confidence=wrong_confidence)
    if weak_train is None:
        raise ValueError("the 'view' error model trains on gold labels: pass weak_train")
    sigma = view_sigma(task, a)
    weights = fit_logistic(weak_train.z + sigma * weak_train.noise, weak_train.y.astype(float))
    return WeakSupervisor(model, a, task, weights=weights, sigma=sigma)


def apply_fixes(
    labels: WeakLabels, fix_rate: float, rng: np.random.Generator,
    *, target: str = "random", confidence: np.ndarray | None = None,
) -> WeakLabels:
    """Correct ``round(fix_rate * n_wrong)`` wrong labels (soft label mirrored); return new labels.

    ``target="random"`` picks them uniformly among the wrong ones; ``"confident"`` with probability
    proportional to ``confidence`` (per item, >= 0; e.g. the strong learner's ``|z_0|``).
    """
    if not 0.0 <= fix_rate <= 1.0:  # also rejects nan
        raise ValueError(f"--fix-rate must lie in [0, 1], got {fix_rate}")
    if target not in FIX_TARGETS:
        raise ValueError(f"unknown --fix-target {target!r}; choose from {list(FIX_TARGETS)}")
    wrong_idx = np.flatnonzero(labels.wrong)
    k = int(round(fix_rate * len(wrong_idx)))
    if k == 0:
        return labels
    weights = None
    if target == "confident":
        if confidence is None:
            raise ValueError("fix target 'confident' needs the strong learner's confidence per item")
        w = np.asarray(confidence, dtype=float)[wrong_idx] + 1e-12
        weights = w / w.sum()
    fixed = rng.choice(wrong_idx, size=k, replace=False, p=weights)
    probs, wrong = labels.probs.copy(), labels.wrong.copy()
    probs[fixed] = 1.0 - probs[fixed]
    wrong[fixed] = False
    return WeakLabels(probs=probs, wrong=wrong)
