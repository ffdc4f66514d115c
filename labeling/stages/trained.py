"""Stages 3-5: weak floor, ceiling, weak judges (with transcripts) and strong students.

Every trained model is one stage folder holding its checkpoint (``model/``), the labels it
was trained on (``train_labels.parquet``: id, label) and one parquet of predictions per
evaluated view (``pred_<view>.parquet``: id, prob). A rerun reuses a finished folder, keeps
a saved checkpoint and redoes only missing predictions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from training import ModelSpec, TrainConfig, predict_proba

from labeling.store import StageDir, atomic_write_parquet, require_finished, stage_dir
from labeling.config import ExperimentConfig, LossSpec, ModelConfig, TrainSettings
from labeling.data.stage import Splits, data_semantic
from labeling.stages.stage_keys import judge_semantic, student_semantic, student_settings, trained_semantic
from labeling.stages.transcripts import TranscriptSet
from labeling.exec.hardware import Precision, training_device, training_precision
from labeling.exec.ray_train import train_model
from labeling.exec.threads import ThreadPlan, resolve_threads
from labeling.exec.train_pool import JobRunner
from labeling.data.judge_input import judge_text, truncation_side
from labeling.store import resolve_model

log = logging.getLogger(__name__)

TRAIN_LABELS = "train_labels.parquet"  # in every training stage: id, the label it was trained on


@dataclass(frozen=True)
class View:
    """Texts to predict on, with their item ids."""

    ids: list[str]
    texts: list[str]


@dataclass(frozen=True)
class TrainedModel:
    """A finished training stage: its folder and the predictions per view name."""

    stage: StageDir
    predictions: dict[str, np.ndarray]

    @property
    def model_dir(self) -> Path:
        """The saved HF checkpoint."""
        return self.stage.path / "model"


def training_machine(cfg: ExperimentConfig) -> tuple[Precision, ThreadPlan]:
    """The precision and thread layout training uses on this machine (``auto`` resolved, logged once).

    With ``training.executor: ray`` each model is its own Ray task: ``auto`` threads are its CPUs.
    """
    training = cfg.training
    if training.executor == "ray" and training.threads == "auto":
        threads = max(1, int(training.job_cpus))
        plan = ThreadPlan(workers=1, threads=threads, reason=f"one Ray task per model with {training.job_cpus:g} CPUs")
    else:
        plan = resolve_threads(training.threads, training.workers, training_device())
    return training_precision(training.dtype), plan


def job_runner(cfg: ExperimentConfig) -> JobRunner:
    """Where this run's training jobs go: local worker processes or Ray tasks (``training.executor``)."""
    training = cfg.training
    processes = {"floor": training.weak.data_parallel, "ceiling": training.strong.data_parallel,
                 "judge": training.judge.data_parallel, "student": training.strong.data_parallel,
                 "bootstrap": training.strong.data_parallel}
    return JobRunner(workers=training_machine(cfg)[1].workers, executor=training.executor,
                     ray=cfg.ray.model_dump(mode="json"), job_cpus=training.job_cpus, job_gpus=training.job_gpus,
                     keep_going=training.on_failure == "continue", work_dir=str(cfg.output_dir),
                     processes={kind: n for kind, n in processes.items() if n > 1})


def recorded_dtype(stage: dict) -> str:
    """The precision a training stage's model was trained in (``stage.json``; older folders said ``bf16``)."""
    if "dtype" in stage:
        return str(stage["dtype"])
    return "bfloat16" if stage.get("bf16") else "float32"


def _train_config(cfg: ExperimentConfig, settings: TrainSettings, seed: int,
                  truncation_side: str = "right") -> "TrainConfig":
    """The role's settings plus this machine's threads and precision, the training seed and the cut side."""
    precision, plan = training_machine(cfg)
    return settings.to_library(seed=seed, threads=plan.threads, bf16=precision.bf16, truncation_side=truncation_side)


def train_and_predict(
    cfg: ExperimentConfig,
    kind: str,
    semantic: dict,
    model: ModelConfig,
    settings: TrainSettings,
    seed: int,
    train: View,
    train_labels: Sequence[float],
    views: dict[str, View],
    truncation_side: str = "right",
) -> TrainedModel:
    """Train one classifier (or reuse it; its training labels are kept) and predict P(label 1) on each view;
    ``truncation_side`` (keyed by the caller's ``semantic``) is the end a too-long text loses."""
    # a bf16 model is never reused as an fp32 one
    full_semantic = trained_semantic(semantic, model, settings, seed, training_machine(cfg)[0].dtype)
    stage = stage_dir(cfg.output_dir, kind, full_semantic)
    model_dir = stage.path / "model"
    if not stage.complete and (model_dir / "config.json").is_file():
        stage.begin()  # trained, its predictions interrupted: clear their temps, predict below
    elif not stage.complete:
        with stage.attempt(resumable=lambda: (model_dir / "config.json").is_file()):
            spec = ModelSpec(path=resolve_model(model.path), num_hidden_layers=model.num_hidden_layers)
            # Provenance: the labels this model learns from, per item (a chain's next link is checked against them).
            labels = pd.DataFrame({"id": train.ids, "label": np.asarray(train_labels, dtype=np.float64)})
            atomic_write_parquet(labels, stage.path / TRAIN_LABELS)
            log.info("training %s on %d items -> %s", kind, len(train.texts), model_dir)
            train_model(spec, train.texts, list(train_labels), _train_config(cfg, settings, seed, truncation_side),
                        model_dir, desc=f"train {kind}", use_gpu=cfg.training.job_gpus > 0,
                        cpus_per_worker=cfg.training.job_cpus)
    # A view added after the stage finished is predicted from the saved checkpoint.
    predictions = {name: predict_view(cfg, stage, name, view, settings.max_length) for name, view in views.items()}
    if not stage.complete:
        stage.finish({"train_items": len(train.texts), "views": sorted(views)})
    return TrainedModel(stage, predictions)


def predict_view(cfg: ExperimentConfig, stage: StageDir, name: str, view: View, max_length: int) -> np.ndarray:
    """P(label 1) of a stage's checkpoint on ``view``, cached as ``pred_<name>.parquet`` in the stage."""
    path = stage.path / f"pred_{name}.parquet"
    if not path.exists():
        require_finished(stage.kind, path, what=f"predictions on {name} of")
        precision, plan = training_machine(cfg)
        probs = predict_proba(
            stage.path / "model",
            view.texts,
            batch_size=cfg.training.predict_batch_size,
            max_length=max_length,
            threads=plan.threads,
            bf16=precision.bf16,
            desc=f"predict {stage.kind} {name}",
        )
        atomic_write_parquet(pd.DataFrame({"id": view.ids, "prob": probs}), path)
    frame = pd.read_parquet(path).set_index("id")
    return frame.loc[view.ids, "prob"].to_numpy(dtype=np.float64)


def plain_view(split: pd.DataFrame) -> View:
    """The Burns text of each item (what no-transcript models see)."""
    return View(ids=split["id"].tolist(), texts=split["text"].tolist())


def transcript_view(split: pd.DataFrame, transcripts: dict[str, str], layout: str = "item_first") -> View:
    """Item text + rendered transcript, formatted by the shared judge formatter in ``layout``."""
    ids = split["id"].tolist()
    missing = [i for i in ids if i not in transcripts]
    if missing:
        raise KeyError(f"{len(missing)} items have no transcript, e.g. {missing[:3]}")
    answers = split["answer"].astype(str).tolist() if "answer" in split else [""] * len(ids)
    return View(ids=ids, texts=[judge_text(t, transcripts[i], layout, a)
                                for i, t, a in zip(ids, split["text"].tolist(), answers)])


def train_weak_floor(cfg: ExperimentConfig, splits: Splits, seed: int) -> TrainedModel:
    """Weak model on weak_train gold labels, no transcripts: the floor and the no-oversight judge."""
    return train_and_predict(
        cfg,
        "weak-floor",
        data_semantic(cfg),
        cfg.models.weak,
        cfg.training.weak,
        seed,
        plain_view(splits["weak_train"]),
        splits["weak_train"]["label"].astype(float).tolist(),
        {name: plain_view(splits[name]) for name in ("weak_train", "strong_train", "test")},
    )


def weak_picks(floor: TrainedModel, splits: Splits) -> dict[str, int]:
    """The weak floor's no-transcript verdict per item (1 = it thinks the answer is correct).

    Market-making argues against this pick. On weak_train it is the floor's in-sample verdict.
    """
    picks: dict[str, int] = {}
    for name in ("weak_train", "strong_train", "test"):
        for item_id, prob in zip(splits[name]["id"], floor.predictions[name]):
            picks[str(item_id)] = int(prob >= 0.5)
    return picks


def train_ceiling(cfg: ExperimentConfig, splits: Splits, seed: int) -> TrainedModel:
    """Strong model on strong_train gold labels: the ceiling."""
    return train_and_predict(
        cfg,
        "ceiling",
        data_semantic(cfg),
        cfg.models.strong,
        cfg.training.strong,
        seed,
        plain_view(splits["strong_train"]),
        splits["strong_train"]["label"].astype(float).tolist(),
        {"test": plain_view(splits["test"])},
    )


def train_judge(
    cfg: ExperimentConfig,
    splits: Splits,
    transcripts: TranscriptSet,
    protocol: str,
    debate_seed: int,
    seed: int,
) -> TrainedModel:
    """Weak model on weak_train gold labels with one debate seed's transcripts as context.

    The failure policy: items whose transcript failed are left out of training, and its strong_train
    predictions (the labels it makes) are NaN there; test items are still scored.
    """
    side = truncation_side(transcripts.judge_input)
    semantic = judge_semantic(data_semantic(cfg), transcripts.stage.path.name, transcripts.view,
                              transcripts.judge_input)
    weak_train = splits["weak_train"]
    usable = weak_train[transcripts.finished(weak_train["id"].astype(str).tolist())]
    if len(usable) < len(weak_train):
        log.warning("judge %s-s%d: %d weak_train transcripts failed and are not trained on",
                    protocol, debate_seed, len(weak_train) - len(usable))
    judge = train_and_predict(
        cfg,
        f"judge-{protocol}-s{debate_seed}",
        semantic,
        cfg.models.weak,
        cfg.training.judge,
        seed,
        transcript_view(usable, transcripts.texts, transcripts.judge_input),
        usable["label"].astype(float).tolist(),
        {
            "strong_train": transcript_view(splits["strong_train"], transcripts.texts, transcripts.judge_input),
            "test": transcript_view(splits["test"], transcripts.texts, transcripts.judge_input),
            "test_plain": plain_view(splits["test"]),
        },
        truncation_side=side,
    )
    strong_ids = splits["strong_train"]["id"].astype(str).tolist()
    judge.predictions["strong_train"] = transcripts.labels_from(strong_ids, judge.predictions["strong_train"])
    return judge


def train_student(
    cfg: ExperimentConfig,
    splits: Splits,
    protocol: str,
    soft_labels: np.ndarray,
    label_sources: list[str],
    seed: int,
    loss: LossSpec | None = None,
) -> TrainedModel:
    """Strong model on strong_train items (no transcripts) with the judges' soft labels and ``loss``.

    Items without a label (NaN: every judge's transcript for them failed) are left out.
    """
    semantic = student_semantic(data_semantic(cfg), label_sources)
    labeled = ~np.isnan(np.asarray(soft_labels, dtype=np.float64))
    strong_train = splits["strong_train"][labeled]
    settings = student_settings(cfg.training.strong, loss)
    return train_and_predict(
        cfg,
        f"student-{protocol}",
        semantic,
        cfg.models.strong,
        settings,
        seed,
        plain_view(strong_train),
        np.asarray(soft_labels, dtype=np.float64)[labeled].tolist(),
        {"test": plain_view(splits["test"])},
    )
