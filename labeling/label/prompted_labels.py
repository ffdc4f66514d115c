"""Prompted-judge labels for a ``w2s label`` folder: no trained judge needed.

After the transcripts, a prompted chat model (``prompted_judge.model.path``; ``--prompted-judge MODEL``) scores every item
whose transcript succeeded, per seed, on the same Ray actor machinery as the debates (one
engine per actor; shards written atomically, never redone). Results go beside the trained
judge's: ``labels/prompted_seed<k>.parquet`` and ``labels/prompted_ensemble.parquet``
(id, prob, failed); a failed transcript gives a null probability and its reason.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from debate import Transcript

from labeling.data.registry import item_text
from labeling.exec.shards import ShardTask
from labeling.store import atomic_write_parquet, atomic_write_rows, atomic_write_text
from labeling.label.judge_labels import label_schema, ensemble_rows, read_seed_transcripts
from labeling.stages.prompted import prompted_tasks, read_verdicts

log = logging.getLogger("w2s.label")

DEFAULT_CHOICES = ["Yes", "No"]


def seed_items(out: Path, seed: int, items: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """(split, id, text, transcript) of the seed's successful transcripts, and id -> failure reason of the rest."""
    ids = items["id"].astype(str).tolist()
    rows, failed = [], {}
    for record, item in zip(read_seed_transcripts(out, seed, ids).to_dict("records"), items.itertuples(index=False)):
        transcript = Transcript.from_record(record)
        if transcript.failed is not None:
            failed[str(item.id)] = transcript.failed
            continue
        text = item_text(dataset, str(item.question), str(item.answer))
        rows.append({"split": f"seed{seed}", "id": str(item.id), "text": text, "transcript": transcript.render()})
    return pd.DataFrame(rows, columns=["split", "id", "text", "transcript"]), failed


def prompted_label_all_seeds(
    out: Path,
    model: str,
    items: pd.DataFrame,
    seeds: list[int],
    *,
    dataset: str,
    shard_size: int,
    run_tasks: Callable[[list[ShardTask]], None],
    choices: list[str] = DEFAULT_CHOICES,
) -> dict[str, Any]:
    """Score every seed's transcripts with the prompted judge; write per-seed and ensemble labels.

    ``run_tasks`` executes prompted-judge tasks (on Ray, with the judge model's engine).
    Returns label counts per seed and for the ensemble.
    """
    labels_dir = out / "labels"
    marker = labels_dir / "prompted_judge.json"
    identity = {"model": model, "choices": list(choices)}
    if marker.is_file() and json.loads(marker.read_text()) != identity:
        raise ValueError(f"{labels_dir} holds labels of another prompted judge ({marker}); use a new --out")
    atomic_write_text(marker, json.dumps(identity, indent=2))
    folders, failures, tasks = {}, {}, []
    for seed in seeds:
        folder = labels_dir / "prompted" / f"seed{seed}"
        frame, failures[seed] = seed_items(out, seed, items, dataset)
        if not (folder / "items.parquet").is_file():
            atomic_write_parquet(frame, folder / "items.parquet")
        folders[seed] = folder
        tasks += [t for t in prompted_tasks(folder, len(frame), shard_size, choices) if not t.done]
    if tasks:
        log.info("prompted judge %s: %d shards to score", model, len(tasks))
        run_tasks(tasks)
    ids = items["id"].astype(str).tolist()
    per_seed: dict[int, pd.DataFrame] = {}
    counts: dict[str, Any] = {"prompted_judge": model}
    for seed in seeds:
        verdicts = dict(zip(*(read_verdicts(folders[seed])[c].tolist() for c in ("id", "prob"))))
        missing = [i for i in ids if i not in verdicts and i not in failures[seed]]
        if missing:
            raise RuntimeError(f"prompted judge, seed {seed}: no verdict for {len(missing)} items, e.g. {missing[:3]}")
        rows = [{"id": i, "prob": verdicts.get(i), "failed": failures[seed].get(i)} for i in ids]
        path = labels_dir / f"prompted_seed{seed}.parquet"
        atomic_write_rows(rows, path, label_schema())
        per_seed[seed] = pd.read_parquet(path)
        counts[f"seed{seed}"] = {"labeled": len(verdicts), "null": len(failures[seed])}
    ensemble = ensemble_rows(per_seed)
    atomic_write_rows(ensemble, labels_dir / "prompted_ensemble.parquet", label_schema(True, seeds))
    counts["ensemble"] = {"labeled": sum(r["prob"] is not None for r in ensemble),
                          "null": sum(r["prob"] is None for r in ensemble)}
    return counts
