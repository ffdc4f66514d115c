"""``w2s simulate``: the weak-to-strong gap simulator with a torch student trained with Burns' losses.

The synthetic task, weak supervisors, error models and fixes are numpy (``eval.simulate``); the
grid over seeds and its scoring are ``eval.simulate_table`` (``eval.stats``' bootstrap, as in the
real pipeline). This module adds the student: a linear classifier on the strong view, trained
with a loss from ``training.losses`` (``xent``, ``logconf``, ``product``), and runs the grid.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from eval.simulate import ERROR_MODELS, FIX_TARGETS, SimTask
from eval.simulate_report import simulate_markdown, write_simulation
from eval.simulate_table import SimConfig, Setting, SimRow, Simulation, StudentFit

__all__ = ["fit_linear_student", "make_student", "simulate_settings", "run_simulation", "add_commands"]


def fit_linear_student(
    x_train: np.ndarray, soft_labels: np.ndarray, x_test: np.ndarray, loss: str, seed: int,
    *, epochs: int = 20, batch_size: int = 500, lr: float = 0.02,
) -> np.ndarray:
    """Train a linear classifier (``x @ W + b``, 2 logits) on soft labels; return P(label 1) on ``x_test``.

    Adam with a linear decay of the learning rate to 0, minibatches of ``batch_size`` in a seeded
    order, ``progress = step / n_steps`` passed to the loss (as in ``training.train``); ``loss`` is
    any name ``training.losses.get_loss`` knows. Weights start at ``0.01 * N(0, 1)`` (seeded).
    """
    from training.losses import get_loss

    loss_fn = get_loss(loss)
    with _one_torch_thread():
        return _train_linear(loss_fn, x_train, soft_labels, x_test, seed, epochs, batch_size, lr)


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run torch on one thread inside the block: for these tiny matrices more threads only add overhead."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _train_linear(loss_fn: Any, x_train: np.ndarray, soft_labels: np.ndarray, x_test: np.ndarray,
                  seed: int, epochs: int, batch_size: int, lr: float) -> np.ndarray:
    """The loop of :func:`fit_linear_student`."""
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    x = torch.as_tensor(x_train, dtype=torch.float32)
    p = torch.as_tensor(soft_labels, dtype=torch.float32)
    weight = (0.01 * torch.randn(x.shape[1], 2, generator=gen)).requires_grad_()
    bias = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=lr)
    n = len(x)
    per_epoch = max(1, -(-n // batch_size))
    n_steps = epochs * per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / n_steps)
    for step in range(n_steps):
        if step % per_epoch == 0:
            order = torch.randperm(n, generator=gen)
        idx = order[(step % per_epoch) * batch_size:(step % per_epoch + 1) * batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss_fn(x[idx] @ weight + bias, p[idx], progress=step / n_steps).backward()
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        logits = torch.as_tensor(x_test, dtype=torch.float32) @ weight + bias
        return torch.softmax(logits, dim=-1)[:, 1].numpy().astype(np.float64)


def make_student(*, epochs: int = 20, batch_size: int = 500, lr: float = 0.02) -> StudentFit:
    """A ``StudentFit`` callable for ``eval.simulate_table.Simulation`` with these training settings."""
    def fit(x_train: np.ndarray, soft: np.ndarray, x_test: np.ndarray, loss: str, seed: int) -> np.ndarray:
        return fit_linear_student(x_train, soft, x_test, loss, seed, epochs=epochs, batch_size=batch_size, lr=lr)
    return fit


def _check_losses(losses: Sequence[str]) -> None:
    from training.losses import LOSSES

    unknown = [name for name in losses if name not in LOSSES]
    if unknown:
        raise ValueError(f"unknown loss(es) {unknown} (--losses); choose from {sorted(LOSSES)}")


def simulate_settings(
    errors: Sequence[str], accuracies: Sequence[float], fix_rates: Sequence[float], losses: Sequence[str],
) -> list[Setting]:
    """Every combination, in table order (error model, accuracy, fix rate, loss); validated."""
    _check_losses(losses)
    if not errors or not accuracies or not fix_rates or not losses:
        raise ValueError("--errors, --weak-accuracy, --fix-rate and --losses need at least one value each")
    return [Setting(e, float(a), float(f), loss)
            for e, a, f, loss in itertools.product(errors, accuracies, fix_rates, losses)]


def run_simulation(
    settings: Sequence[Setting], config: SimConfig, *, fit: StudentFit | None = None, progress: bool = True,
) -> list[SimRow]:
    """Run every setting over ``config.seeds`` seeds (default student: :func:`make_student`); a progress bar on stderr."""
    sim = Simulation(config, fit or make_student())
    bar = _progress(len(settings), enabled=progress)
    rows = []
    for setting in settings:
        bar.set_description(f"{setting.errors} {setting.accuracy:g} fix {setting.fix_rate:g} {setting.loss}")
        rows.append(sim.run(setting))
        bar.update(1)
    bar.close()
    return rows


class _NoBar:
    def set_description(self, text: str) -> None: ...
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


def _progress(total: int, *, enabled: bool) -> Any:
    """A tqdm bar over settings, or a silent stand-in when disabled or tqdm is missing."""
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="setting", file=sys.stderr)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate the W2S experiment on a synthetic task; print and write the PGR table and plot."""
    start = time.perf_counter()
    settings = simulate_settings(args.errors, args.weak_accuracy, args.fix_rate, args.losses)
    config = SimConfig(
        task=SimTask(dim=args.dim, separation=args.separation), n_train=args.n_train,
        n_weak_train=args.n_weak_train or args.n_train, n_test=args.n_test, seeds=args.seeds,
        data_seed=args.data_seed, n_boot=args.n_boot, fix_target=args.fix_target,
    )
    rows = run_simulation(settings, config, fit=make_student(epochs=args.epochs), progress=not args.no_progress)
    paths = write_simulation(rows, config, Path(args.out))
    print(simulate_markdown(rows))
    print(f"{len(rows)} settings x {config.seeds} seeds in {time.perf_counter() - start:.1f} s; "
          f"wrote {paths['md']}, {paths['json']}, {paths['png']}")
    return 0


def add_commands(sub: Any) -> None:
    """Add ``simulate`` to the ``w2s`` subcommands."""
    p = sub.add_parser("simulate", help="simulate the W2S gap on a synthetic task (no model weights)",
                       description=cmd_simulate.__doc__)
    p.add_argument("--weak-accuracy", type=float, nargs="+", default=[0.6, 0.7, 0.8, 0.9],
                   help="target accuracies of the weak supervisor, each in (0.5, 1)")
    p.add_argument("--errors", nargs="+", default=["random", "structured"], choices=ERROR_MODELS,
                   help="weak-label error models (see eval/simulate.py)")
    p.add_argument("--losses", nargs="+", default=["xent"], help="student losses: xent, logconf, product")
    p.add_argument("--fix-rate", type=float, nargs="+", default=[0.0],
                   help="share of the weak labels' errors an oversight protocol fixes, each in [0, 1]")
    p.add_argument("--fix-target", choices=FIX_TARGETS, default="random",
                   help="which errors get fixed: uniformly, or more likely where the strong learner is confident")
    p.add_argument("--seeds", type=int, default=10, help="seeds per setting (>= 2)")
    p.add_argument("--n-train", type=int, default=2000, help="student (and ceiling) training items per seed")
    p.add_argument("--n-weak-train", type=int, default=0, help="weak training items ('view' only; default: --n-train)")
    p.add_argument("--n-test", type=int, default=2000, help="test items, shared by all seeds")
    p.add_argument("--dim", type=int, default=20, help="latent dimensions")
    p.add_argument("--separation", type=float, default=1.7,
                   help="class means at +-separation along the label feature (Bayes accuracy Phi(separation))")
    p.add_argument("--epochs", type=int, default=20, help="student training epochs")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates per CI")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the test set and of every random stream")
    p.add_argument("--out", default="runs/simulate", help="output folder for simulate.md/.json/.png")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)
