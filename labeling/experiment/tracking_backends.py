"""The three tracking writers (TensorBoard, MLflow, W&B) behind one small interface, each imported only when chosen."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any, Protocol

PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}
INSTALL_HINT = "pip install -e '.[tracking]' (or the package alone)"
_METRIC_UNSAFE = re.compile(r"[^\w\-./ :]")


def metric_key(name: str) -> str:
    """``name`` made a valid metric key for every backend (MLflow allows letters, digits, ``_-./ :``)."""
    return _METRIC_UNSAFE.sub("_", name)[:250]


def check_backend(backend: str) -> None:
    """Fail before any work when the chosen backend's package is not installed."""
    package = PACKAGES.get(backend)
    if package and importlib.util.find_spec(package) is None:
        raise ValueError(f"tracking.backend {backend!r} needs the {package!r} package, which is not installed: {INSTALL_HINT}")


class Tracker(Protocol):
    """What the run logs: its config, series with steps, single values, text documents, files."""

    def config(self, flat: dict[str, str]) -> None: ...
    def series(self, key: str, values: list[float]) -> None: ...
    def scalars(self, values: dict[str, float]) -> None: ...
    def text(self, name: str, body: str) -> None: ...
    def files(self, paths: list[Path]) -> None: ...
    def close(self) -> None: ...


class TensorBoardTracker:
    """Event files under ``folder`` (read them with ``tensorboard --logdir FOLDER``)."""

    def __init__(self, folder: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(folder))

    def config(self, flat: dict[str, str]) -> None:
        self.text("config", "\n".join(f"    {k}: {v}" for k, v in flat.items()))

    def series(self, key: str, values: list[float]) -> None:
        for step, value in enumerate(values):
            self.writer.add_scalar(metric_key(key), value, step)

    def scalars(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(metric_key(key), value, 0)

    def text(self, name: str, body: str) -> None:
        self.writer.add_text(metric_key(name), body, 0)

    def files(self, paths: list[Path]) -> None:
        """TensorBoard keeps no files: the results stay in the results folder."""

    def close(self) -> None:
        self.writer.close()


class MLflowTracker:
    """One MLflow run in ``experiment`` at ``uri`` (default: a SQLite file in ``folder``; artifacts in ``folder``)."""

    def __init__(self, folder: Path, uri: str | None, experiment: str, run_name: str) -> None:
        import mlflow

        if uri and uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # the user chose MLflow's file store
        self.mlflow = mlflow
        self.client = mlflow.MlflowClient(uri or f"sqlite:///{folder / 'mlflow.db'}")
        found = self.client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else self.client.create_experiment(
            experiment, artifact_location=(folder / "artifacts").as_uri())
        self.run_id = self.client.create_run(experiment_id, run_name=run_name).info.run_id

    def config(self, flat: dict[str, str]) -> None:
        params = [self.mlflow.entities.Param(k, v[:6000]) for k, v in flat.items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[start:start + 100])

    def series(self, key: str, values: list[float]) -> None:
        metrics = [self.mlflow.entities.Metric(metric_key(key), float(v), 0, step) for step, v in enumerate(values)]
        for start in range(0, len(metrics), 1000):
            self.client.log_batch(self.run_id, metrics=metrics[start:start + 1000])

    def scalars(self, values: dict[str, float]) -> None:
        metrics = [self.mlflow.entities.Metric(metric_key(k), float(v), 0, 0) for k, v in values.items()]
        for start in range(0, len(metrics), 1000):
            self.client.log_batch(self.run_id, metrics=metrics[start:start + 1000])

    def text(self, name: str, body: str) -> None:
        self.client.log_text(self.run_id, body, f"text/{metric_key(name)}.md")

    def files(self, paths: list[Path]) -> None:
        for path in paths:
            self.client.log_artifact(self.run_id, str(path))

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


class WandbTracker:
    """A W&B run in ``folder`` (offline by default: ``wandb sync`` uploads it later)."""

    def __init__(self, folder: Path, project: str, run_name: str, mode: str) -> None:
        import wandb

        self.wandb = wandb
        self.run = wandb.init(project=metric_key(project).replace("/", "-"), name=run_name, dir=str(folder), mode=mode,
                              reinit="create_new")

    def config(self, flat: dict[str, str]) -> None:
        self.run.config.update(flat, allow_val_change=True)

    def series(self, key: str, values: list[float]) -> None:
        name = metric_key(key)
        self.run.define_metric(name, step_metric=f"{name}/step")
        for step, value in enumerate(values):
            self.run.log({name: value, f"{name}/step": step})

    def scalars(self, values: dict[str, float]) -> None:
        self.run.summary.update({metric_key(k): v for k, v in values.items()})

    def text(self, name: str, body: str) -> None:
        self.run.summary[metric_key(name)] = body

    def files(self, paths: list[Path]) -> None:
        for path in paths:
            self.run.save(str(path), base_path=str(path.parent), policy="now")

    def close(self) -> None:
        self.run.finish()


def open_tracker(backend: str, folder: Path, *, uri: str | None, experiment: str, run_name: str, wandb_mode: str) -> Any:
    """The writer for ``backend`` with its files under ``folder``."""
    check_backend(backend)
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "tensorboard":
        return TensorBoardTracker(folder)
    if backend == "mlflow":
        return MLflowTracker(folder, uri, experiment, run_name)
    if backend == "wandb":
        return WandbTracker(folder, experiment, run_name, wandb_mode)
    raise ValueError(f"unknown tracking backend {backend!r}")
