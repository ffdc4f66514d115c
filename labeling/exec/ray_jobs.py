"""Training jobs as Ray tasks: one task per model, each asking the cluster for its CPUs and GPUs.

``training.executor: ray`` sends every independent model of a phase (floors, ceilings, judges,
chain links, students) to the Ray cluster of ``ray.address``, or to a local Ray started for the
phase. Each job writes its own keyed stage folder, so the output folder must be on storage every
node sees; a finished model is reused, never retrained. On a machine that forbids non-loopback
traffic, a local Ray runs in a child process inside a private network namespace, as the debate
stage does: the jobs travel to it pickled and their products come back the same way.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from labeling.exec.netns import isolated_command, isolated_env, wants_isolation
from labeling.exec.signals import exit_on_sigterm, stop_child
from labeling.exec.threads import available_cores
from labeling.exec.jobs import JobRunner, JobsFailed, TrainJob

log = logging.getLogger(__name__)


def _call(job: TrainJob) -> Any:
    return job()


def _start_ray(runner: JobRunner) -> bool:
    """Join ``ray.address`` or start a local Ray; True when this call started it (and must stop it)."""
    import ray

    if ray.is_initialized():
        return False
    ray_cfg = runner.ray or {}
    if ray_cfg.get("address"):
        ray.init(address=ray_cfg["address"], log_to_driver=True)
    else:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        temp = Path(runner.work_dir).resolve() / "ray"  # unix socket paths must stay short
        if len(str(temp)) > 48:
            temp = Path(tempfile.mkdtemp(prefix="w2s-ray-"))
        temp.mkdir(parents=True, exist_ok=True)
        ray.init(num_cpus=ray_cfg.get("local_num_cpus") or available_cores(), include_dashboard=False,
                 _temp_dir=str(temp), log_to_driver=True)
    return True


def run_here(jobs: dict[Hashable, TrainJob], runner: JobRunner) -> dict[Hashable, Any]:
    """Submit every job as a Ray task from this process; key -> product, or ``JobsFailed``."""
    import ray

    owns_ray = _start_ray(runner)
    try:
        task = ray.remote(_call)
        refs = {}
        for key, job in jobs.items():
            cpus, gpus = runner.job_resources(key)
            refs[task.options(num_cpus=cpus, num_gpus=gpus, max_retries=0).remote(job)] = key
        log.info("training %d models as Ray tasks (%g CPU, %g GPU each)", len(refs), runner.job_cpus, runner.job_gpus)
        results: dict[Hashable, Any] = {}
        failures: dict[Hashable, BaseException] = {}
        pending = list(refs)
        with tqdm(total=len(refs), desc="training on Ray", unit="model", file=sys.stderr) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                key = refs[done[0]]
                try:
                    results[key] = ray.get(done[0])
                except ray.exceptions.RayTaskError as exc:
                    failures[key] = exc.cause if isinstance(exc.cause, BaseException) else exc
                    log.error("training job %s failed: %s", key, failures[key])
                    if not runner.keep_going:
                        for ref in pending:
                            ray.cancel(ref)
                        raise failures[key] from None
                bar.update(1)
        if failures:
            raise JobsFailed(failures, len(jobs))
        return results
    finally:
        if owns_ray:
            ray.shutdown()


def run_jobs_on_ray(jobs: dict[Hashable, TrainJob], runner: JobRunner) -> dict[Hashable, Any]:
    """Run the jobs on Ray: here, or in a child inside a private network namespace where one is needed."""
    ray_cfg = runner.ray or {}
    if not wants_isolation(ray_cfg.get("private_network", "auto"), ray_cfg.get("address")):
        return run_here(jobs, runner)
    import cloudpickle  # Ray's own pickler: jobs hold functions and config objects

    with tempfile.TemporaryDirectory(prefix="w2s-jobs-") as tmp:
        jobs_path, result_path = Path(tmp) / "jobs.pkl", Path(tmp) / "result.pkl"
        jobs_path.write_bytes(cloudpickle.dumps((jobs, runner)))
        argv = isolated_command([sys.executable, "-m", "labeling.exec.ray_jobs", str(jobs_path), str(result_path)])
        log.info("starting Ray for %d training jobs in a private network namespace", len(jobs))
        child = subprocess.Popen(argv, env=isolated_env())
        try:
            returncode = child.wait()
        except BaseException:  # SIGTERM or Ctrl-C here: the child must not train on alone
            stop_child(child)
            raise
        if not result_path.is_file():
            raise RuntimeError(f"the Ray training child failed with exit code {returncode} (log above)")
        outcome = pickle.loads(result_path.read_bytes())
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child: ``python -m labeling.exec.ray_jobs JOBS.pkl RESULT.pkl``."""
    import cloudpickle

    args = sys.argv[1:] if argv is None else argv
    exit_on_sigterm()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    jobs, runner = pickle.loads(Path(args[0]).read_bytes())
    try:
        outcome: Any = run_here(jobs, runner)
    except Exception as exc:  # handed back to the parent, which raises it as its own
        outcome = exc
    Path(args[1]).write_bytes(cloudpickle.dumps(outcome))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
