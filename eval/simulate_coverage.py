"""How often the bootstrap CI of PGR covers the true PGR: a positive control of ``eval.stats``.

A setting of the simulator (``eval.simulate``) with a ``view`` weak supervisor and exact
logistic-regression students (no torch) has a true PGR that population accuracies give exactly
per trained model (:func:`true_pgr`, averaged over many trainings). :func:`ci_coverage` repeats a
small experiment (``seeds`` training seeds, one shared test set) many times and counts how often
``bootstrap_pgr``'s interval holds that truth, and on which side it misses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eval.simulate import SimTask, fit_logistic, linear_accuracy, make_weak
from eval.simulate_table import SimConfig, Setting, Simulation
from eval.stats import bootstrap_pgr

__all__ = ["Coverage", "exact_student", "true_pgr", "ci_coverage"]


def exact_student(x_train: np.ndarray, soft: np.ndarray, x_test: np.ndarray, loss: str, seed: int) -> np.ndarray:
    """A cross-entropy student without torch (exact logistic regression); ``loss`` and ``seed`` are ignored."""
    w = fit_logistic(x_train, soft)
    return 1.0 / (1.0 + np.exp(-np.clip(x_test @ w, -30, 30)))


def true_pgr(task: SimTask, n_train: int, accuracy: float, draws: int) -> float:
    """PGR of the ``view`` setting from population accuracies, averaged over ``draws`` trainings."""
    weak_acc, ceiling_acc, student_acc = [], [], []
    for i in range(draws):
        rng = np.random.default_rng([999, i])
        train, weak_train = task.draw(n_train, rng), task.draw(n_train, rng)
        weak = make_weak(task, "view", accuracy, weak_train)
        weak_acc.append(linear_accuracy(task, weak.weights, weak.sigma))
        ceiling_acc.append(linear_accuracy(task, fit_logistic(train.z, train.y.astype(float))))
        student_acc.append(linear_accuracy(task, fit_logistic(train.z, weak.label(train, rng).probs)))
    w, c, s = np.mean(weak_acc), np.mean(ceiling_acc), np.mean(student_acc)
    return float((s - w) / (c - w))


@dataclass(frozen=True)
class Coverage:
    """Of ``runs`` experiments, how many CIs held the truth, lay wholly below it, or above it."""

    seeds: int
    runs: int
    covered: int
    below: int
    above: int
    truth: float

    @property
    def rate(self) -> float:
        """Share of the intervals that held the truth."""
        return self.covered / self.runs


def ci_coverage(
    task: SimTask, *, truth: float, seeds: int, runs: int, n_train: int = 200, n_test: int = 400,
    accuracy: float = 0.7, n_boot: int = 1000, alpha: float = 0.05,
) -> Coverage:
    """Repeat the ``view`` experiment ``runs`` times (fresh data each) and count coverage of ``truth``."""
    covered = below = above = 0
    for k in range(runs):
        config = SimConfig(task=task, n_train=n_train, n_weak_train=n_train, n_test=n_test, seeds=seeds,
                           data_seed=10_000 + k)
        weak, ceiling, student, _ = Simulation(config, exact_student).correctness(Setting("view", accuracy))
        est = bootstrap_pgr(weak, ceiling, student, n_boot=n_boot, alpha=alpha, seed=k)
        covered += est.lo <= truth <= est.hi
        below += est.hi < truth
        above += est.lo > truth
    return Coverage(seeds=seeds, runs=runs, covered=covered, below=below, above=above, truth=truth)
