"""The run summary of a ``w2s label`` folder: counts, failures by kind, tokens, seconds and throughput."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from labeling.label.judge_labels import read_seed_transcripts
from labeling.stages.debate_shards import timings_path

TOTAL_KEYS = ("transcripts", "failed", "prompt_tokens", "completion_tokens", "generation_seconds")


def failure_kind(reason: str) -> str:
    """The kind of a failure reason: 'turn 1: http_400: bad' -> 'http_400'."""
    parts = [p.strip() for p in reason.split(":")]
    if len(parts) > 1 and parts[0].startswith("turn "):
        parts = parts[1:]
    return parts[0]


def _sidecar(shard: Path) -> dict[str, Any]:
    path = timings_path(shard)
    return json.loads(path.read_text()) if path.is_file() else {}


def seed_counts(out: Path, seed: int, ids: list[str], reasons: dict[str, int]) -> dict[str, Any]:
    """Transcripts, failures, tokens and generation seconds of one seed; adds its failure kinds to ``reasons``."""
    frame = read_seed_transcripts(out, seed, ids)
    failed = frame["failed"].dropna()
    for reason in failed:
        kind = failure_kind(str(reason))
        reasons[kind] = reasons.get(kind, 0) + 1
    shards = sorted((out / "transcripts" / f"seed{seed}").glob("shard-*.parquet"))
    return {
        "transcripts": len(frame), "failed": int(len(failed)),
        "prompt_tokens": int(sum(t["prompt_tokens"] for ts in frame["turns"] for t in ts)),
        "completion_tokens": int(sum(t["completion_tokens"] for ts in frame["turns"] for t in ts)),
        "generation_seconds": round(sum(_sidecar(p).get("seconds", 0.0) for p in shards), 3),
    }


def summarize(out: Path, items: pd.DataFrame, seeds: list[int], new_shards: list[Path], wall: float,
              labels: dict[str, Any] | None) -> dict[str, Any]:
    """Counts, failures, tokens, seconds and throughput of the whole folder and of this invocation."""
    ids = items["id"].astype(str).tolist()
    reasons: dict[str, int] = {}
    per_seed = {f"seed{seed}": seed_counts(out, seed, ids, reasons) for seed in seeds}
    totals = {k: sum(s[k] for s in per_seed.values()) for k in TOTAL_KEYS}
    run_sidecars = [_sidecar(p) for p in new_shards]
    run_items = sum(s.get("n_items", 0) for s in run_sidecars)
    run_tokens = sum(s.get("completion_tokens", 0) for s in run_sidecars)
    return {
        "items": len(items), "seeds": seeds, "per_seed": per_seed, "totals": totals,
        "failure_kinds": reasons,
        "this_run": {"shards_run": len(new_shards), "items_debated": run_items, "completion_tokens": run_tokens,
                     "wall_seconds": round(wall, 3), "items_per_s": round(run_items / max(wall, 1e-9), 3),
                     "completion_tokens_per_s": round(run_tokens / max(wall, 1e-9), 2)},
        "labels": labels,
    }


def summary_line(summary: dict[str, Any], out: Path) -> str:
    """One human line about the folder and this invocation."""
    t, r = summary["totals"], summary["this_run"]
    return (f"label: {summary['items']} items x {len(summary['seeds'])} seeds = {t['transcripts']} transcripts, "
            f"{t['failed']} failed, {t['completion_tokens']} completion tokens; this run: {r['shards_run']} shards "
            f"in {r['wall_seconds']:.1f} s ({r['items_per_s']:.2f} items/s, {r['completion_tokens_per_s']:.1f} "
            f"tokens/s) -> {out}")
