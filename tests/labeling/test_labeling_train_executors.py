"""Training jobs on the local pool and as Ray tasks: same products, failures named by key, finished models kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling.exec.train_pool import JobRunner, JobsFailed, TrainJob, run_jobs
from labeling.experiment.pipeline import run_pipeline

from test_labeling_pipeline import SCRIPTED, tiny_config  # the pipeline tests' tiny SciQ run


def square_jobs(n: int) -> list[TrainJob]:
    return [TrainJob(("square", k), pow, (k, 2)) for k in range(n)]


def failing(key: str) -> TrainJob:
    return TrainJob(key, int, ("not a number",))  # int("not a number"): ValueError


@pytest.mark.parametrize("workers", [1, 2])
def test_local_jobs_stop_at_the_first_failure_or_finish_the_rest(workers: int) -> None:
    jobs = [*square_jobs(3), failing("bad")]
    with pytest.raises(ValueError, match="not a number"):
        run_jobs(jobs, JobRunner(workers=workers))
    with pytest.raises(JobsFailed, match=r"1 of 4 training jobs failed \(bad: ValueError") as err:
        run_jobs(jobs, JobRunner(workers=workers, keep_going=True))
    assert list(err.value.failures) == ["bad"]
    assert run_jobs(square_jobs(3) * 2, JobRunner(workers=workers)) == {("square", k): k * k for k in range(3)}


def test_ray_tasks_run_every_job_and_name_failures(ray_session) -> None:
    runner = JobRunner(executor="ray", job_cpus=0.5)
    assert run_jobs(square_jobs(4), runner) == {("square", k): k * k for k in range(4)}
    with pytest.raises(JobsFailed, match="bad: ValueError") as err:
        run_jobs([*square_jobs(2), failing("bad")], JobRunner(executor="ray", job_cpus=0.5, keep_going=True))
    assert list(err.value.failures) == ["bad"]
    with pytest.raises(ValueError, match="not a number"):
        run_jobs([failing("bad")], runner)


def predictions(cfg) -> dict[str, pd.Series]:
    """Every trained stage's test predictions, by stage folder name."""
    out = {}
    for stage in sorted((Path(cfg.output_dir) / "artifacts").iterdir()):
        path = stage / "pred_test.parquet"
        if path.is_file():
            out[stage.name] = pd.read_parquet(path).set_index("id")["prob"]
    return out


def test_the_ray_executor_trains_what_the_local_one_does_and_resumes(tmp_path, tiny_model_dir, shared_data,
                                                                      ray_session) -> None:
    local = tiny_config(tmp_path / "local", tiny_model_dir, shared_data)
    on_ray = tiny_config(tmp_path / "ray", tiny_model_dir, shared_data, "training.executor=ray",
                         "training.job_cpus=0.5", "training.threads=1")
    run_pipeline(local, backend=SCRIPTED)
    out = run_pipeline(on_ray, backend=SCRIPTED)
    by_local, by_ray = predictions(local), predictions(on_ray)
    assert by_local and set(by_local) == set(by_ray)  # the executor is not part of any stage key
    for name, probs in by_local.items():
        np.testing.assert_allclose(by_ray[name].loc[probs.index], probs, atol=1e-6, err_msg=name)
    assert json.loads((out / "config.json").read_text())["training"]["executor"] == "ray"

    # a kill mid-phase leaves some models unfinished: the rerun trains only those
    artifacts = Path(on_ray.output_dir) / "artifacts"
    students = sorted(p for p in artifacts.iterdir() if p.name.startswith("student-"))
    for stage in students[:2]:
        for child in stage.iterdir():
            if child.is_file():
                child.unlink()
            else:
                import shutil

                shutil.rmtree(child)
    kept = {p.name: (p / "COMPLETE").stat().st_mtime_ns for p in artifacts.iterdir() if (p / "COMPLETE").is_file()}
    run_pipeline(on_ray, backend=SCRIPTED)
    assert all((s / "COMPLETE").is_file() for s in students[:2])
    assert {name: (artifacts / name / "COMPLETE").stat().st_mtime_ns for name in kept} == kept
    retrained = predictions(on_ray)
    for stage in students[:2]:
        np.testing.assert_allclose(retrained[stage.name].loc[by_local[stage.name].index], by_local[stage.name],
                                   atol=1e-6)
