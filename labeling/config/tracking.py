"""The ``tracking`` section: where a run's config, training losses, stage timings and table are also logged."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from labeling.config.base import StrictSection


class TrackingConfig(StrictSection):
    """Experiment tracking through TensorBoard, MLflow or Weights & Biases; off unless ``backend`` is set.

    Everything is logged once the results are written, from the run's own files, so a tracked run
    and an untracked one train and score exactly the same models.
    """

    backend: Literal["none", "tensorboard", "mlflow", "wandb"] = Field(
        "none", description="none (default), tensorboard, mlflow or wandb")
    dir: str | None = Field(None, description="where the logs go; null = <results folder>/tracking")
    experiment: str | None = Field(None, description="experiment (MLflow) or project (W&B) name; null = the run's name")
    mlflow_uri: str | None = Field(
        None, description="MLflow tracking URI; null = sqlite:///<dir>/mlflow.db (local, offline); file:... = file store")
    wandb_mode: Literal["offline", "online"] = Field("offline", description="W&B mode; offline writes files only")
