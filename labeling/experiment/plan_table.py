"""``w2s plan``'s output: markdown tables, a JSON document, and the one-paragraph summary ``w2s run`` logs."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, replace

from labeling.experiment.plan import RunPlan, TrainingPlan
from labeling.experiment.plan_costs import (
    DECODE_EFFICIENCY, FORWARD_MFU, GB, TRAIN_MFU, GpuClass,
)

ASSUMPTIONS = (
    f"Estimates, not measurements. Tokens are upper bounds: each training text at its role's max_length, "
    f"each debate turn at debate.sampling.max_tokens; split sizes as configured.",
    f"Training FLOPs: 6 x params x tokens seen (full fine-tuning); head-only: 2 x params x tokens, each text "
    f"read once by the frozen trunk; predictions: 2 x params x tokens. MFU {TRAIN_MFU:g} for training, "
    f"{FORWARD_MFU:g} for forward passes.",
    f"Generation: 2 x params per generated token at {DECODE_EFFICIENCY:g} of peak (batched decoding is "
    f"memory-bound); prompt prefill is not counted (prefix caching shares earlier turns).",
    "Memory per training job: fp32 weights + fp32 gradients + AdamW's two fp32 moments (16 B/param), a bf16 "
    "autocast copy of the weights (2 B/param), activations per layer s*b*(16h + 2*(5h + 2q + 2kv + 4i)) bytes "
    "in bf16 (what a transformers decoder layer saves under SDPA; attention scores not stored); total = the peak: "
    "weights + moments + the larger of (activations + autocast copy) and gradients, since the backward pass frees "
    "the one as it makes the other (+ one recomputed layer under gradient checkpointing), or, if larger, gradients "
    "+ the AdamW step's temporary (4 B per trainable param: torch's multi-tensor step on CUDA; measured on an "
    "H200); head-only: weights and "
    "one layer's activations; a data-parallel job (training.<role>.data_parallel): per process, a full replica "
    "(ddp) or 1/processes of the weights and optimizer state (fsdp), with its share of the batch.",
)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _params(value: int | None) -> str:
    if value is None:
        return "?"
    return f"{value / 1e9:.2f}B" if value >= 1e9 else f"{value / 1e6:.1f}M"


def _gb(value: float | None) -> str:
    return "?" if value is None else f"{value / GB:,.1f}"


def _hours(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:,.1f}" if value >= 0.1 else f"{value:.2g}"


def _yes(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "**no**")


def debate_table(plan: RunPlan) -> list[str]:
    """Transcripts per protocol (A/B-swapped runs on their own row), turns, generated-token bound."""
    if not plan.transcripts:
        return ["No debates (only the no-oversight protocol)."]
    rows = ["| protocol | stages | transcripts | turns each | generated tokens (upper bound) |",
            "|---|---:|---:|---:|---:|"]
    groups: dict[str, list] = {}
    for t in plan.transcripts:
        groups.setdefault(t.protocol + (" (A/B swapped, test items)" if t.swapped else ""), []).append(t)
    for name, stages in groups.items():
        rows.append(f"| {name} | {len(stages)} | {_n(sum(t.items for t in stages))} | {stages[0].turns} "
                    f"| {_n(sum(t.max_generated_tokens for t in stages))} |")
    rows.append(f"| **total** | {len(plan.transcripts)} | {_n(sum(t.items for t in plan.transcripts))} | "
                f"{_n(sum(t.items * t.turns for t in plan.transcripts))} turns "
                f"| {_n(sum(t.max_generated_tokens for t in plan.transcripts))} |")
    return rows


def _job_group(job: TrainingPlan) -> tuple:
    return (job.role, job.model, job.trainable, job.examples, job.epochs, job.examples_seen, job.max_length,
            job.predicted_examples, job.params, (job.memory or {}).get("total"), job.fits)


def training_table(plan: RunPlan, gpu: GpuClass) -> list[str]:
    """Training jobs grouped by what they are (role, model, sizes): count, examples, memory, GPU-hours."""
    rows = [f"| role | model | jobs | trainable | params | examples | epochs | examples seen per job "
            f"| max_length | predicted texts | memory per job GB | fits {gpu.name} | GPU-h (all jobs) |",
            "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    counts = Counter(_job_group(j) for j in plan.trainings)
    hours: dict[tuple, float | None] = {}
    for j in plan.trainings:
        key = _job_group(j)
        hours[key] = None if j.gpu_hours is None or hours.get(key, 0.0) is None else hours.get(key, 0.0) + j.gpu_hours
    for key, count in counts.items():
        role, model, trainable, examples, epochs, seen, length, predicted, params, memory, fits = key
        rows.append(f"| {role} | {model} | {count} | {trainable} | {_params(params)} | {_n(examples)} | {epochs:g} "
                    f"| {_n(seen)} | {length} | {_n(predicted)} | {_gb(memory)} | {_yes(fits)} "
                    f"| {_hours(hours[key])} |")
    rows.append(f"| **total** | | {len(plan.trainings)} | | | | | {_n(sum(j.examples_seen for j in plan.trainings))} "
                f"| | | | | {_hours(plan.training_gpu_hours)} |")
    return rows


def memory_table(plan: RunPlan, gpu: GpuClass) -> list[str]:
    """Memory of each distinct training job shape, by part (GB)."""
    rows = [f"| model | trainable | batch x max_length | weights | gradients | AdamW moments | AdamW step "
            f"| autocast copy | activations | total | fits {gpu.name} ({gpu.memory_gb:g} GB) |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    seen = set()
    for j in plan.trainings:
        shape = (j.model, j.trainable, j.batch_size, j.max_length, j.processes, j.strategy)
        if shape in seen or j.memory is None:
            continue
        seen.add(shape)
        m = j.memory
        batch = f"{j.batch_size} x {j.max_length}" + (
            f", {j.micro_batch} per process x {j.processes} ({j.strategy})" if j.processes > 1 else "")
        rows.append(f"| {j.model} | {j.trainable} | {batch} | {_gb(m['weights'])} "
                    f"| {_gb(m['gradients'])} | {_gb(m['optimizer'])} | {_gb(m['optimizer_step'])} "
                    f"| {_gb(m['autocast_copies'])} "
                    f"| {_gb(m['activations'])} | {_gb(m['total'])} | {_yes(j.fits)} |")
    return rows


def engine_lines(plan: RunPlan, gpu: GpuClass) -> list[str]:
    """One line per vLLM engine: its weights and whether one engine fits its GPUs."""
    return [f"- {e.role} engine {e.model}: {_params(e.params)} params, weights {_gb(e.weight_bytes)} GB, "
            f"fits {gpu.name} at gpu_memory_utilization x tensor_parallel_size: {_yes(e.fits)}" for e in plan.engines]


def hours_table(plan: RunPlan, gpu: GpuClass) -> list[str]:
    """GPU-hours of the run by part."""
    prompted = f" ({_n(plan.prompted_requests)} requests)" if plan.prompted_requests else ""
    return [f"| part | {gpu.name} GPU-hours (estimate) |", "|---|---:|",
            f"| debates (generation) | {_hours(plan.debate_gpu_hours)} |",
            f"| prompted judge{prompted} | {_hours(plan.prompted_gpu_hours)} |",
            f"| training + predictions | {_hours(plan.training_gpu_hours)} |",
            f"| **total** | {_hours(plan.total_gpu_hours)} |"]


def run_section(plan: RunPlan, gpu: GpuClass) -> list[str]:
    """Every table of one run's plan."""
    return (["### Debates", ""] + debate_table(plan) + [""] + engine_lines(plan, gpu)
            + ["", "### Training jobs", ""] + training_table(plan, gpu)
            + ["", "### Memory per training job (GB)", ""] + memory_table(plan, gpu)
            + ["", "### GPU-hours", ""] + hours_table(plan, gpu))


def plan_markdown(plans: list[RunPlan], gpu: GpuClass) -> str:
    """The whole plan as markdown; grid entries with the same plan share one section."""
    sections: dict[str, list[str]] = {}
    for plan in plans:
        sections.setdefault("\n".join(run_section(plan, gpu)), []).append(plan.name)
    lines = [f"# w2s plan on {gpu.name}: {gpu.bf16_tflops:g} TFLOP/s bf16 dense, {gpu.memory_gb:g} GB "
             f"({gpu.source})", ""]
    for body, names in sections.items():
        each = " (each)" if len(names) > 1 else ""
        lines += [f"## {', '.join(names)}{each}", "", body, ""]
    if len(plans) > 1:
        lines += ["## Grid total", "", summary_line(plans), ""]
    lines += ["Assumptions:", ""] + [f"- {a}" for a in ASSUMPTIONS]
    return "\n".join(lines) + "\n"


def _total(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


def distinct_stages(plans: list[RunPlan]) -> list[RunPlan]:
    """``plans`` without the stages an earlier entry already makes (a grid makes each stage folder once).

    An entry's debate GPU-hours shrink with the generated tokens its shared transcripts held.
    """
    seen: set[str] = set()

    def new(stage: str) -> bool:
        if not stage:  # not keyed: counted
            return True
        fresh = stage not in seen
        seen.add(stage)
        return fresh

    out = []
    for plan in plans:
        transcripts = [t for t in plan.transcripts if new(t.identity)]
        trainings = [j for j in plan.trainings if new(j.identity)]
        tokens = sum(t.max_generated_tokens for t in plan.transcripts)
        kept = sum(t.max_generated_tokens for t in transcripts)
        hours = plan.debate_gpu_hours
        if hours is not None and tokens:
            hours = hours * kept / tokens
        out.append(replace(plan, transcripts=transcripts, trainings=trainings, debate_gpu_hours=hours))
    return out


def summary_line(plans: list[RunPlan]) -> str:
    """The plan in one paragraph (what ``w2s run`` / ``w2s compare`` log before the first stage)."""
    gpu = plans[0].gpu
    every = plans
    plans = distinct_stages(plans)  # a grid's entries share stages (the same debates, floors, ...): counted once
    transcripts = [t for p in plans for t in p.transcripts]
    jobs = [j for p in plans for j in p.trainings]
    shared_transcripts = sum(len(p.transcripts) for p in every) - len(transcripts)
    shared_jobs = sum(len(p.trainings) for p in every) - len(jobs)
    shared = (f"; {_n(shared_transcripts)} transcript stages and {_n(shared_jobs)} training jobs of the entries' "
              f"tables are shared with an earlier entry and counted once" if shared_transcripts or shared_jobs else "")
    misfits = sorted({f"{j.role} {j.model}" for j in jobs if j.fits is False})
    largest = max((j.memory["total"] for j in jobs if j.memory), default=None)
    what = f"{len(plans)} runs" if len(plans) > 1 else plans[0].name
    fit = f"; do not fit one {gpu}: {', '.join(misfits)}" if misfits else ""
    debate_hours = _hours(_total([p.debate_gpu_hours for p in plans]))
    training_hours = _hours(_total([p.training_gpu_hours for p in plans]))
    total_hours = _hours(_total([p.total_gpu_hours for p in plans]))
    return (f"plan ({what}, estimates on {gpu}): {_n(len(transcripts))} transcript stages, "
            f"{_n(sum(t.items for t in transcripts))} transcripts, {_n(sum(t.items * t.turns for t in transcripts))} "
            f"turns, <= {_n(sum(t.max_generated_tokens for t in transcripts))} generated tokens "
            f"(~{debate_hours} GPU-h); {_n(len(jobs))} training jobs, {_n(sum(j.examples_seen for j in jobs))} "
            f"examples seen (~{training_hours} GPU-h), largest {_gb(largest)} GB{fit}; "
            f"total ~{total_hours} {gpu} GPU-hours{shared} (upper bounds; `w2s plan` shows the tables)")


def plan_json(plans: list[RunPlan], gpu: GpuClass) -> dict:
    """The plan as one JSON-serialisable document."""
    runs = []
    for plan in plans:
        data = asdict(plan)
        for job in data["trainings"]:
            job.pop("model_config", None)
        runs.append({**data, "training_gpu_hours": plan.training_gpu_hours, "total_gpu_hours": plan.total_gpu_hours})
    return {"gpu": asdict(gpu), "assumptions": {"train_mfu": TRAIN_MFU, "forward_mfu": FORWARD_MFU,
                                                "decode_efficiency": DECODE_EFFICIENCY, "notes": list(ASSUMPTIONS)},
            "summary": summary_line(plans), "runs": runs,
            "total_gpu_hours": _total([p.total_gpu_hours for p in distinct_stages(plans)])}
