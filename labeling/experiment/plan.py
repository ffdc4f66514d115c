"""``w2s plan``: what a run (or a ``w2s compare`` grid) will cost, before anything runs.

The stages are enumerated by the functions the pipeline itself uses (``transcript_runs`` for the
debates, ``label_sources`` / ``member_keys`` / ``student_losses`` / ``chain_starts`` for the models),
so the plan lists the stage folders a run makes. Sizes come from the config (split sizes,
``max_tokens``, ``max_length``, epochs) and each model's architecture (``plan_models``); costs from
``plan_costs``. Token counts are upper bounds (every text at its truncation length, every turn at
``max_tokens``), so GPU-hours are too, at the assumed utilisation. Nothing is loaded but config.json files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from debate import get_protocol

from labeling.config import ExperimentConfig, ModelConfig, TrainSettings
from labeling.config.sources import label_sources
from labeling.experiment.bootstrap import chain_starts
from labeling.experiment.compare import dataset_configs
from labeling.experiment.pipeline import member_keys, student_losses
from labeling.experiment.plan_costs import (
    DECODE_EFFICIENCY, FORWARD_MFU, GB, TRAIN_MFU, GpuClass, engine_weight_bytes, forward_flops, gpu_hours,
    training_flops, training_memory,
)
from labeling.experiment.plan_models import architecture_of, lora_parameters, model_label, parameter_count
from labeling.stages.bootstrap import FOLDS, link_model
from labeling.experiment.plan_identity import (
    floor_identity, identity, judge_identity, member_identity, plan_data, transcript_identity, unshared,
)
from labeling.stages.stage_keys import student_semantic, student_settings, trained_semantic
from labeling.stages.transcripts import swappable, transcript_kind, transcript_runs


@dataclass(frozen=True)
class TranscriptPlan:
    """One transcripts stage: its items, turns per transcript and the tokens it may generate."""

    stage_kind: str
    protocol: str
    seed: int
    swapped: bool
    items: int
    turns: int
    max_generated_tokens: int
    identity: str = field(default="", compare=False)  # equal in two grid entries: one stage, run once


@dataclass(frozen=True)
class TrainingPlan:
    """One trained model (one stage folder): what it trains on, what it predicts, what it costs."""

    stage_kind: str
    role: str
    model: str
    params: int | None
    trainable: str
    examples: int
    epochs: float
    examples_seen: int
    max_length: int
    batch_size: int
    predicted_examples: int
    memory: dict[str, int] | None = None
    gpu_hours: float | None = None
    fits: bool | None = None
    model_config: ModelConfig | None = field(default=None, repr=False, compare=False)  # what is sized; not shown
    lora: tuple[int, tuple[str, ...]] | None = None  # (rank, target modules) when the role trains LoRA adapters
    gradient_checkpointing: bool = False
    processes: int = 1  # data-parallel processes (devices) the model trains on; memory is per process
    strategy: str = "ddp"  # ddp: a full replica per process; fsdp: weights and optimizer state sharded
    identity: str = field(default="", compare=False)  # equal in two grid entries: one stage, run once

    @property
    def micro_batch(self) -> int:
        """Examples one process forwards at a time: its share of the global batch."""
        return -(-self.batch_size // self.processes)


@dataclass(frozen=True)
class EnginePlan:
    """A vLLM engine the run starts (debater or prompted judge): its weights and whether they fit."""

    role: str
    model: str
    params: int | None
    weight_bytes: int | None
    fits: bool | None


@dataclass
class RunPlan:
    """Everything one experiment (one ``w2s run``, or one entry of a grid) will do, with its costs."""

    name: str
    gpu: str
    transcripts: list[TranscriptPlan] = field(default_factory=list)
    trainings: list[TrainingPlan] = field(default_factory=list)
    engines: list[EnginePlan] = field(default_factory=list)
    debate_gpu_hours: float | None = None
    prompted_requests: int = 0
    prompted_gpu_hours: float | None = None

    @property
    def training_gpu_hours(self) -> float | None:
        """Every model's fitting and predictions (None when a model's size is unknown)."""
        hours = [t.gpu_hours for t in self.trainings]
        return None if any(h is None for h in hours) else sum(hours)  # type: ignore[misc]

    @property
    def total_gpu_hours(self) -> float | None:
        """Debates, prompted judge and training together (None when any part is unknown)."""
        parts = [self.debate_gpu_hours, self.prompted_gpu_hours, self.training_gpu_hours]
        return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]


def _examples_seen(epochs: float, n: int) -> int:
    """Examples a training pass sees (``training.train.example_order``: round(epochs x n), at least 1)."""
    return max(1, round(epochs * n))


def transcript_plans(cfg: ExperimentConfig) -> list[TranscriptPlan]:
    """Every transcripts stage of the run (``transcript_runs``), sized: all splits, or test when swapped."""
    data = cfg.data
    every_item = data.weak_train + data.strong_train + data.test
    plans = []
    for protocol, seed, swapped in transcript_runs(cfg):
        turns = len(get_protocol(protocol).turns)
        items = data.test if swapped else every_item
        plans.append(TranscriptPlan(transcript_kind(protocol, seed, swapped=swapped), protocol, seed,
                                    swapped, items, turns, items * turns * cfg.debate.sampling.max_tokens,
                                    transcript_identity(cfg, protocol, seed, swapped)))
    return plans


def _job(kind: str, role: str, model: ModelConfig, settings: TrainSettings, examples: int,
         predicted: int, stage: str = "") -> TrainingPlan:
    """One model trained with ``settings`` on ``examples`` texts that then predicts ``predicted`` texts."""
    lora = settings.lora
    return TrainingPlan(kind, role, model_label(model), None, "lora" if lora is not None else settings.trainable,
                        examples, settings.epochs, _examples_seen(settings.epochs, examples), settings.max_length,
                        settings.batch_size, predicted, model_config=model,
                        lora=(lora.r, tuple(lora.target_modules)) if lora is not None else None,
                        gradient_checkpointing=settings.gradient_checkpointing, processes=settings.data_parallel,
                        strategy=settings.data_parallel_strategy, identity=stage)


def _gold_jobs(cfg: ExperimentConfig) -> dict[tuple, TrainingPlan]:
    """Floors, ceilings and judges of every training seed, keyed as the pipeline keys its training jobs."""
    t, d, m = cfg.training, cfg.data, cfg.models
    first = cfg.debate.seeds[0]
    jobs: dict[tuple, TrainingPlan] = {}

    def add(key: tuple) -> None:
        if key[0] == "floor":
            jobs[key] = _job("weak-floor", "weak floor", m.weak, t.weak, d.weak_train,
                             d.weak_train + d.strong_train + d.test, floor_identity(cfg, key[1]))
        elif key[0] == "judge":
            protocol, debate_seed, train_seed = key[1:]
            swapped = cfg.debate.swap_positions and swappable(protocol) and debate_seed == first \
                and train_seed in t.seeds
            jobs[key] = _job(f"judge-{protocol}-s{debate_seed}", f"judge ({protocol})", m.weak, t.judge,
                             d.weak_train, d.strong_train + 2 * d.test + (d.test if swapped else 0),
                             judge_identity(cfg, protocol, debate_seed, train_seed))

    for seed in t.seeds:
        add(("floor", seed))
        ceiling = identity("ceiling", trained_semantic(plan_data(cfg), m.strong, t.strong, seed, t.dtype))
        jobs[("ceiling", seed)] = _job("ceiling", "ceiling", m.strong, t.strong, d.strong_train, d.test, ceiling)
        for source in label_sources(cfg):
            for key in member_keys(cfg, source, seed):
                if key not in jobs and key[0] != "prompted":
                    add(key)
    return jobs


def training_plans(cfg: ExperimentConfig) -> list[TrainingPlan]:
    """Every model the run trains, in the pipeline's phases: gold-label models, bootstrap links, students."""
    t, d = cfg.training, cfg.data
    jobs = list(_gold_jobs(cfg).values())
    sources = label_sources(cfg)
    starts = chain_starts(cfg, sources)
    half = {0: (d.strong_train + 1) // 2, 1: d.strong_train // 2}  # stages/bootstrap.fold_of: alternate positions
    last_links: dict[tuple[int, str], list[str]] = {}  # (seed, chain start) -> its last link's fold stages
    for seed in t.seeds:
        for start in starts:
            for depth, link in enumerate(t.bootstrap, 1):
                folds = []
                for fold in range(FOLDS):
                    kind = f"bootstrap-{start.name}-l{depth}-f{fold}"
                    folds.append(unshared(cfg, kind, seed=seed))  # links are counted per entry
                    jobs.append(_job(kind, f"bootstrap link {depth}", link_model(cfg, link), t.strong, half[fold],
                                     half[1 - fold] + d.test, folds[-1]))
                last_links[(seed, start.name)] = folds
    students = sources + [replace(start, bootstrapped=True) for start in starts]
    for seed in t.seeds:
        for source in students:
            if source.bootstrapped:
                labels_from = last_links[(seed, replace(source, bootstrapped=False).name)]
            else:
                labels_from = [member_identity(cfg, key) for key in member_keys(cfg, source, seed)]
            for loss in student_losses(cfg, source):
                semantic = trained_semantic(student_semantic(plan_data(cfg), labels_from), cfg.models.strong,
                                            student_settings(t.strong, loss), seed, t.dtype)
                jobs.append(_job(f"student-{source.name}", "student", cfg.models.strong, t.strong,
                                 d.strong_train, d.test, identity(f"student-{source.name}", semantic)))
    return jobs


def costed(cfg: ExperimentConfig, job: TrainingPlan, gpu: GpuClass) -> TrainingPlan:
    """``job`` with its parameter count, memory, GPU-hours and whether it fits one GPU of ``gpu``.

    A data-parallel job's memory is one process's (a full replica under ddp, 1/processes of the weights,
    gradients and AdamW moments under fsdp; activations of its share of the batch);
    its GPU-hours are the sum over its devices (the same work as one process, in 1/processes of the time).
    """
    arch = architecture_of(job.model_config) if job.model_config is not None else None
    if arch is None:
        return job
    params = parameter_count(arch)
    bf16 = cfg.training.dtype != "float32"
    adapters = lora_parameters(arch, *job.lora) if job.lora is not None else None
    memory = training_memory(params, job.trainable, arch=arch, batch_size=job.micro_batch, seq_len=job.max_length,
                             bf16=bf16, trainable_params=adapters, gradient_checkpointing=job.gradient_checkpointing)
    if job.processes > 1 and job.strategy == "fsdp":  # each process keeps 1/processes of every per-parameter state
        memory = replace(memory, weights=memory.weights // job.processes, gradients=memory.gradients // job.processes,
                         optimizer=memory.optimizer // job.processes,
                         autocast_copies=memory.autocast_copies // job.processes,
                         optimizer_step=memory.optimizer_step // job.processes)
    fit = training_flops(params, job.trainable, job.examples_seen, job.examples, job.max_length,
                         job.gradient_checkpointing)
    predict = forward_flops(params, job.predicted_examples * job.max_length)
    efficiency = TRAIN_MFU if job.trainable in ("all", "lora") else FORWARD_MFU
    hours = gpu_hours(fit, gpu, efficiency) + gpu_hours(predict, gpu, FORWARD_MFU)
    fits = memory.total <= gpu.memory_gb * GB
    return replace(job, params=params, memory=memory.to_dict(), gpu_hours=hours, fits=fits)


def _engine(cfg: ExperimentConfig, role: str, model: ModelConfig, gpu: GpuClass) -> tuple[EnginePlan, int | None]:
    arch = architecture_of(model)
    if arch is None:
        return EnginePlan(role, model_label(model), None, None, None), None
    params = parameter_count(arch, head="lm")
    engine = cfg.debate.engine
    weights = engine_weight_bytes(params, engine.dtype)
    usable = gpu.memory_gb * GB * (engine.gpu_memory_utilization or 0.9) * engine.tensor_parallel_size
    return EnginePlan(role, model_label(model), params, weights, weights <= usable), params


def plan_run(cfg: ExperimentConfig, gpu: GpuClass) -> RunPlan:
    """The plan of one experiment on GPUs of class ``gpu``."""
    plan = RunPlan(cfg.name, gpu.name, transcript_plans(cfg), [costed(cfg, j, gpu) for j in training_plans(cfg)])
    if plan.transcripts:
        engine, params = _engine(cfg, "debater", cfg.models.debater, gpu)
        plan.engines.append(engine)
        tokens = sum(t.max_generated_tokens for t in plan.transcripts)
        plan.debate_gpu_hours = (None if params is None
                                 else gpu_hours(forward_flops(params, tokens), gpu, DECODE_EFFICIENCY))
    else:
        plan.debate_gpu_hours = 0.0
    plan.prompted_gpu_hours = 0.0
    if cfg.prompted_judge is not None:
        engine, params = _engine(cfg, "prompted judge", cfg.prompted_judge.model, gpu)
        plan.engines.append(engine)
        plan.prompted_requests, prompt_tokens = _prompted_requests(cfg)
        plan.prompted_gpu_hours = None if params is None else gpu_hours(forward_flops(params, prompt_tokens), gpu,
                                                                       FORWARD_MFU)
    return plan


def _prompted_requests(cfg: ExperimentConfig) -> tuple[int, int]:
    """Requests of the prompted judge (strong_train + test per protocol) and a bound on their prompt tokens:
    the item at ``training.weak.max_length`` plus the first seed's transcript at ``max_tokens`` per turn."""
    items = cfg.data.strong_train + cfg.data.test
    tokens = sum(items * (cfg.training.weak.max_length + len(get_protocol(p).turns) * cfg.debate.sampling.max_tokens)
                 for p in cfg.debate.protocols)
    return items * len(cfg.debate.protocols), tokens


def plan_command(cfg: ExperimentConfig, gpu: GpuClass, *, grid: bool) -> list[RunPlan]:
    """Plans of what a command runs: one experiment, or (``grid``) every entry of ``w2s compare``."""
    configs = dataset_configs(cfg) if grid else [cfg]
    return [plan_run(c, gpu) for c in configs]
