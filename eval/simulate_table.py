"""The weak-to-strong gap simulator, part 2: settings over seeds, scored with ``eval.stats``.

Per seed ``s`` a fresh training split (the student's and the ceiling's) and a fresh weak-training
split are drawn; the test split is drawn once and shared by all seeds, as the real pipeline's
seeds share one test set (the two-level bootstrap of ``eval.stats`` assumes exactly that). The
ceiling is the student trained on gold labels (loss ``xent``); *weak* in PGR is the weak
supervisor on the test split *before* any fixes (the floor), while the student learns from the
fixed labels: the same roles as in the real pipeline, where debate improves the judge's labels
but not the floor.

The student is any callable ``fit(x_train, soft_labels, x_test, loss, seed) -> P(label 1) on
x_test``: the application passes a torch student trained with ``training.losses``; tests may
pass a numpy one. Random streams are keyed by (data seed, purpose, seed, setting), so settings
that differ only in loss or fix rate see the same data and the same weak labels (paired).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from .metrics import correctness
from .simulate import ERROR_MODELS, FIX_TARGETS, SimTask, Split, WeakLabels, apply_fixes, check_accuracy, make_weak
from .stats import Estimate, bootstrap_accuracy, bootstrap_pgr

__all__ = ["StudentFit", "SimConfig", "Setting", "SimRow", "Simulation"]

StudentFit = Callable[[np.ndarray, np.ndarray, np.ndarray, str, int], np.ndarray]

_TEST, _TRAIN, _WEAK, _FIX = 0, 1, 2, 3  # random-stream purposes


@dataclass(frozen=True)
class SimConfig:
    """Sizes and seeds of a simulation; ``n_weak_train`` is used by the ``view`` error model only."""

    task: SimTask = field(default_factory=SimTask)
    n_train: int = 2000
    n_weak_train: int = 2000
    n_test: int = 2000
    seeds: int = 10
    data_seed: int = 0
    n_boot: int = 2000
    fix_target: str = "random"
    wrong_confidence: float = 0.95

    def __post_init__(self) -> None:
        if int(self.seeds) < 2:
            raise ValueError(f"--seeds must be >= 2 (the CI resamples seeds), got {self.seeds}")
        for name in ("n_train", "n_weak_train", "n_test"):
            if int(getattr(self, name)) < 10:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 10, got {getattr(self, name)}")
        if self.fix_target not in FIX_TARGETS:
            raise ValueError(f"unknown --fix-target {self.fix_target!r}; choose from {list(FIX_TARGETS)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the task nested)."""
        return asdict(self)


@dataclass(frozen=True)
class Setting:
    """One row of the table: error model, target weak accuracy, fix rate and student loss."""

    errors: str
    accuracy: float
    fix_rate: float = 0.0
    loss: str = "xent"

    def __post_init__(self) -> None:
        if self.errors not in ERROR_MODELS:
            raise ValueError(f"unknown error model {self.errors!r} (--errors); choose from {list(ERROR_MODELS)}")
        check_accuracy(self.accuracy)
        if not 0.0 <= float(self.fix_rate) <= 1.0:
            raise ValueError(f"--fix-rate must lie in [0, 1], got {self.fix_rate}")


@dataclass(frozen=True)
class SimRow:
    """Results of one setting: weak floor, ceiling and student test accuracies, PGR, label accuracy."""

    setting: Setting
    weak: Estimate
    ceiling: Estimate
    student: Estimate
    pgr: Estimate
    label_accuracy: float  # the student's training labels (after fixes) against gold, mean over seeds
    n_seeds: int

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (floats may be nan)."""
        return {**asdict(self.setting), "weak": self.weak.to_dict(), "ceiling": self.ceiling.to_dict(),
                "student": self.student.to_dict(), "pgr": self.pgr.to_dict(),
                "label_accuracy": self.label_accuracy, "n_seeds": self.n_seeds}


def _key(value: float) -> int:
    """A float setting as an integer for seeding random streams."""
    return int(round(float(value) * 10_000))


class Simulation:
    """Data of every seed (drawn once), ceiling predictions (trained once) and cached weak labels."""

    def __init__(self, config: SimConfig, fit: StudentFit) -> None:
        self.config, self.fit = config, fit
        self.test = config.task.draw(config.n_test, self._rng(_TEST))
        self._splits: dict[int, tuple[Split, Split]] = {}
        self._ceiling: np.ndarray | None = None
        self._ceiling_est: Estimate | None = None
        self._weak: dict[tuple[str, int, int], tuple[WeakLabels, WeakLabels]] = {}
        self._weak_est: dict[tuple[str, int], Estimate] = {}

    def _rng(self, *keys: int) -> np.random.Generator:
        return np.random.default_rng([self.config.data_seed, *keys])

    def splits(self, seed: int) -> tuple[Split, Split]:
        """(student/ceiling training split, weak training split) of ``seed``."""
        if seed not in self._splits:
            rng = self._rng(_TRAIN, seed)
            cfg = self.config
            self._splits[seed] = (cfg.task.draw(cfg.n_train, rng), cfg.task.draw(cfg.n_weak_train, rng))
        return self._splits[seed]

    def ceiling_correct(self) -> np.ndarray:
        """Per-item test correctness of the ceiling, ``[n_seeds, n_test]``."""
        if self._ceiling is None:
            rows = []
            for seed in range(self.config.seeds):
                train = self.splits(seed)[0]
                probs = self.fit(train.z, train.y.astype(float), self.test.z, "xent", seed)
                rows.append(correctness(probs, self.test.y))
            self._ceiling = np.stack(rows)
        return self._ceiling

    def weak_labels(self, errors: str, accuracy: float, seed: int) -> tuple[WeakLabels, WeakLabels]:
        """The weak supervisor's (training-split, test-split) labels for one seed, before fixes."""
        key = (errors, _key(accuracy), seed)
        if key not in self._weak:
            train, weak_train = self.splits(seed)
            weak = make_weak(self.config.task, errors, accuracy, weak_train,
                             wrong_confidence=self.config.wrong_confidence)
            rng = self._rng(_WEAK, seed, ERROR_MODELS.index(errors), _key(accuracy))
            self._weak[key] = (weak.label(train, rng), weak.label(self.test, rng))
        return self._weak[key]

    def student_labels(self, setting: Setting, seed: int) -> WeakLabels:
        """The labels the student of ``setting`` learns from: the weak's, with the setting's fixes."""
        labels = self.weak_labels(setting.errors, setting.accuracy, seed)[0]
        rng = self._rng(_FIX, seed, ERROR_MODELS.index(setting.errors), _key(setting.accuracy),
                        _key(setting.fix_rate))
        confidence = np.abs(self.splits(seed)[0].z[:, 0])
        return apply_fixes(labels, setting.fix_rate, rng, target=self.config.fix_target, confidence=confidence)

    def _weak_estimate(self, setting: Setting, weak: np.ndarray) -> Estimate:
        key = (setting.errors, _key(setting.accuracy))
        if key not in self._weak_est:
            self._weak_est[key] = bootstrap_accuracy(weak, n_boot=self.config.n_boot)
        return self._weak_est[key]

    def correctness(self, setting: Setting) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Train the student of ``setting`` for every seed; per-item test correctness ``[n_seeds, n_test]``.

        Returns (weak floor, ceiling, student, mean accuracy of the student's training labels).
        """
        weak, student, label_acc = [], [], []
        for seed in range(self.config.seeds):
            weak.append(self.weak_labels(setting.errors, setting.accuracy, seed)[1].probs)
            labels = self.student_labels(setting, seed)
            label_acc.append(labels.accuracy)
            student.append(self.fit(self.splits(seed)[0].z, labels.probs, self.test.z, setting.loss, seed))
        test_y = self.test.y
        return (correctness(np.stack(weak), test_y), self.ceiling_correct(),
                correctness(np.stack(student), test_y), float(np.mean(label_acc)))

    def run(self, setting: Setting) -> SimRow:
        """Train the student of ``setting`` for every seed and score it against floor and ceiling."""
        weak_c, ceiling_c, student_c, label_acc = self.correctness(setting)
        if self._ceiling_est is None:
            self._ceiling_est = bootstrap_accuracy(ceiling_c, n_boot=self.config.n_boot)
        return SimRow(
            setting=setting,
            weak=self._weak_estimate(setting, weak_c),
            ceiling=self._ceiling_est,
            student=bootstrap_accuracy(student_c, n_boot=self.config.n_boot),
            pgr=bootstrap_pgr(weak_c, ceiling_c, student_c, n_boot=self.config.n_boot),
            label_accuracy=label_acc,
            n_seeds=self.config.seeds,
        )
