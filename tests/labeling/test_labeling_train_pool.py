"""The training pool: duplicate jobs run once, results come back by key, a failure stops the phase."""

from __future__ import annotations

import os

import pytest

from labeling.exec.train_pool import JobRunner, TrainJob, run_jobs


def pid_and_value(value: int) -> tuple[int, int]:
    """A stand-in for a training stage: which process ran it, and its argument."""
    return os.getpid(), value


def fail(message: str) -> None:
    raise RuntimeError(message)


def test_one_worker_runs_inline_and_dedupes_keys() -> None:
    jobs = [TrainJob(("a",), pid_and_value, (1,)), TrainJob(("a",), pid_and_value, (99,)), TrainJob(("b",), pid_and_value, (2,))]
    results = run_jobs(jobs, JobRunner(workers=1))
    assert results == {("a",): (os.getpid(), 1), ("b",): (os.getpid(), 2)}  # the first job of a key wins


def test_workers_run_jobs_in_other_processes() -> None:
    jobs = [TrainJob(i, pid_and_value, (i,)) for i in range(4)]
    results = run_jobs(jobs, JobRunner(workers=2))
    assert {k: v[1] for k, v in results.items()} == {0: 0, 1: 1, 2: 2, 3: 3}
    assert os.getpid() not in {pid for pid, _ in results.values()}


def test_a_failing_job_raises_its_error() -> None:
    jobs = [TrainJob("ok", pid_and_value, (1,)), TrainJob("bad", fail, ("judge exploded",))]
    with pytest.raises(RuntimeError, match="judge exploded"):
        run_jobs(jobs, JobRunner(workers=2))
