"""Stage 1: load the dataset, make the seeded weak_train / strong_train / test splits."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pandas as pd

from labeling.config import DataConfig, ExperimentConfig
from labeling.data.registry import available_splits, load_rows, no_split_files, source_files, source_fingerprint
from labeling.data.splits import SPLIT_NAMES, SplitSizes, make_splits
from labeling.store import atomic_write_parquet, stage_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Splits(Mapping[str, pd.DataFrame]):
    """The three splits of a run (rows: id, question, answer, label, text, evidence), read once.

    Named fields for readers, and a read-only mapping by split name for loops over all three.
    """

    weak_train: pd.DataFrame
    strong_train: pd.DataFrame
    test: pd.DataFrame

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in SPLIT_NAMES:
            raise KeyError(f"no split {name!r}; splits: {list(SPLIT_NAMES)}")
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(SPLIT_NAMES)

    def __len__(self) -> int:
        return len(SPLIT_NAMES)

    def ids(self, name: str) -> list[str]:
        """The item ids of one split, in order."""
        return self[name]["id"].astype(str).tolist()

    def gold(self, name: str) -> np.ndarray:
        """The gold labels of one split (0/1), in order."""
        return self[name]["label"].to_numpy()

    @classmethod
    def read(cls, stage_path: Path) -> "Splits":
        """The splits a finished data stage wrote."""
        return cls(**{name: pd.read_parquet(stage_path / f"{name}.parquet") for name in SPLIT_NAMES})


def data_semantic(cfg: ExperimentConfig) -> dict:
    """What determines the splits: the data section of the config and the content of the files it reads.

    Every stage's key includes this, so replacing the files under ``data.source`` makes new splits
    and retrains everything downstream instead of silently reusing results of the old files.
    """
    d = cfg.data
    return {"data": d.model_dump(mode="json"), "source_files": _fingerprint(d.dataset, d.source)}


@functools.lru_cache(maxsize=16)
def _fingerprint_cached(name: str, source: str, stamp: tuple) -> dict[str, str] | None:
    return source_fingerprint(name, source)


def _fingerprint(name: str, source: str | None) -> dict[str, str] | None:
    """``source_fingerprint``, hashed again only when a file's size or modification time changed."""
    if source is None:
        return None
    stamp = tuple((str(p), st.st_size, st.st_mtime_ns) for p in source_files(name, source) for st in [p.stat()])
    return _fingerprint_cached(name, source, stamp)


def choose_source_splits(name: str, source: str | None) -> tuple[str, str | None]:
    """Pick the training pool and, when the dataset has one, a separate test pool.

    No split at all (a local folder without the dataset's files) is an error naming the folder
    and the file names expected there.
    """
    splits = available_splits(name, source)
    if not splits:
        raise ValueError(no_split_files(name, source))
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


def data_stage_path(cfg: ExperimentConfig) -> Path:
    """The folder of the run's data stage (its splits), finished or not."""
    return stage_dir(cfg.output_dir, "data", data_semantic(cfg)).path


def prepare_splits(cfg: ExperimentConfig) -> Splits:
    """Run (or reuse) the data stage; returns split name -> rows (id, question, answer, label, text, evidence)."""
    stage = stage_dir(cfg.output_dir, "data", data_semantic(cfg))
    paths = {name: stage.path / f"{name}.parquet" for name in SPLIT_NAMES}
    if not stage.complete:
        with stage.attempt():  # a malformed row or too few items leaves no folder behind
            d = cfg.data
            pool_split, test_split = choose_source_splits(d.dataset, d.source)
            log.info("data: %s from %s (pool=%s, test=%s)", d.dataset, d.source or "the hub", pool_split, test_split)
            pool = with_evidence(load_rows(d.dataset, source=d.source, split=pool_split, data_seed=d.data_seed), d)
            test_pool = (
                with_evidence(load_rows(d.dataset, source=d.source, split=test_split, data_seed=d.data_seed), d)
                if test_split else None
            )
            sizes = SplitSizes(weak_train=d.weak_train, strong_train=d.strong_train, test=d.test)
            try:
                splits = make_splits(pool, sizes, seed=d.split_seed, test_pool=test_pool)
            except ValueError as exc:  # too few items: say which data and which keys to change
                where = f"{d.dataset} from {d.source or 'the hub'} ({pool_split}" + (f", test={test_split})" if test_split else ")")
                raise ValueError(f"{where}: {exc}; lower data.weak_train / data.strong_train / data.test") from None
            for name in SPLIT_NAMES:
                atomic_write_parquet(splits[name].to_pandas(), paths[name])
            stage.finish({name: len(splits[name]) for name in SPLIT_NAMES})
    else:
        log.info("data: reusing the splits in %s (same data settings, same source files)", stage.path)
    return Splits.read(stage.path)


def load_splits_from(stage_path: Path) -> Splits:
    """Read the splits a finished data stage wrote."""
    return Splits.read(stage_path)
