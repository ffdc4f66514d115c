"""``tracking``: log a finished run to TensorBoard, MLflow or W&B from the files it wrote.

Logged: the config (flattened to dotted keys), every trained model's per-step training loss
(``train_loss/<model folder kind>/seed<N>``) and training seconds, each debate's wall seconds
(the sum of its turns' shares), and the results table (``accuracy/<method>``, ``pgr/<method>``,
``ece/…``, ``brier/…``, plus the markdown table and results files). Logging happens after the
results are written, so tracking never changes what is trained or scored.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from training.checkpoints import TRAIN_LOG

from labeling.config import ExperimentConfig
from labeling.exec.shards import read_shards
from labeling.experiment.manifest import stage_folders
from labeling.experiment.tracking_backends import check_backend, open_tracker

log = logging.getLogger(__name__)

TRACKED_FILES = ("results.md", "results.json", "results.csv", "manifest.json", "report.html")


def check_tracking(cfg: ExperimentConfig) -> None:
    """Before any stage runs: the chosen backend's package is installed."""
    if cfg.tracking.backend != "none":
        check_backend(cfg.tracking.backend)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A nested config as ``{"training.judge.lr": "0.001", ...}`` (lists as JSON)."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, inner in value.items():
            flat.update(flatten(inner, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value if isinstance(value, str) else json.dumps(value)}


def trained_models(manifest: dict) -> list[tuple[str, list[float], float]]:
    """Every model folder behind the table as (name, loss per step, training seconds), each folder once."""
    found = []
    for folder in stage_folders(manifest):
        train_log, stage = folder / "model" / TRAIN_LOG, folder / "stage.json"
        if not train_log.is_file():
            continue
        trained = json.loads(train_log.read_text())
        seed = json.loads(stage.read_text()).get("seed") if stage.is_file() else None
        name = folder.name.rsplit("-", 1)[0] + ("" if seed is None else f"/seed{seed}")
        found.append((name, [float(x) for x in trained.get("loss_per_step", [])], float(trained.get("seconds", 0.0))))
    return found


def debate_seconds(manifest: dict) -> dict[str, float]:
    """Each debate's wall seconds: the sum over its items and turns of the turns' shares of round time."""
    seconds = {}
    for key, stats in manifest.get("transcripts", {}).items():
        frame = read_shards(Path(stats["stage"]))
        seconds[f"debate_seconds/{key}"] = float(sum(t["seconds"] for turns in frame["turns"] for t in turns))
    return seconds


def result_metrics(rows: list[dict]) -> dict[str, float]:
    """The results table as flat metrics: ``accuracy/<method>`` and, where present, PGR, ECE, Brier, AUROC."""
    metrics = {}
    for row in rows:
        for column in ("accuracy", "pgr", "ece", "brier"):
            estimate = row.get(column)
            if estimate and estimate.get("value") is not None:
                metrics[f"{column}/{row['method']}"] = float(estimate["value"])
        if row.get("auroc") is not None:
            metrics[f"auroc/{row['method']}"] = float(row["auroc"])
    return metrics


def track_results(cfg: ExperimentConfig, out: Path) -> Path | None:
    """Log the finished run in ``out`` to the configured backend; returns the tracking folder (None when off)."""
    settings = cfg.tracking
    if settings.backend == "none":
        return None
    folder = Path(settings.dir) if settings.dir else out / "tracking"
    results = json.loads((out / "results.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    tracker = open_tracker(settings.backend, folder, uri=settings.mlflow_uri, experiment=settings.experiment or cfg.name,
                           run_name=cfg.name, wandb_mode=settings.wandb_mode)
    try:
        tracker.config(flatten(cfg.model_dump(mode="json")))
        models = trained_models(manifest)
        for name, losses, _ in models:
            tracker.series(f"train_loss/{name}", losses)
        timings = {f"train_seconds/{name}": seconds for name, _, seconds in models}
        timings["run/wall_seconds_this_invocation"] = float(results["meta"].get("wall_seconds_this_invocation") or 0.0)
        tracker.scalars({**timings, **debate_seconds(manifest), **result_metrics(results["rows"])})
        tracker.text("results", (out / "results.md").read_text())
        tracker.files([out / name for name in TRACKED_FILES if (out / name).is_file()])
    finally:
        tracker.close()
    log.info("tracking: %s logged %d models' losses and %d result rows to %s", settings.backend, len(models),
             len(results["rows"]), folder)
    return folder
