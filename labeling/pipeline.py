"""The whole experiment: data -> debate -> weak judges -> strong students -> results table.

``run_pipeline(cfg)`` runs (or reuses) every stage and writes the results to
``<output_dir>/<name>/``. Each stage function can also be called alone; the CLI
exposes them as ``w2s data``, ``w2s debate``, ``w2s train`` and ``w2s eval``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeling.artifacts import atomic_write_text
from labeling.config import ExperimentConfig
from labeling.data_stage import prepare_splits
from labeling.debate_stage import BackendSpec, debated_protocols, read_transcripts, run_debates
from labeling.train_stages import TrainedModel, train_ceiling, train_judge, train_student, train_weak_floor

log = logging.getLogger(__name__)


@dataclass
class SeedOutcome:
    """Everything trained with one training seed."""

    seed: int
    floor: TrainedModel
    ceiling: TrainedModel
    judges: dict[str, list[TrainedModel]] = field(default_factory=dict)  # protocol -> one per debate seed
    students: dict[str, TrainedModel] = field(default_factory=dict)  # protocol -> student
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # protocol -> soft labels on strong_train


def transcripts_by_item(frame: pd.DataFrame) -> dict[str, str]:
    """item id -> rendered transcript text, from a stage's transcript records."""
    from debate import Transcript

    return {str(r["item_id"]): Transcript.from_record(r).render() for r in frame.to_dict(orient="records")}


def run_training(
    cfg: ExperimentConfig, splits: dict[str, pd.DataFrame], transcript_stages: dict
) -> list[SeedOutcome]:
    """Train floor, ceiling, judges and students for every training seed."""
    transcripts = {key: transcripts_by_item(read_transcripts(stage)) for key, stage in transcript_stages.items()}
    outcomes = []
    for seed in cfg.training.seeds:
        floor = train_weak_floor(cfg, splits, seed)
        ceiling = train_ceiling(cfg, splits, seed)
        outcome = SeedOutcome(seed=seed, floor=floor, ceiling=ceiling)
        outcome.labels["none"] = floor.predictions["strong_train"]
        for protocol in debated_protocols(cfg):
            judges = [
                train_judge(cfg, splits, transcripts[(protocol, k)], transcript_stages[(protocol, k)], protocol, k, seed)
                for k in cfg.debate.seeds
            ]
            outcome.judges[protocol] = judges
            # Debate ensemble: one judge per debate seed, soft labels averaged.
            outcome.labels[protocol] = np.mean([j.predictions["strong_train"] for j in judges], axis=0)
        for protocol in cfg.debate.protocols:
            sources = (
                [floor.stage.path.name]
                if protocol == "none"
                else [j.stage.path.name for j in outcome.judges[protocol]]
            )
            outcome.students[protocol] = train_student(
                cfg, splits, protocol, outcome.labels[protocol], sources, seed
            )
        outcomes.append(outcome)
    return outcomes


def results_dir(cfg: ExperimentConfig) -> Path:
    """Where the experiment's table, plot and manifest go."""
    return Path(cfg.output_dir) / cfg.name


def run_pipeline(cfg: ExperimentConfig, *, backend: BackendSpec | None = None) -> Path:
    """Run every stage (reusing finished ones) and write the results; returns the results folder."""
    from labeling.report import write_report

    started = time.perf_counter()
    splits = prepare_splits(cfg)
    log.info("splits: %s", {k: len(v) for k, v in splits.items()})
    transcript_stages = run_debates(cfg, splits, backend)
    outcomes = run_training(cfg, splits, transcript_stages)
    out = results_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.json", json.dumps(cfg.model_dump(mode="json"), indent=2))
    write_report(cfg, splits, transcript_stages, outcomes, out, seconds=time.perf_counter() - started)
    return out
