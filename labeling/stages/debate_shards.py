"""The debate shard runner: what one engine actor does with one shard of a transcripts task.

It debates the shard's items with the actor's backend, round-synchronously, and writes one
parquet of transcripts with per-row provenance (rows in item order, no clock readings: the same
task with a deterministic backend always writes the same bytes). Wall-clock timings go to a
sidecar ``<shard>.timings.json`` written just before the shard; the turns' ``seconds`` inside
the shard are NaN. A shard that exists is never redone (it is only ever renamed into place whole).
Task parameters (``ShardTask.params``): protocol, seed, sampling, word_limit, and optionally
``weak_picks``, ``swap_positions``, ``quote_span_words``, ``quote_prefill`` and ``quote_pick``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import sys
import time
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from debate import DebateItem, SamplingConfig, Transcript, get_protocol, run_protocol, transcript_arrow_schema

from labeling.config import DebateSettings
from labeling.exec.shards import ShardKind, ShardTask
from labeling.store import atomic_write_rows, atomic_write_text

log = logging.getLogger(__name__)

DEBATE_SHARDS = ShardKind("debate", "labeling.stages.debate_shards:run_debate_shard")
TOOL_DISTRIBUTION = "w2s-debate"
TIMINGS_SUFFIX = ".timings.json"
_HF_SNAPSHOT = re.compile(r"/snapshots/([0-9a-f]{40})(?:/|$)")


def debate_params(debate: DebateSettings, protocol: str, seed: int, swap_positions: bool) -> dict[str, Any]:
    """A debate task's parameters (what `run_debate_shard` reads) from the debate settings of `w2s run` or `w2s label`."""
    return {
        "protocol": protocol,
        "seed": seed,
        "sampling": debate.sampling.model_dump(mode="json"),
        "word_limit": debate.word_limit,
        "swap_positions": swap_positions,
        "quote_span_words": debate.quote_span_words,
        "quote_prefill": debate.quote_prefill,
        "quote_pick": debate.quote_pick,
    }


def tool_version() -> str:
    """The installed version of this tool (``unknown`` when run from an uninstalled tree)."""
    try:
        return version(TOOL_DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def backend_provenance(backend: Any) -> dict[str, Any]:
    """What identifies the generator: backend class, model revision if known, vLLM version if vLLM."""
    cls = type(backend)
    vllm_version = None
    if cls.__name__ == "VLLMChatBackend" or "vllm" in cls.__module__:
        module = sys.modules.get("vllm")
        vllm_version = getattr(module, "__version__", None)
    model_id = str(getattr(backend, "model_id", ""))
    revision = getattr(backend, "model_revision", None)
    if revision is None:  # a hub cache path names its commit: .../snapshots/<sha>/
        match = _HF_SNAPSHOT.search(model_id)
        revision = match.group(1) if match else None
    return {
        "backend": f"{cls.__module__}.{cls.__qualname__}",
        "model_revision": revision,
        "vllm_version": None if vllm_version is None else str(vllm_version),
        "dtype": getattr(backend, "dtype", None),
    }


def shard_arrow_schema() -> Any:
    """Schema of a shard file: the transcript record plus per-row provenance of the shard task."""
    extra = [
        ("word_limit", pa.int64()),
        ("weak_pick", pa.int64()),
        ("tool_version", pa.string()),
        ("backend", pa.string()),
        ("model_revision", pa.string()),
        ("vllm_version", pa.string()),
        ("dtype", pa.string()),
    ]
    base = transcript_arrow_schema()
    return pa.schema(list(base) + [pa.field(name, kind) for name, kind in extra])


def timings_path(shard_path: Path) -> Path:
    """The sidecar holding a shard's wall-clock timings."""
    return shard_path.with_name(shard_path.name.removesuffix(".parquet") + TIMINGS_SUFFIX)


def shard_row(transcript: Any, provenance: dict[str, Any], weak_pick: int | None) -> dict[str, Any]:
    """One shard row: the transcript record (turn clocks moved to the sidecar) plus provenance."""
    record = transcript.to_record()
    record["turns"] = [{**turn, "seconds": math.nan} for turn in record["turns"]]
    return {**record, **provenance, "weak_pick": weak_pick}


def shard_summary(name: str, transcripts: list[Any], seconds: float) -> dict[str, Any]:
    """Counts of one debated shard: items, failures, prompt and completion tokens, seconds."""
    return {
        "shard": name,
        "n_items": len(transcripts),
        "failed": sum(t.failed is not None for t in transcripts),
        "prompt_tokens": sum(turn.prompt_tokens for t in transcripts for turn in t.turns),
        "completion_tokens": sum(turn.completion_tokens for t in transcripts for turn in t.turns),
        "seconds": seconds,
        "skipped": False,
    }


def run_debate_shard(backend: Any, task: ShardTask) -> dict[str, Any]:
    """Debate one shard with ``backend`` and write its transcripts; returns a summary.

    Skips the work when the shard file already exists (it is only ever renamed into place complete).
    """
    out_path, params = Path(task.out_path), task.params
    if out_path.exists():
        return {"shard": out_path.name, "n_items": task.n_items, "skipped": True}
    items_frame = pd.read_parquet(task.items_path).iloc[task.start : task.stop]
    evidence = items_frame["evidence"] if "evidence" in items_frame else [""] * len(items_frame)
    items = [
        DebateItem(item_id=str(r.id), question=str(r.question), answer=str(r.answer), evidence=str(e or ""))
        for r, e in zip(items_frame.itertuples(index=False), evidence)
    ]
    weak_picks = {str(k): int(v) for k, v in (params.get("weak_picks") or {}).items()}
    swap = bool(params.get("swap_positions", False))
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    started = time.perf_counter()
    round_ends: list[float] = []

    def report_turn(turn_index: int, n_turns: int) -> None:
        round_ends.append(time.perf_counter() - started)
        log.info(
            "%s: round %d/%d done for %d items (%.0f s)",
            out_path.name, turn_index + 1, n_turns, len(items), round_ends[-1],
        )

    transcripts: list[Transcript] = run_protocol(
        items,
        replace(get_protocol(params["protocol"]), word_limit=int(params["word_limit"])),
        backend,
        seed=int(params["seed"]),
        sampling=SamplingConfig(**params["sampling"]),
        on_turn=report_turn,
        weak_picks=weak_picks or None,
        swap_positions=swap,
        quote_span_words=params.get("quote_span_words"),
        quote_prefill=bool(params.get("quote_prefill", False)),
        quote_pick=bool(params.get("quote_pick", False)),
    )
    seconds = time.perf_counter() - started
    provenance = {"word_limit": int(params["word_limit"]), "tool_version": tool_version(), **backend_provenance(backend)}
    rows = [shard_row(t, provenance, weak_picks.get(t.item_id)) for t in transcripts]
    summary = shard_summary(out_path.name, transcripts, seconds)
    sidecar = {
        **summary,
        "started_at": started_at,
        "host": socket.gethostname(),
        "round_seconds": [b - a for a, b in zip([0.0, *round_ends], round_ends)],
        "turn_seconds": {t.item_id: [turn.seconds for turn in t.turns] for t in transcripts},
    }
    atomic_write_text(timings_path(out_path), json.dumps(sidecar, indent=1))
    atomic_write_rows(rows, out_path, shard_arrow_schema())
    return summary
