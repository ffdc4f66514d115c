"""How many cores this process may use, and how training processes, torch threads and engine actors share them.

``plan_threads`` is a pure function of the core count (tested); ``resolve_threads`` reads this
machine and logs its plan once per process. Never more threads in all than cores, unless the
user asks for it explicitly (then the plan says it oversubscribes).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from labeling.exec.hardware import Device

log = logging.getLogger(__name__)

MAX_CPU_WORKERS = 4  # more one-model processes than this mostly add memory, not speed


def available_cores() -> int:
    """CPU cores this process may use: its affinity mask, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def positive_int_or_auto(value: str) -> int | str:
    """Parse a command-line count: ``auto`` or an integer >= 1 (argparse ``type=``)."""
    if value == "auto":
        return value
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"expected a positive integer or 'auto', got {value!r}")
    return number


@dataclass(frozen=True)
class ThreadPlan:
    """How many training processes run side by side and how many torch threads each uses."""

    workers: int
    threads: int
    reason: str
    oversubscribes: bool = False  # more threads in all than available cores (only when asked explicitly)


def plan_threads(threads: int | str, workers: int | str, cores: int, device: Device = "cpu") -> ThreadPlan:
    """Fit ``auto`` threads/workers to ``cores``: never more threads in all than cores.

    On CPU, ``auto`` runs up to ``MAX_CPU_WORKERS`` one-model processes with the cores split
    between them (on 2 cores: two one-thread workers, measured fastest here). On CUDA one
    process trains at a time. Explicit numbers win; a plan that oversubscribes is logged.
    """
    cores = max(1, cores)
    if device == "cuda":
        n_workers = 1 if workers == "auto" else int(workers)
        n_threads = max(1, cores // n_workers) if threads == "auto" else int(threads)
        return ThreadPlan(n_workers, n_threads, f"CUDA training, {cores} cores")
    if workers == "auto" and threads == "auto":
        n_workers = min(cores, MAX_CPU_WORKERS)
        n_threads = max(1, cores // n_workers)
    elif workers == "auto":
        n_threads = int(threads)
        n_workers = max(1, min(MAX_CPU_WORKERS, cores // n_threads))
    elif threads == "auto":
        n_workers = int(workers)
        n_threads = max(1, cores // n_workers)
    else:
        n_workers, n_threads = int(workers), int(threads)
    over = n_workers * n_threads > cores
    fit = "oversubscribes" if over else "fits"
    return ThreadPlan(n_workers, n_threads, f"{n_workers} x {n_threads} threads {fit} {cores} available cores", over)


def actor_cpus(requested: float | str, num_actors: int, local_cpus: int | None, joins_cluster: bool) -> float:
    """CPUs each engine actor reserves: ``auto`` shares a local Ray's CPUs between the actors
    (so the engines never ask for more cores than there are), and is 1 on a cluster."""
    if requested != "auto":
        return float(requested)
    if joins_cluster:
        return 1.0
    return float(max(1, (local_cpus or available_cores()) // max(1, num_actors)))


@functools.lru_cache(maxsize=None)
def resolve_threads(threads: int | str, workers: int | str, device: Device = "cpu") -> ThreadPlan:
    """``plan_threads`` for this machine's available cores; logged once per process and setting."""
    plan = plan_threads(threads, workers, available_cores(), device)
    level = logging.WARNING if plan.oversubscribes else logging.INFO
    log.log(level, "training threads: %d worker(s) x %d torch thread(s) (%s)", plan.workers, plan.threads, plan.reason)
    return plan
