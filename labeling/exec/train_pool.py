"""Run independent training stages side by side in worker processes (or Ray tasks).

Models of one phase (everything trained on gold labels, then every student) do not depend
on each other, so with ``training.workers > 1`` they are trained by that many spawned
processes, each with ``training.threads`` torch threads. On a 2-core CPU, two one-thread
workers train about twice as many models per hour as one process (one thread per model was
the fastest setting per model here). Jobs are deduplicated by key, so a model used by two
label sources is trained once; each stage is still its own resumable folder.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Hashable
from concurrent.futures import ALL_COMPLETED, FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any

from labeling.exec.jobs import JobRunner, JobsFailed, TrainJob
from labeling.exec.ray_jobs import run_jobs_on_ray

log = logging.getLogger(__name__)

__all__ = ["JobRunner", "JobsFailed", "TrainJob", "run_jobs"]


def _init_worker(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The driver already logged the machine's precision and thread decisions; workers repeat them silently.
    for name in ("labeling.exec.hardware", "labeling.exec.threads"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def _call(job: TrainJob) -> Any:
    return job()


def run_jobs(jobs: list[TrainJob], runner: JobRunner | int) -> dict[Hashable, Any]:
    """Run every job once (duplicate keys share one run); returns key -> trained model.

    One local worker runs them here, in order; more run in a spawn-context process pool; the Ray
    executor runs one Ray task per job (``labeling.exec.ray_jobs``). A failure stops the phase (jobs
    not yet started are cancelled) unless ``runner.keep_going``: then every other job finishes first.
    Either way the error names every failed job's key.
    """
    runner = JobRunner(workers=runner) if isinstance(runner, int) else runner
    unique: dict[Hashable, TrainJob] = {}
    for job in jobs:
        unique.setdefault(job.key, job)
    if not unique:
        return {}
    if runner.executor == "ray":
        return run_jobs_on_ray(unique, runner)
    if runner.workers <= 1 or len(unique) <= 1:
        return _run_here(unique, runner.keep_going)
    log.info("training %d models in %d worker processes", len(unique), runner.workers)
    context = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    with ProcessPoolExecutor(max_workers=runner.workers, mp_context=context, initializer=_init_worker,
                             initargs=(level,)) as pool:
        futures = {pool.submit(_call, job): key for key, job in unique.items()}
        done, pending = wait(futures, return_when=ALL_COMPLETED if runner.keep_going else FIRST_EXCEPTION)
        failures = {futures[f]: f.exception() for f in done if f.exception() is not None}
        if failures:
            for f in pending:
                f.cancel()
            if not runner.keep_going:
                raise next(iter(failures.values()))  # the first failure, as raised in the worker
            raise JobsFailed(failures, len(unique))  # type: ignore[arg-type]
        return {futures[f]: f.result() for f in futures}


def _run_here(jobs: dict[Hashable, TrainJob], keep_going: bool) -> dict[Hashable, Any]:
    """The jobs in this process, in order."""
    results: dict[Hashable, Any] = {}
    failures: dict[Hashable, BaseException] = {}
    for key, job in jobs.items():
        try:
            results[key] = job()
        except Exception as exc:
            if not keep_going:
                raise
            log.error("training job %s failed: %s: %s", key, type(exc).__name__, exc)
            failures[key] = exc
    if failures:
        raise JobsFailed(failures, len(jobs))
    return results
