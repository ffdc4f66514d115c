"""``tracking``: a finished run logged offline to TensorBoard, MLflow (SQLite and file store) and W&B, read back
with each tool's own reader."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from labeling.config import ConfigError
from labeling.experiment import tracking_backends
from labeling.experiment.tracking import check_tracking, flatten, result_metrics, track_results, trained_models
from labeling.experiment.tracking_backends import metric_key


def tracked(cfg, **settings):
    return cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update=settings)})


def expected(out: Path) -> tuple[list, dict]:
    manifest = json.loads((out / "manifest.json").read_text())
    rows = json.loads((out / "results.json").read_text())["rows"]
    return trained_models(manifest), result_metrics(rows)


def test_off_by_default_logs_nothing(report_run) -> None:
    cfg, out = report_run
    assert cfg.tracking.backend == "none" and track_results(cfg, out) is None and not (out / "tracking").exists()


def test_every_trained_model_and_result_row_is_found(report_run) -> None:
    cfg, out = report_run
    models, metrics = expected(out)
    # 2 training seeds x (floor, ceiling, judge, 2 students)
    assert len(models) == 10 and all(losses and seconds > 0 for _, losses, seconds in models)
    assert {name.split("/")[0] for name, _, _ in models} >= {"weak-floor", "ceiling", "judge-debate-s0"}
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert len([k for k in metrics if k.startswith("accuracy/")]) == len(rows)


def test_tensorboard_event_files_hold_losses_timings_and_table(report_run, tmp_path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg, out = report_run
    folder = track_results(tracked(cfg, backend="tensorboard", dir=str(tmp_path / "tb")), out)
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    models, metrics = expected(out)
    for name, losses, _ in models:
        series = events.Scalars(metric_key(f"train_loss/{name}"))
        assert [round(e.value, 5) for e in series] == [round(v, 5) for v in losses]
        assert metric_key(f"train_seconds/{name}") in scalars
    for key, value in metrics.items():
        assert events.Scalars(metric_key(key))[0].value == pytest.approx(value, rel=1e-6)
    assert "debate_seconds/debate/seed0" in scalars
    assert {"config/text_summary", "results/text_summary"} <= set(events.Tags()["tensors"])


@pytest.mark.parametrize("store", ["sqlite", "file"])
def test_mlflow_local_store_holds_params_metrics_and_files(report_run, tmp_path, store) -> None:
    from mlflow import MlflowClient

    cfg, out = report_run
    uri = None if store == "sqlite" else (tmp_path / "mlruns").as_uri()
    settings = tracked(cfg, backend="mlflow", dir=str(tmp_path / "ml"), mlflow_uri=uri, experiment="w2s-test")
    folder = track_results(settings, out)
    client = MlflowClient(uri or f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("w2s-test")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == cfg.name
    assert run.data.params["training.seeds"] == "[0, 1]" and run.data.params["data.dataset"] == "sciq"
    models, metrics = expected(out)
    name, losses, _ = models[0]
    history = client.get_metric_history(run.info.run_id, metric_key(f"train_loss/{name}"))
    assert [m.step for m in history] == list(range(len(losses))) and history[-1].value == pytest.approx(losses[-1])
    for key, value in metrics.items():
        assert run.data.metrics[metric_key(key)] == pytest.approx(value)
    files = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"results.md", "results.json", "report.html", "text"} <= files


def test_wandb_offline_run_is_written_to_disk(report_run, tmp_path, monkeypatch) -> None:
    """W&B's offline run file is a binary log that only its own sync tool reads (the Python reader is gone from
    the package): check that it holds every logged key, and that the results files were saved beside it."""
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg, out = report_run
    folder = track_results(tracked(cfg, backend="wandb", dir=str(tmp_path / "wb")), out)
    (run_dir,) = (folder / "wandb").glob("offline-run-*")
    (log_file,) = run_dir.glob("run-*.wandb")
    models, metrics = expected(out)
    keys = [f"train_loss/{name}" for name, _, _ in models] + list(metrics) + ["training.seeds"]
    # W&B's service process writes the log after finish() returns (a loaded CI once read only its 8-byte header)
    deadline = time.monotonic() + 60
    while not all(metric_key(k).encode() in log_file.read_bytes() for k in keys) and time.monotonic() < deadline:
        time.sleep(0.5)
    written = log_file.read_bytes()
    for key in keys:
        assert metric_key(key).encode() in written, key
    assert {"results.md", "results.json", "report.html"} <= {p.name for p in (run_dir / "files").iterdir()}


def test_a_missing_backend_package_stops_the_run_before_it_starts(report_run, monkeypatch) -> None:
    cfg, _ = report_run
    monkeypatch.setattr(tracking_backends.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match="needs the 'mlflow' package.*pip install"):
        check_tracking(tracked(cfg, backend="mlflow"))


def test_tracking_config_is_checked(tmp_path) -> None:
    from labeling.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("name: t\nmodels: {weak: {path: a}, strong: {path: b}, debater: {path: c}}\n")
    with pytest.raises(ConfigError, match="tracking.backend"):
        load_config(path, ["tracking.backend=neptune"])
    with pytest.raises(ConfigError, match="tracking.colour"):
        load_config(path, ["tracking.colour=red"])
    assert load_config(path, ["tracking.dir=rel"]).tracking.dir == str(Path("rel").resolve())


def test_flatten_and_metric_keys() -> None:
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": "x"}) == {"a.b": "1", "a.c": "[1, 2]", "d": "x"}
    assert metric_key("accuracy/student <- debate labels, k=2 (x)") == "accuracy/student _- debate labels_ k_2 _x_"
