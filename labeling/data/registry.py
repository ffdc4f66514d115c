"""Dataset registry: every supported dataset normalized to one binary schema.

A row is ``{"id", "question", "answer", "label", "text", "evidence"}``: a question, one candidate
answer, ``label`` 1 if the candidate is correct (0 if not, -1 if unknown), ``text``, the Burns et
al. (weak-to-strong) plain-text rendering of question + candidate that no-transcript models see,
and ``evidence``, a passage only debaters read ("" when there is none; see ``formats``).
Rows come from the Hugging Face hub (``source=None``) or from a local directory laid out like
``shared/data/<name>/``. Random choices (which candidate, chosen vs rejected) are drawn from a
SHA-256 of (dataset, source split, row key, ``data_seed``), so they are the same on every call,
whatever ``limit`` is and however the rows are later split.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from labeling.data.formats import FORMATS, NONE_OF_THE_ABOVE, item_text
from labeling.data.records import Record, Where, read_records, text_field

SCHEMA_COLUMNS = ("id", "question", "answer", "label", "text", "evidence")
SCHEMA_FEATURES = datasets.Features(
    {"id": datasets.Value("string"), "question": datasets.Value("string"),
     "answer": datasets.Value("string"), "label": datasets.Value("int64"),
     "text": datasets.Value("string"), "evidence": datasets.Value("string")}
)
UNLABELED = -1
ITEM_FIELDS = ("id", "question", "answer", "label", "text", "evidence")
__all__ = ["DATASETS", "NONE_OF_THE_ABOVE", "SCHEMA_COLUMNS", "available_splits", "item_text", "load_items_file",
           "load_rows", "no_split_files"]


@dataclass(frozen=True)
class DatasetInfo:
    """Where a dataset lives: hub id, local folder name and split -> local file name."""

    name: str
    hub_id: str
    local_dirname: str
    splits: tuple[str, ...]  # splits with a local copy in shared/data/<local_dirname>
    local_files: tuple[tuple[str, str], ...]  # (split, file name) a local folder may hold
    hub_splits: tuple[str, ...]
    hub_revision: str | None = None
    note: str = ""

    def local_file(self, split: str) -> str | None:
        """File name holding `split` in a local folder, or None if that split has no layout."""
        return dict(self.local_files).get(split)


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("sciq", "allenai/sciq", "sciq", ("train", "validation", "test"),
                    (("train", "train.json"), ("validation", "valid.json"), ("test", "test.json")),
                    ("train", "validation", "test")),
        DatasetInfo("boolq", "google/boolq", "boolq", ("validation",),
                    (("train", "superglue_train.jsonl"), ("validation", "superglue_val.jsonl")),
                    ("train", "validation"),
                    note="local files are SuperGLUE JSONL; the '<title> -- ' passage prefix is dropped"),
        DatasetInfo("cosmos_qa", "allenai/cosmos_qa", "cosmos_qa", ("validation",),
                    (("train", "train.csv"), ("validation", "valid.csv")),
                    ("train", "validation"), hub_revision="refs/convert/parquet",
                    note="the hub repo is script-based; its parquet export is loaded"),
        DatasetInfo("anthropic_hh", "Anthropic/hh-rlhf", "hh_rlhf", ("test",),
                    (("train", "harmless-base_train.jsonl.gz"), ("test", "harmless-base_test.jsonl.gz")),
                    ("train", "test"),
                    note="local copy is the harmless-base subset; the hub default mixes all four"),
        DatasetInfo("amazon_polarity", "fancyzhx/amazon_polarity", "amazon_polarity", (), (),
                    ("train", "test"), note="hub only"),
        DatasetInfo("boolq_hidden_passage", "google/boolq", "boolq", ("validation",),
                    (("train", "superglue_train.jsonl"), ("validation", "superglue_val.jsonl")),
                    ("train", "validation"),
                    note="BoolQ with the passage as debaters' evidence: the judge sees only the question"),
        DatasetInfo("quality", "tasksource/QuALITY", "quality", ("validation",),
                    (("validation", "leval_quality.jsonl"),), ("train", "validation"),
                    note="local copy: L-Eval's 15-article subset (202 questions); the article is the evidence"),
    )
}

def _draws(name: str, split: str, key: object, data_seed: int) -> tuple[float, int]:
    """A uniform coin in [0, 1) and a large integer, both fixed by the row's identity."""
    digest = hashlib.sha256(f"{name}\x1f{split}\x1f{key}\x1f{data_seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64, int.from_bytes(digest[8:16], "big")


def get_info(name: str) -> DatasetInfo:
    """Registry entry for `name`; unknown names are an error listing the known ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {sorted(DATASETS)}")
    return DATASETS[name]


def _local_dir(info: DatasetInfo, source: str | Path) -> Path:
    """The dataset folder: `source` itself, or `source/<local_dirname>` when given the data root."""
    root = Path(source)
    if not root.is_dir():
        raise FileNotFoundError(f"local source directory {root} does not exist "
                                f"(use source=None to load {info.hub_id!r} from the hub)")
    nested = root / info.local_dirname
    holds_files = any((root / f).is_file() for _, f in info.local_files)
    return nested if nested.is_dir() and not holds_files else root


def available_splits(name: str, source: str | Path | None) -> list[str]:
    """Splits of `name` on the hub (source=None) or present as files in a local folder."""
    info = get_info(name)
    if source is None:
        return list(info.hub_splits)
    folder = _local_dir(info, source)
    return [split for split, file in info.local_files if (folder / file).is_file()]


def no_split_files(name: str, source: str | Path | None) -> str:
    """Why `name` has no split to read: the folder looked in and the file names it may hold."""
    info = get_info(name)
    if source is None:
        return f"{name}: the registry lists no hub splits for {info.hub_id}"
    if not info.local_files:
        return f"{name} has no local file layout ({info.note}); set data.source: null to load {info.hub_id} from the hub"
    folder = _local_dir(info, source)
    files = ", ".join(f"{file} ({split})" for split, file in info.local_files)
    nested = "" if folder.name == info.local_dirname else f", or a subfolder {info.local_dirname}/ holding them"
    return f"{name}: no data file in {folder}; expected at least one of {files}{nested}"


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def source_fingerprint(name: str, source: str | Path | None) -> dict[str, str] | None:
    """What the rows of `name` are read from, by content: {file name: SHA-256} of the local files.

    ``None`` for the hub (keyed by its dataset id and the registry's pinned revision). Any change
    to a file's bytes changes the fingerprint, so stages keyed by it never reuse stale splits.
    """
    if source is None:
        return None
    return {path.name: file_sha256(path) for path in source_files(name, source)}


def source_files(name: str, source: str | Path) -> list[Path]:
    """The files of `name` present in the local folder `source` (what ``load_rows`` may read)."""
    info = get_info(name)
    folder = _local_dir(info, source)
    return [folder / file for _, file in info.local_files if (folder / file).is_file()]


def fail_fast_when_offline(info: DatasetInfo) -> None:
    """A ConnectionError saying what to do when the hub cannot be reached (instead of ~30 s of retries).

    With ``HF_HUB_OFFLINE=1`` nothing is probed: ``datasets`` then reads its local cache.
    """
    from labeling.store.model_check import hub_offline, hub_reachable  # the store imports this package's users

    if hub_offline():
        return
    ok, why = hub_reachable()
    if not ok:
        raise ConnectionError(
            f"{info.name}: data.source is not set, so {info.hub_id} is read from the Hugging Face hub, which cannot "
            f"be reached ({why}): give data.source (--source) a local copy, e.g. ../shared/data/{info.local_dirname}, "
            f"or set HF_HUB_OFFLINE=1 if the dataset is in your Hugging Face cache"
        )


def _hub_records(info: DatasetInfo, split: str, limit: int | None) -> Iterator[tuple[Where, Any]]:
    if split not in info.hub_splits:
        raise ValueError(f"{info.name}: split {split!r} is not on the hub; available: {list(info.hub_splits)}")
    selector = split if limit is None else f"{split}[:{limit}]"
    fail_fast_when_offline(info)
    rows = datasets.load_dataset(info.hub_id, split=selector, revision=info.hub_revision)
    for index, rec in enumerate(rows):
        yield Where(f"{info.hub_id} ({split})", f"row {index}"), rec


def _item_records(fmt: Any, records: Iterable[tuple[Where, Any]], from_hub: bool) -> Iterator[tuple[Where, Record]]:
    """One hub-shaped record per item: local files adapted (and exploded when a line holds several items)."""
    for where, rec in records:
        if not isinstance(rec, dict):
            raise where.error(f"expected an object, got {type(rec).__name__}")
        if from_hub:
            yield where, fmt.hub_adapter(rec, where) if fmt.hub_adapter else rec
            continue
        rec = fmt.local_adapter(rec, where) if fmt.local_adapter else rec
        for item in fmt.exploder(rec, where) if fmt.exploder else [rec]:
            yield where, item


def load_rows(name: str, *, source: str | Path | None = None, split: str, data_seed: int = 0,
              limit: int | None = None) -> datasets.Dataset:
    """Load one split of a registered dataset as rows {id, question, answer, label, text, evidence}.

    `source` None reads the hub; a directory reads the local files. `limit` keeps the first
    rows of the split in source order; it does not change any row's candidate or label.
    """
    info = get_info(name)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}")
    fmt = FORMATS[name]
    if source is None:
        records: Iterable[tuple[Where, Any]] = _hub_records(info, split, limit)
        origin = f"{info.hub_id} ({split})"
    else:
        folder = _local_dir(info, source)
        file = info.local_file(split)
        present = available_splits(name, folder)
        if file is None or split not in present:
            expected = f"expected {file}" if file else f"{info.name} has no local file for it"
            raise ValueError(f"{info.name}: split {split!r} has no local file in {folder} ({expected}); "
                             f"available splits there: {present}")
        path = folder / file
        origin, records = str(path), read_records(path)
    columns: dict[str, list] = {col: [] for col in SCHEMA_COLUMNS}
    for index, (where, rec) in enumerate(itertools.islice(_item_records(fmt, records, source is None), limit)):
        key = text_field(rec, fmt.key_field, where) if fmt.key_field else index
        coin, pick = _draws(name, split, key, data_seed)
        row = (f"{name}/{split}/{index}", *fmt.formatter(rec, coin, pick, where))
        for col, value in zip(SCHEMA_COLUMNS, row):
            columns[col].append(value)
    if not columns["id"] and limit != 0:
        raise ValueError(f"{origin}: no rows")
    return datasets.Dataset.from_dict(columns, features=SCHEMA_FEATURES)


def _item_label(rec: Record, where: Where) -> int:
    value = rec.get("label")
    if value is None:
        return UNLABELED
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value in (0.0, 1.0):
        return int(value)
    if isinstance(value, int) and value in (0, 1, UNLABELED):
        return value
    raise where.error(f"field 'label' must be 0, 1 (or -1/absent for unknown), got {value!r}")


def load_items_file(path: str | Path) -> datasets.Dataset:
    """Load a user's JSONL or Parquet file of {id, question, answer[, label][, text][, evidence]} items.

    Missing `text` becomes "Q: {question} A: {answer}"; missing `label` becomes -1; missing
    `evidence` (a passage only debaters read) becomes "". Malformed rows, unknown fields and
    duplicate ids are errors naming the file and row.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"items file {file} does not exist")
    if not file.name.endswith((".jsonl", ".jsonl.gz", ".parquet")):
        raise ValueError(f"{file}: items file must be .jsonl, .jsonl.gz or .parquet")
    columns: dict[str, list] = {col: [] for col in SCHEMA_COLUMNS}
    first_seen: dict[str, str] = {}
    for where, rec in read_records(file):
        if not isinstance(rec, dict):
            raise where.error(f"expected an object, got {type(rec).__name__}")
        unknown = sorted(set(rec) - set(ITEM_FIELDS))
        if unknown:
            raise where.error(f"unknown fields {unknown}; allowed: {list(ITEM_FIELDS)}")
        raw_id = rec.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        item_id = text_field({"id": raw_id}, "id", where)
        if item_id in first_seen:
            raise where.error(f"duplicate id {item_id!r} (first at {first_seen[item_id]})")
        first_seen[item_id] = where.row
        question = text_field(rec, "question", where)
        answer = text_field(rec, "answer", where)
        text = rec.get("text")
        text = item_text("items", question, answer) if text is None else text_field(rec, "text", where)
        evidence = "" if rec.get("evidence") is None else text_field(rec, "evidence", where, allow_empty=True)
        for col, value in zip(SCHEMA_COLUMNS, (item_id, question, answer, _item_label(rec, where), text, evidence)):
            columns[col].append(value)
    if not columns["id"]:
        raise ValueError(f"{file}: no items")
    return datasets.Dataset.from_dict(columns, features=SCHEMA_FEATURES)
