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
from eval import position_bias as eval_position_bias

from labeling.config import ExperimentConfig, LossSpec
from labeling.config.sources import PROMPTED, LabelSource, label_sources
from labeling.data.stage import Splits, prepare_splits
from labeling.experiment.preflight import check_experiment
from labeling.experiment.report import write_report
from labeling.experiment.report_html import write_html_report
from labeling.experiment.run_log import collected_warnings, write_warnings
from labeling.experiment.tracking import check_tracking, track_results
from labeling.store import atomic_write_text, reusing_only
from labeling.exec.backends import BackendSpec
from labeling.stages.transcripts import TranscriptSet, run_debates, swappable, transcript_stage
from labeling.stages.ensemble import ensemble_mean
from labeling.stages.prompted import run_prompted_judges
from labeling.stages.bootstrap import check_chain_fits, stage_names
from labeling.experiment.bootstrap import run_chains
from labeling.exec.train_pool import JobRunner, TrainJob, run_jobs
from labeling.stages.trained import (
    TrainedModel,
    job_runner,
    predict_view,
    train_ceiling,
    train_judge,
    train_student,
    train_weak_floor,
    transcript_view,
    weak_picks,
)

log = logging.getLogger(__name__)


FINETUNE_SEED_STRIDE = 7919  # training seed of finetune-ensemble member m: seed + m * stride


@dataclass
class SeedOutcome:
    """Everything trained with one training seed."""

    seed: int
    floor: TrainedModel
    ceiling: TrainedModel
    judges: dict[LabelSource, list[TrainedModel]] = field(default_factory=dict)  # members per label source
    labels: dict[LabelSource, np.ndarray] = field(default_factory=dict)  # soft labels on strong_train
    students: dict[tuple[LabelSource, str], TrainedModel] = field(default_factory=dict)  # (source, loss label)
    swapped_test: dict[str, np.ndarray] = field(default_factory=dict)  # protocol -> judge P(correct), A/B swapped
    position_bias: dict[str, np.ndarray] = field(default_factory=dict)  # protocol -> per test item, see below
    links: dict[LabelSource, list[list[TrainedModel]]] = field(default_factory=dict)  # bootstrapped: per link, folds

    def label_stages(self, source: LabelSource) -> list[str]:
        """The stage folders ``source``'s labels came from (its judges, or its chain's last link)."""
        return stage_names(self.links[source][-1] if source.bootstrapped else self.judges[source])


def _not_trained(protocol: str) -> TrainedModel:
    raise RuntimeError(f"the prompted judge of {protocol!r} is scored before training, not trained")


def _floor_job(cfg: ExperimentConfig, splits: Splits, train_seed: int) -> TrainJob:
    """The weak floor of ``train_seed`` as a training job (shared by every source that uses it)."""
    return TrainJob(("floor", train_seed), train_weak_floor, (cfg, splits, train_seed))


def member_keys(cfg: ExperimentConfig, source: LabelSource, seed: int) -> list[tuple]:
    """The training-job keys of the judges whose averaged labels make ``source`` (training seed ``seed``).

    ``("floor", train_seed)``, ``("judge", protocol, debate_seed, train_seed)`` or ``("prompted", protocol)``
    (scored before training); keys repeat across sources where they share a model. ``w2s plan`` counts them.
    """
    first = cfg.debate.seeds[0]
    k = len(cfg.debate.seeds)
    if source.ensemble == PROMPTED:
        return [("prompted", source.protocol)]
    if source.protocol == "none":
        if source.ensemble == "single":
            return [("floor", seed)]
        return [("floor", seed + m * FINETUNE_SEED_STRIDE) for m in range(k)]
    if source.ensemble == "single":
        return [("judge", source.protocol, first, seed)]
    if source.ensemble == "debate_ensemble":
        return [("judge", source.protocol, d, seed) for d in cfg.debate.seeds]
    return [("judge", source.protocol, first, seed + m * FINETUNE_SEED_STRIDE) for m in range(k)]


def _member_jobs(
    cfg: ExperimentConfig,
    splits: Splits,
    source: LabelSource,
    seed: int,
    transcripts: dict[tuple[str, int], TranscriptSet],
) -> list[TrainJob]:
    """The judges whose averaged labels make ``source``, as training jobs (keys shared across sources)."""
    jobs = []
    for key in member_keys(cfg, source, seed):
        if key[0] == "prompted":  # scored before training; the key finds its verdicts
            jobs.append(TrainJob(key, _not_trained, (key[1],)))
        elif key[0] == "floor":
            jobs.append(_floor_job(cfg, splits, key[1]))
        else:
            _, protocol, debate_seed, train_seed = key
            args = (cfg, splits, transcripts[(protocol, debate_seed)], protocol, debate_seed, train_seed)
            jobs.append(TrainJob(key, train_judge, args))
    return jobs


def position_bias(
    cfg: ExperimentConfig,
    splits: Splits,
    outcome: SeedOutcome,
    transcripts: dict[tuple[str, int], TranscriptSet],
) -> None:
    """Judge the test items' A/B-swapped debates; per item, P(correct) when A argues "correct" minus when B does.

    A positive mean means the judge favours the first speaker. Uses the judge of the first debate
    seed (the first member of the protocol's label sources) and stores results on ``outcome``.
    """
    first = cfg.debate.seeds[0]
    for protocol in (p for p in cfg.debate.protocols if p != "none" and swappable(p)):
        judge = next(members[0] for src, members in outcome.judges.items() if src.protocol == protocol)
        swapped = TranscriptSet.read(transcript_stage(cfg, protocol, first, swapped=True), cfg.debate.judge_view,
                                     cfg.debate.judge_input)
        view = transcript_view(splits["test"], swapped.texts, swapped.judge_input)
        p_swap = predict_view(cfg, judge.stage, "test_swapped", view, cfg.training.judge.max_length)
        p_orig = judge.predictions["test"]
        stances = transcripts[(protocol, first)].stances
        a_correct = np.array([stances[i]["A"] == "correct" for i in view.ids])
        outcome.swapped_test[protocol] = p_swap
        outcome.position_bias[protocol] = eval_position_bias(p_orig, p_swap, a_correct)


def _source_labels(outcome: SeedOutcome, source: LabelSource) -> np.ndarray:
    """The source's soft labels on strong_train: its judges' predictions averaged (NaN where none has one)."""
    # Members' strong_train predictions are NaN where their transcript failed (the failure policy).
    labels, _ = ensemble_mean(np.stack([m.predictions["strong_train"] for m in outcome.judges[source]]))
    if unlabeled := int(np.isnan(labels).sum()):
        log.warning("%s (seed %d): %d strong_train items have no label (every transcript failed); "
                    "students train without them", source, outcome.seed, unlabeled)
    return labels


def _student_jobs(cfg: ExperimentConfig, splits: Splits, outcome: SeedOutcome, source: LabelSource) -> list[TrainJob]:
    """One student per loss that applies to ``source``, trained on its labels."""
    jobs = []
    for loss in student_losses(cfg, source):
        args = (cfg, splits, source.name, outcome.labels[source], outcome.label_stages(source), outcome.seed, loss)
        jobs.append(TrainJob(("student", outcome.seed, source, loss.label), train_student, args))
    return jobs


def student_losses(cfg: ExperimentConfig, source: LabelSource) -> list[LossSpec]:
    """The losses a student is trained with on ``source``'s labels (one student each)."""
    return [loss for loss in cfg.training.student_losses if loss.applies_to(source.protocol, source.ensemble)]


def run_training(
    cfg: ExperimentConfig,
    splits: Splits,
    transcripts: dict[tuple[str, int], TranscriptSet],
    floors: dict[int, TrainedModel] | None = None,
    backend: BackendSpec | None = None,
) -> list[SeedOutcome]:
    """Train floor, ceiling, judges and students for every training seed.

    Phases, each a set of independent models run by ``training.workers`` processes (or Ray tasks): every model
    trained on gold labels (floors, ceilings, judges), the bootstrapping chains' links (one phase
    per link depth; none without ``training.bootstrap``), then every student.
    With ``prompted_judge`` set, the prompted judge first scores every protocol (on Ray,
    ``backend`` replacing its vLLM engine) and its verdicts are one more label source.
    """
    prompted = run_prompted_judges(cfg, splits, transcripts, backend) if cfg.prompted_judge else {}
    sources = label_sources(cfg)
    runner = JobRunner() if reusing_only() else job_runner(cfg)  # w2s eval only loads
    known: dict = {("floor", seed): model for seed, model in (floors or {}).items()}
    gold_jobs: list[TrainJob] = []
    members: dict[tuple[int, LabelSource], list[TrainJob]] = {}
    for protocol, verdicts in prompted.items():
        known[("prompted", protocol)] = verdicts
    for seed in cfg.training.seeds:
        gold_jobs += [
            _floor_job(cfg, splits, seed),
            TrainJob(("ceiling", seed), train_ceiling, (cfg, splits, seed)),
        ]
        for source in sources:
            members[(seed, source)] = _member_jobs(cfg, splits, source, seed, transcripts)
            gold_jobs += members[(seed, source)]
    known |= run_jobs([j for j in gold_jobs if j.key not in known], runner)

    outcomes = [SeedOutcome(seed=s, floor=known[("floor", s)], ceiling=known[("ceiling", s)]) for s in cfg.training.seeds]
    for outcome in outcomes:
        for source in sources:
            outcome.judges[source] = [known[job.key] for job in members[(outcome.seed, source)]]
            outcome.labels[source] = _source_labels(outcome, source)
    sources = sources + run_chains(cfg, splits, outcomes, sources, runner)
    student_jobs = [job for o in outcomes for source in sources for job in _student_jobs(cfg, splits, o, source)]
    students = run_jobs(student_jobs, runner)
    for outcome in outcomes:
        for source in sources:
            for loss in cfg.training.student_losses:
                key = ("student", outcome.seed, source, loss.label)
                if key in students:
                    outcome.students[(source, loss.label)] = students[key]
        if cfg.debate.swap_positions:
            position_bias(cfg, splits, outcome, transcripts)
    return outcomes


def floor_and_debates(
    cfg: ExperimentConfig, splits: Splits, backend: BackendSpec | None = None
) -> tuple[TrainedModel, dict[tuple[str, int], TranscriptSet]]:
    """Train (or reuse) the first weak floor, then run (or reuse) every debate; returns the transcripts, read once.

    The floor comes first because market-making argues against its no-transcript picks. A bootstrapping
    chain is checked against its checkpoints before anything runs.
    """
    if cfg.training.bootstrap:
        check_chain_fits(cfg)
    floor = train_weak_floor(cfg, splits, cfg.training.seeds[0])
    stages = run_debates(cfg, splits, backend, weak_picks=weak_picks(floor, splits), picks_from=floor.stage.path.name)
    return floor, {key: TranscriptSet.read(stage, cfg.debate.judge_view, cfg.debate.judge_input)
                   for key, stage in stages.items()}


def results_dir(cfg: ExperimentConfig) -> Path:
    """Where the experiment's table, plot and manifest go."""
    return Path(cfg.output_dir) / cfg.name


def run_pipeline(cfg: ExperimentConfig, *, backend: BackendSpec | None = None) -> Path:
    """Run every stage (reusing finished ones), write the results and ``report.html`` and log them to the tracking
    backend; returns the results folder."""
    started = time.perf_counter()
    with collected_warnings() as warned:
        check_tracking(cfg)
        check_experiment(cfg, chat_models=backend is None)
        splits = prepare_splits(cfg)
        log.info("splits: %s", {k: len(v) for k, v in splits.items()})
        floor, transcripts = floor_and_debates(cfg, splits, backend)
        outcomes = run_training(cfg, splits, transcripts, floors={cfg.training.seeds[0]: floor}, backend=backend)
        out = results_dir(cfg)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.json", json.dumps(cfg.model_dump(mode="json"), indent=2))
        write_report(cfg, splits, transcripts, outcomes, out, seconds=time.perf_counter() - started)
    write_warnings(out, warned.records)
    write_report_page(out)
    track_results(cfg, out)
    return out


def write_report_page(out: Path) -> None:
    """Write ``report.html`` beside the results; a failure is logged (the results are already written), not raised."""
    try:
        write_html_report(out)
    except Exception as exc:  # noqa: BLE001 - the table and figures stand without the page
        log.error("report.html could not be written (%s: %s); `w2s report %s` tries again", type(exc).__name__, exc, out)
