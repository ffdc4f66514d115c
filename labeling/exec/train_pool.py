"""Run independent training stages side by side in worker processes.

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
from collections.abc import Callable, Hashable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainJob:
    """One training stage to run: ``fn(*args)`` returns its product (a stage's trained model)."""

    key: Hashable
    fn: Callable[..., Any]
    args: tuple[Any, ...] = field(hash=False, compare=False)

    def __call__(self) -> Any:
        """Run the stage (it is reused when already complete)."""
        return self.fn(*self.args)


def _init_worker(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The driver already logged the machine's precision and thread decisions; workers repeat them silently.
    for name in ("labeling.exec.hardware", "labeling.exec.threads"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def _call(job: TrainJob) -> Any:
    return job()


def run_jobs(jobs: list[TrainJob], workers: int) -> dict[Hashable, Any]:
    """Run every job once (duplicate keys share one run); returns key -> trained model.

    ``workers == 1`` runs them here, in order. Otherwise a spawn-context process pool runs
    them; the first failure cancels the jobs not yet started and is raised here.
    """
    unique: dict[Hashable, TrainJob] = {}
    for job in jobs:
        unique.setdefault(job.key, job)
    if workers <= 1 or len(unique) <= 1:
        return {key: job() for key, job in unique.items()}
    log.info("training %d models in %d worker processes", len(unique), workers)
    context = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(level,)) as pool:
        futures = {pool.submit(_call, job): key for key, job in unique.items()}
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            for f in pending:
                f.cancel()
            raise failed[0].exception()  # type: ignore[misc]
        return {futures[f]: f.result() for f in futures}
