"""Stage 1: load the dataset, make the seeded weak_train / strong_train / test splits."""

from __future__ import annotations

import logging
from pathlib import Path
import datasets
import pandas as pd

from labeling.store import atomic_write_parquet, stage_dir
from labeling.config import DataConfig, ExperimentConfig
from labeling.data.registry import available_splits, load_rows
from labeling.data.splits import SPLIT_NAMES, SplitSizes, make_splits

log = logging.getLogger(__name__)


def data_semantic(cfg: ExperimentConfig) -> dict:
    """What determines the splits (the data section of the config)."""
    return {"data": cfg.data.model_dump(mode="json")}


def choose_source_splits(splits: list[str]) -> tuple[str, str | None]:
    """Pick the training pool and, when the dataset has one, a separate test pool."""
    if not splits:
        raise ValueError("dataset has no available splits")
    pool = "train" if "train" in splits else splits[0]
    if pool == "train" and "test" in splits:
        return pool, "test"
    if pool == "train" and "validation" in splits:
        return pool, "validation"
    return pool, None


def with_evidence(rows: datasets.Dataset, data: DataConfig) -> datasets.Dataset:
    """The rows that have a hidden passage when ``data.require_evidence`` (others are left out, logged)."""
    if not data.require_evidence:
        return rows
    kept = rows.filter(lambda row: bool(row["evidence"].strip()))
    if len(kept) == 0:
        raise ValueError(f"data.require_evidence: no item of {data.dataset} has a passage (evidence)")
    log.info("data: %d of %d items have a passage; the others are left out (data.require_evidence)", len(kept), len(rows))
    return kept


def prepare_splits(cfg: ExperimentConfig) -> dict[str, pd.DataFrame]:
    """Run (or reuse) the data stage; returns split name -> rows (id, question, answer, label, text, evidence)."""
    stage = stage_dir(cfg.output_dir, "data", data_semantic(cfg))
    paths = {name: stage.path / f"{name}.parquet" for name in SPLIT_NAMES}
    if not stage.complete:
        stage.begin()
        d = cfg.data
        pool_split, test_split = choose_source_splits(available_splits(d.dataset, d.source))
        log.info("data: %s from %s (pool=%s, test=%s)", d.dataset, d.source or "the hub", pool_split, test_split)
        pool = with_evidence(load_rows(d.dataset, source=d.source, split=pool_split, data_seed=d.data_seed), d)
        test_pool = (
            with_evidence(load_rows(d.dataset, source=d.source, split=test_split, data_seed=d.data_seed), d)
            if test_split else None
        )
        sizes = SplitSizes(weak_train=d.weak_train, strong_train=d.strong_train, test=d.test)
        splits = make_splits(pool, sizes, seed=d.split_seed, test_pool=test_pool)
        for name in SPLIT_NAMES:
            atomic_write_parquet(splits[name].to_pandas(), paths[name])
        stage.finish({name: len(splits[name]) for name in SPLIT_NAMES})
    return {name: pd.read_parquet(path) for name, path in paths.items()}


def load_splits_from(stage_path: Path) -> dict[str, pd.DataFrame]:
    """Read the splits a finished data stage wrote."""
    return {name: pd.read_parquet(stage_path / f"{name}.parquet") for name in SPLIT_NAMES}
