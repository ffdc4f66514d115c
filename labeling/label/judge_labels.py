"""Judge soft labels for a ``w2s label`` folder: one file per debate seed, and their ensemble.

The judge is a trained stage folder (``model/`` + ``stage.json``). Each item is shown to it
exactly as in its training: ``judge_text(item_text(<judge's dataset>, question, answer),
transcript.render())``. An item whose transcript failed gets a null probability and the
failure reason; it is never scored on a partial transcript.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from debate import Transcript
from training import predict_proba

from labeling.data.judge_input import judge_text
from labeling.data.registry import item_text
from labeling.store import atomic_write_rows, atomic_write_text
from labeling.exec.hardware import inference_precision
from labeling.exec.threads import available_cores
from labeling.exec.shards import read_shards
from labeling.stages.ensemble import ensemble_mean
from labeling.stages.judge_folder import read_judge_folder

log = logging.getLogger("w2s.label")

def read_seed_transcripts(out: Path, seed: int, ids: list[str]) -> pd.DataFrame:
    """All transcripts of one seed in item order; an error unless each item appears exactly once."""
    try:
        frame = read_shards(out / "transcripts" / f"seed{seed}")
    except FileNotFoundError:
        raise RuntimeError(f"{out}/transcripts/seed{seed} has no shards") from None
    got = frame["item_id"].astype(str).tolist()
    if sorted(got) != sorted(ids) or len(set(got)) != len(got):
        raise RuntimeError(f"seed {seed}: {len(got)} transcripts ({len(set(got))} distinct) for {len(ids)} items")
    return frame.set_index(frame["item_id"].astype(str)).loc[ids].reset_index(drop=True)


def read_judge(judge_dir: Path) -> dict[str, Any]:
    """The judge's checkpoint, dataset, max_length and precision, from the shared judge-folder reader.

    Any trained classifier folder is accepted (its name need not be a judge's).
    """
    folder = read_judge_folder(judge_dir, strict=False)
    return {
        "path": str(folder.path), "model_dir": str(folder.model_dir), "dataset": folder.dataset,
        "max_length": folder.max_length, "trained_dtype": folder.trained_dtype,
        "protocol": folder.protocol, "stage_sha256": folder.stage_sha256, "judge_input": folder.judge_input,
    }


def label_schema(ensemble: bool = False, seeds: list[int] | None = None) -> Any:
    """Arrow schema of a labels file (id, prob[, n_seeds], failed); an ensemble records its seeds."""
    fields = [("id", pa.string()), ("prob", pa.float64())]
    if ensemble:
        fields.append(("n_seeds", pa.int64()))
    fields.append(("failed", pa.string()))
    meta = {b"seeds": ",".join(map(str, seeds)).encode()} if seeds is not None else None
    return pa.schema(fields, metadata=meta)


def judge_seed(judge: dict[str, Any], transcripts: pd.DataFrame, items: pd.DataFrame,
               batch_size: int, threads: int) -> list[dict[str, Any]]:
    """Rows {id, prob, failed} for one seed's transcripts (aligned with ``items``)."""
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    scored: list[int] = []
    for index, (record, item) in enumerate(zip(transcripts.to_dict("records"), items.itertuples(index=False))):
        transcript = Transcript.from_record(record)
        rows.append({"id": str(item.id), "prob": None, "failed": transcript.failed})
        if transcript.failed is None:
            scored.append(index)
            texts.append(judge_text(item_text(judge["dataset"], str(item.question), str(item.answer)),
                                    transcript.render(), judge.get("judge_input", "item_first"), str(item.answer)))
    if texts:
        probs = predict_proba(judge["model_dir"], texts, batch_size=batch_size, max_length=judge["max_length"],
                              threads=threads, bf16=judge["dtype"] == "bfloat16", desc="judge labels", device="cpu")
        for index, prob in zip(scored, probs):
            rows[index]["prob"] = float(prob)
    return rows


def ensemble_rows(per_seed: dict[int, pd.DataFrame]) -> list[dict[str, Any]]:
    """Mean probability over the seeds whose transcript succeeded (``ensemble_mean``); null when none did."""
    seeds = sorted(per_seed)
    ids = per_seed[seeds[0]]["id"].astype(str).tolist()
    probs = np.stack([per_seed[s]["prob"].astype("float64").to_numpy() for s in seeds])
    means, counts = ensemble_mean(probs)
    rows = []
    for index, item_id in enumerate(ids):
        reasons = [f"seed{s}: {per_seed[s]['failed'].iloc[index]}" for s in seeds
                   if isinstance(per_seed[s]["failed"].iloc[index], str)]
        mean = float(means[index])
        rows.append({"id": item_id, "prob": None if np.isnan(mean) else mean,
                     "n_seeds": int(counts[index]), "failed": "; ".join(reasons) or None})
    return rows


def judge_all_seeds(out: Path, judge_dir: Path, items: pd.DataFrame, seeds: list[int], *, dataset_hint: str,
                    batch_size: int = 16, threads: int | str = "auto", dtype: str = "auto",
                    protocol: str | None = None) -> dict[str, Any]:
    """Write labels/seed<k>.parquet (skipping finished ones) and labels/ensemble.parquet; returns counts.

    ``dtype``/``threads`` ``auto`` fit this machine (see ``labeling.exec.hardware``); the precision is part of
    the labels' identity, so a rerun in another precision refuses to mix labels.
    """
    judge = read_judge(judge_dir)
    judge["dtype"] = inference_precision(dtype, judge["trained_dtype"]).dtype
    threads = available_cores() if threads == "auto" else int(threads)
    if judge["protocol"] is not None and protocol is not None and judge["protocol"] != protocol:
        log.warning("judge %s was trained on %r transcripts, labeling %r ones", judge_dir.name, judge["protocol"], protocol)
    if dataset_hint not in ("items", judge["dataset"]):
        log.warning("items come from %r, the judge was trained on %r (its item format is used)", dataset_hint, judge["dataset"])
    labels_dir = out / "labels"
    identity = {k: judge[k] for k in ("path", "stage_sha256", "dtype")}
    marker = labels_dir / "judge.json"
    if marker.is_file() and json.loads(marker.read_text()) != identity:
        raise ValueError(f"{labels_dir} holds labels of another judge ({marker}); remove labels/ or use a new --out")
    atomic_write_text(marker, json.dumps(identity, indent=2))
    ids = items["id"].astype(str).tolist()
    per_seed: dict[int, pd.DataFrame] = {}
    counts: dict[str, Any] = {"judge": judge["path"], "dataset": judge["dataset"], "dtype": judge["dtype"]}
    for seed in seeds:
        path = labels_dir / f"seed{seed}.parquet"
        if not path.is_file():
            rows = judge_seed(judge, read_seed_transcripts(out, seed, ids), items, batch_size, threads)
            atomic_write_rows(rows, path, label_schema())
            log.info("labels seed %d: %s", seed, path)
        frame = pd.read_parquet(path)
        if frame["id"].astype(str).tolist() != ids:
            raise RuntimeError(f"{path} does not cover the items in order; remove it to relabel")
        per_seed[seed] = frame
        counts[f"seed{seed}"] = {"labeled": int(frame["prob"].notna().sum()), "null": int(frame["prob"].isna().sum())}
    ensemble_path = labels_dir / "ensemble.parquet"
    meta = pq.read_schema(ensemble_path).metadata if ensemble_path.is_file() else None
    if meta is None or meta.get(b"seeds") != ",".join(map(str, seeds)).encode():
        atomic_write_rows(ensemble_rows(per_seed), ensemble_path, label_schema(True, seeds))
    ensemble = pd.read_parquet(ensemble_path)
    counts["ensemble"] = {"labeled": int(ensemble["prob"].notna().sum()), "null": int(ensemble["prob"].isna().sum())}
    return counts
