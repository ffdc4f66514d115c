"""What a training phase is made of: jobs (one model each), where they run, and how a failure is reported."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TrainJob:
    """One training stage to run: ``fn(*args)`` returns its product (a stage's trained model)."""

    key: Hashable
    fn: Callable[..., Any]
    args: tuple[Any, ...] = field(hash=False, compare=False)

    def __call__(self) -> Any:
        """Run the stage (it is reused when already complete)."""
        return self.fn(*self.args)


@dataclass(frozen=True)
class JobRunner:
    """Where a phase's training jobs run: ``workers`` local processes, or one Ray task per job.

    ``ray`` is the run's Ray section (a ``RayConfig`` dumped to a dict) and ``work_dir`` its output
    folder (Ray's temp folder goes there); ``keep_going`` finishes the other jobs after a failure;
    ``processes`` names the job kinds that train data-parallel (``training.<role>.data_parallel``).
    """

    workers: int = 1
    executor: str = "local"
    ray: dict[str, Any] | None = None
    job_cpus: float = 1.0
    job_gpus: float = 0.0
    keep_going: bool = False
    work_dir: str = "runs"
    processes: dict[str, int] = field(default_factory=dict)  # job kind (key[0]) -> data-parallel workers, when > 1

    def job_resources(self, key: Hashable) -> tuple[float, float]:
        """(CPUs, GPUs) the Ray task of job ``key`` asks for: none for a data-parallel job, whose
        Ray Train workers ask for ``job_cpus`` / ``job_gpus`` each while the task only waits for them."""
        kind = key[0] if isinstance(key, tuple) and key else key
        return (0.0, 0.0) if self.processes.get(kind, 1) > 1 else (self.job_cpus, self.job_gpus)


class JobsFailed(RuntimeError):
    """Training jobs of a phase failed; ``failures`` maps each job's key to its error."""

    def __init__(self, failures: dict[Hashable, BaseException], total: int) -> None:
        detail = "; ".join(f"{key}: {type(exc).__name__}: {exc}" for key, exc in failures.items())
        super().__init__(f"{len(failures)} of {total} training jobs failed ({detail}); finished models are kept, "
                         f"rerun to train the failed ones")
        self.failures = failures
