"""The inputs and identity of a ``w2s label`` folder: its items, weak picks, and the settings its transcripts depend on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
from debate import PROMPT_VERSION

from labeling.data.records import not_utf8
from labeling.data.registry import DATASETS, load_items_file, load_rows
from labeling.exec.hardware import engine_dtype
from labeling.label.backends import backend_kwargs_text
from labeling.label.settings import LabelInput, LabelJobConfig
from labeling.stages.transcripts import LATER_DEBATE_DEFAULTS
from labeling.store import atomic_write_parquet, atomic_write_text, without_later_defaults


def load_items(spec: LabelInput) -> tuple[pd.DataFrame, str]:
    """Items from a registry spec ``name:split`` or a JSONL/Parquet file; returns (frame, dataset name)."""
    path = Path(spec.spec)
    if path.is_file():
        frame = load_items_file(path).to_pandas()
        dataset = "items"
    else:
        name, sep, split = spec.spec.partition(":")
        if not sep or name not in DATASETS:
            raise ValueError(f"input {spec.spec!r} is neither a file nor a registry spec like 'sciq:validation' "
                             f"(datasets: {sorted(DATASETS)})")
        frame = load_rows(name, source=spec.source, split=split, data_seed=spec.data_seed, limit=spec.limit).to_pandas()
        dataset = name
    if spec.limit is not None:
        frame = frame.head(spec.limit)
    return frame.reset_index(drop=True), dataset


def _weak_pick_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, row) for each row of a weak-picks file: ``line N`` of JSON lines, ``row N`` of Parquet."""
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None
        return [(f"row {n}", row) for n, row in enumerate(frame.to_dict("records"))]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: line {number}: invalid JSON: {err.msg}") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}: line {number}: expected an object with id and pick or prob")
        rows.append((f"line {number}", row))
    return rows


def _weak_pick(path: Path, where: str, row: dict[str, Any]) -> tuple[str, int]:
    """(id, pick) of one row; a ValueError naming the file and row for a missing id or a pick not 0/1."""
    if row.get("id") is None:
        raise ValueError(f"{path}: {where}: no id")
    if "pick" in row and row["pick"] is not None:
        pick = row["pick"]
        if isinstance(pick, bool) or pick not in (0, 1):
            raise ValueError(f"{path}: {where}: pick must be 0 or 1, got {pick!r}")
        return str(row["id"]), int(pick)
    prob = row.get("prob")
    if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0.0 <= prob <= 1.0:
        raise ValueError(f"{path}: {where}: needs pick (0/1) or prob (a number in [0, 1]), got {row!r:.120}")
    return str(row["id"]), int(prob >= 0.5)


def read_weak_picks(path: str | Path, ids: list[str]) -> dict[str, int]:
    """Weak picks per item from a Parquet or JSON-lines file with ``id`` and ``pick`` (0/1) or ``prob``.

    Errors name the file and the line (row): bad JSON, a pick not 0/1, a prob outside [0, 1], an id
    given twice with different picks, items without a pick.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weak picks file {path} does not exist" if not path.exists()
                                else f"weak picks file {path} is not a file")
    table: dict[str, int] = {}
    for where, row in _weak_pick_rows(path):
        item_id, pick = _weak_pick(path, where, row)
        if table.get(item_id, pick) != pick:
            raise ValueError(f"{path}: {where}: id {item_id!r} given again with another pick")
        table[item_id] = pick
    missing = [i for i in ids if i not in table]
    if missing:
        raise ValueError(f"{path}: no weak pick for {len(missing)} items, e.g. {missing[:3]}")
    return {i: table[i] for i in ids}


def job_semantic(cfg: LabelJobConfig, dataset: str, picks: dict[str, int] | None) -> dict[str, Any]:
    """Everything that changes a transcript; a rerun into the same folder must match it."""
    debate, backend = cfg.debate, cfg.backend
    return without_later_defaults({  # a setting added later is keyed only off its default: old folders still resume
        "input": cfg.input.spec, "dataset": dataset, "source": cfg.input.source, "data_seed": cfg.input.data_seed,
        "limit": cfg.input.limit, "protocol": debate.protocol, "backend": backend.kind, "model": backend.model,
        "dtype": engine_dtype(debate.engine.dtype, cfg.ray.num_gpus_per_actor) if backend.kind == "vllm" else None,
        "sampling": debate.sampling.model_dump(mode="json"),
        "block_size": debate.engine.block_size if backend.kind == "vllm" else None,
        "word_limit": debate.word_limit, "shard_size": debate.shard_size, "prompt_version": PROMPT_VERSION,
        "swap_positions": debate.swap_positions, "backend_kwargs": backend_kwargs_text(cfg),
        "quote_span_words": debate.quote_span_words,
        "quote_prefill": debate.quote_prefill, "quote_pick": debate.quote_pick,
        "weak_picks_sha256": None if picks is None else hashlib.sha256(
            json.dumps(picks, sort_keys=True).encode()).hexdigest(),
    }, LATER_DEBATE_DEFAULTS)


def check_job(out: Path, semantic: dict[str, Any], items: pd.DataFrame) -> None:
    """Write job.json and items.parquet on the first run; on a rerun, refuse different settings or items."""
    job_path = out / "job.json"
    if job_path.is_file():
        old = json.loads(job_path.read_text())
        changed = sorted(k for k in set(old) | set(semantic) if old.get(k) != semantic.get(k))
        if changed:
            detail = ", ".join(f"{k}: {old.get(k)!r} -> {semantic.get(k)!r}" for k in changed)
            raise ValueError(f"{out} was made with other settings ({detail}); use a new --out")
    else:
        atomic_write_text(job_path, json.dumps(semantic, indent=2, sort_keys=True))
    items_path = out / "items.parquet"
    if items_path.is_file():
        old_items = pd.read_parquet(items_path)
        if old_items[["id", "question", "answer"]].astype(str).values.tolist() != \
                items[["id", "question", "answer"]].astype(str).values.tolist():
            raise ValueError(f"{items_path} holds other items than the input gives now; use a new --out")
    else:
        atomic_write_parquet(items, items_path)
