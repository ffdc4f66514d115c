"""Dataset registry: every supported dataset normalized to one binary schema.

A row is ``{"id", "question", "answer", "label", "text"}``: a question, one candidate answer,
``label`` 1 if the candidate is correct (0 if not, -1 if unknown) and ``text``, the Burns et al.
(weak-to-strong) plain-text rendering of question + candidate that no-transcript models see.
Rows come from the Hugging Face hub (``source=None``) or from a local directory laid out like
``shared/data/<name>/``. Random choices (which candidate, chosen vs rejected) are drawn from a
SHA-256 of (dataset, source split, row key, ``data_seed``), so they are the same on every call,
whatever ``limit`` is and however the rows are later split.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

SCHEMA_COLUMNS = ("id", "question", "answer", "label", "text")
SCHEMA_FEATURES = datasets.Features(
    {"id": datasets.Value("string"), "question": datasets.Value("string"),
     "answer": datasets.Value("string"), "label": datasets.Value("int64"),
     "text": datasets.Value("string")}
)
UNLABELED = -1
NONE_OF_THE_ABOVE = "None of the above choices ."
ASSISTANT_TURN = "\n\nAssistant:"
ITEM_FIELDS = ("id", "question", "answer", "label", "text")


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
    )
}

Record = dict[str, Any]
Formatted = tuple[str, str, int, str]  # question, answer, label, text


@dataclass(frozen=True)
class _Where:
    """Location of one record, used to build error messages naming file and row."""

    file: str
    row: str

    def error(self, message: str) -> ValueError:
        return ValueError(f"{self.file}: {self.row}: {message}")


def _text_field(rec: Record, field: str, where: _Where, *, allow_empty: bool = False) -> str:
    if field not in rec or rec[field] is None:
        raise where.error(f"missing field {field!r}")
    value = rec[field]
    if not isinstance(value, str):
        raise where.error(f"field {field!r} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise where.error(f"field {field!r} is empty")
    return value


def _int_field(rec: Record, field: str, where: _Where, allowed: range) -> int:
    value = rec.get(field)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if value is None:
        raise where.error(f"missing field {field!r}")
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise where.error(f"field {field!r} must be an integer in {list(allowed)}, got {value!r}")
    return value


def _draws(name: str, split: str, key: object, data_seed: int) -> tuple[float, int]:
    """A uniform coin in [0, 1) and a large integer, both fixed by the row's identity."""
    digest = hashlib.sha256(f"{name}\x1f{split}\x1f{key}\x1f{data_seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64, int.from_bytes(digest[8:16], "big")


def item_text(dataset: str, question: str, answer: str) -> str:
    """The Burns-style text of (question, candidate answer) for ``dataset``: what plain models read.

    One function for the registry, the judge endpoint and user item files, so a judge is
    always asked in the format it was trained on. Unknown names (user files) use the SciQ form.
    """
    if dataset in ("boolq", "cosmos_qa", "amazon_polarity"):
        return f"{question}\nAnswer: {answer}"
    if dataset == "anthropic_hh":
        return f"{question} {answer}" if answer else question
    return f"Q: {question} A: {answer}"


def _format_sciq(rec: Record, coin: float, pick: int, where: _Where) -> Formatted:
    question = _text_field(rec, "question", where)
    correct = _text_field(rec, "correct_answer", where)
    distractors = [_text_field(rec, f"distractor{i}", where) for i in (1, 2, 3)]
    # A distractor equal to the correct answer (14 SciQ train rows) would be a mislabeled negative.
    wrong = [d for d in distractors if d.strip().casefold() != correct.strip().casefold()]
    if not wrong:
        raise where.error("every distractor equals 'correct_answer'")
    label = int(coin < 0.5)
    answer = correct if label else wrong[pick % len(wrong)]
    return question, answer, label, item_text("sciq", question, answer)


def _format_boolq(rec: Record, coin: float, pick: int, where: _Where) -> Formatted:
    if not isinstance(rec.get("answer"), bool):
        raise where.error(f"field 'answer' must be a boolean, got {rec.get('answer')!r}")
    question = (f"Passage: {_text_field(rec, 'passage', where)}\n"
                f"Question: {_text_field(rec, 'question', where)}")
    return question, "yes", int(rec["answer"]), item_text("boolq", question, "yes")


def _format_cosmos(rec: Record, coin: float, pick: int, where: _Where) -> Formatted:
    options = [_text_field(rec, f"answer{i}", where) for i in range(4)]
    true_answer = options[_int_field(rec, "label", where, range(4))]
    others = [o for o in options if o != true_answer]
    if not others:
        raise where.error("all four answer options are identical")
    # Burns' rule: a true answer of "None of the above" makes the item a forced negative.
    label = 0 if true_answer.strip() == NONE_OF_THE_ABOVE else int(coin < 0.5)
    answer = true_answer if label else others[pick % len(others)]
    question = (f"Context: {_text_field(rec, 'context', where)}\n"
                f"Question: {_text_field(rec, 'question', where)}")
    return question, answer, label, item_text("cosmos_qa", question, answer)


def _format_hh(rec: Record, coin: float, pick: int, where: _Where) -> Formatted:
    label = int(coin < 0.5)
    field = "chosen" if label else "rejected"
    dialogue = _text_field(rec, field, where)
    _text_field(rec, "rejected" if label else "chosen", where)  # the pair must be complete
    cut = dialogue.rfind(ASSISTANT_TURN)
    if cut < 0:
        raise where.error(f"field {field!r} has no {ASSISTANT_TURN!r} turn")
    cut += len(ASSISTANT_TURN)
    # The final reply may be empty (4 chosen dialogues of harmless-base test are): kept as "".
    return dialogue[:cut], dialogue[cut:].lstrip(), label, dialogue


def _format_amazon(rec: Record, coin: float, pick: int, where: _Where) -> Formatted:
    title = _text_field(rec, "title", where, allow_empty=True)  # some reviews have no title
    content = _text_field(rec, "content", where)
    label = _int_field(rec, "label", where, range(2))
    question = f"Review title: {title}\nReview: {content}\nIs this review positive?"
    return question, "yes", label, item_text("amazon_polarity", question, "yes")


def _boolq_from_superglue(rec: Record, where: _Where) -> Record:
    """SuperGLUE BoolQ record -> hub `google/boolq` shape (bool answer, passage without title)."""
    label = rec.get("label")
    if isinstance(label, str) and label.strip().lower() in ("true", "false"):
        label = label.strip().lower() == "true"
    if not isinstance(label, bool):
        raise where.error(f"field 'label' must be 'true' or 'false', got {label!r}")
    passage = _text_field(rec, "passage", where)
    _title, sep, body = passage.partition(" -- ")
    return {"question": rec.get("question"), "passage": body if sep else passage, "answer": label}


Formatter = Callable[[Record, float, int, _Where], Formatted]
Adapter = Callable[[Record, _Where], Record]
# name -> (formatter on hub-shaped records, field whose value keys the draws, local adapter)
_FORMATS: dict[str, tuple[Formatter, str | None, Adapter | None]] = {
    "sciq": (_format_sciq, None, None),
    "boolq": (_format_boolq, None, _boolq_from_superglue),
    "cosmos_qa": (_format_cosmos, "id", None),
    "anthropic_hh": (_format_hh, None, None),
    "amazon_polarity": (_format_amazon, None, None),
}


def _read_json_array(path: Path) -> Iterator[tuple[_Where, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from err
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON array of records, got {type(data).__name__}")
    for index, rec in enumerate(data):
        yield _Where(str(path), f"row {index}"), rec


def _read_jsonl(path: Path) -> Iterator[tuple[_Where, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue  # a blank line holds no record
            where = _Where(str(path), f"line {line_number}")
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as err:
                raise where.error(f"invalid JSON: {err.msg}") from err


def _read_csv(path: Path) -> Iterator[tuple[_Where, Any]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for index, rec in enumerate(reader):
            where = _Where(str(path), f"row {index} (ending at line {reader.line_num})")
            if None in rec or None in rec.values():
                raise where.error(f"has a different number of fields than the header {reader.fieldnames}")
            yield where, rec


def _read_parquet(path: Path) -> Iterator[tuple[_Where, Any]]:
    import pyarrow.parquet as pq

    try:
        records = pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow raises several types for a broken file
        raise ValueError(f"{path}: not a readable Parquet file: {err}") from err
    for index, rec in enumerate(records):
        yield _Where(str(path), f"row {index}"), rec


def _read_records(path: Path) -> Iterator[tuple[_Where, Any]]:
    name = path.name
    if name.endswith(".json"):
        return _read_json_array(path)
    if name.endswith((".jsonl", ".jsonl.gz")):
        return _read_jsonl(path)
    if name.endswith(".csv"):
        return _read_csv(path)
    if name.endswith(".parquet"):
        return _read_parquet(path)
    raise ValueError(f"{path}: unsupported file type (use .json, .jsonl, .jsonl.gz, .csv or .parquet)")


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


def _hub_records(info: DatasetInfo, split: str, limit: int | None) -> Iterator[tuple[_Where, Any]]:
    if split not in info.hub_splits:
        raise ValueError(f"{info.name}: split {split!r} is not on the hub; available: {list(info.hub_splits)}")
    selector = split if limit is None else f"{split}[:{limit}]"
    rows = datasets.load_dataset(info.hub_id, split=selector, revision=info.hub_revision)
    for index, rec in enumerate(rows):
        yield _Where(f"{info.hub_id} ({split})", f"row {index}"), rec


def load_rows(name: str, *, source: str | Path | None = None, split: str, data_seed: int = 0,
              limit: int | None = None) -> datasets.Dataset:
    """Load one split of a registered dataset as rows {id, question, answer, label, text}.

    `source` None reads the hub; a directory reads the local files. `limit` keeps the first
    rows of the split in source order; it does not change any row's candidate or label.
    """
    info = get_info(name)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}")
    formatter, key_field, adapter = _FORMATS[name]
    if source is None:
        records: Iterable[tuple[_Where, Any]] = _hub_records(info, split, limit)
        origin = f"{info.hub_id} ({split})"
    else:
        folder = _local_dir(info, source)
        file = info.local_file(split)
        present = available_splits(name, folder)
        if file is None or split not in present:
            raise ValueError(f"{info.name}: split {split!r} has no local file in {folder}; "
                             f"available splits there: {present}")
        path = folder / file
        origin, records = str(path), _read_records(path)
    columns: dict[str, list] = {col: [] for col in SCHEMA_COLUMNS}
    for index, (where, rec) in enumerate(itertools.islice(records, limit)):
        if not isinstance(rec, dict):
            raise where.error(f"expected an object, got {type(rec).__name__}")
        if adapter is not None and source is not None:
            rec = adapter(rec, where)
        key = _text_field(rec, key_field, where) if key_field else index
        coin, pick = _draws(name, split, key, data_seed)
        question, answer, label, text = formatter(rec, coin, pick, where)
        for col, value in zip(SCHEMA_COLUMNS, (f"{name}/{split}/{index}", question, answer, label, text)):
            columns[col].append(value)
    if not columns["id"] and limit != 0:
        raise ValueError(f"{origin}: no rows")
    return datasets.Dataset.from_dict(columns, features=SCHEMA_FEATURES)


def _item_label(rec: Record, where: _Where) -> int:
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
    """Load a user's JSONL or Parquet file of {id, question, answer[, label][, text]} items.

    Missing `text` becomes "Q: {question} A: {answer}"; missing `label` becomes -1. Malformed
    rows, unknown fields and duplicate ids are errors naming the file and row.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"items file {file} does not exist")
    if not file.name.endswith((".jsonl", ".jsonl.gz", ".parquet")):
        raise ValueError(f"{file}: items file must be .jsonl, .jsonl.gz or .parquet")
    columns: dict[str, list] = {col: [] for col in SCHEMA_COLUMNS}
    first_seen: dict[str, str] = {}
    for where, rec in _read_records(file):
        if not isinstance(rec, dict):
            raise where.error(f"expected an object, got {type(rec).__name__}")
        unknown = sorted(set(rec) - set(ITEM_FIELDS))
        if unknown:
            raise where.error(f"unknown fields {unknown}; allowed: {list(ITEM_FIELDS)}")
        raw_id = rec.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        item_id = _text_field({"id": raw_id}, "id", where)
        if item_id in first_seen:
            raise where.error(f"duplicate id {item_id!r} (first at {first_seen[item_id]})")
        first_seen[item_id] = where.row
        question = _text_field(rec, "question", where)
        answer = _text_field(rec, "answer", where)
        text = rec.get("text")
        text = item_text("items", question, answer) if text is None else _text_field(rec, "text", where)
        for col, value in zip(SCHEMA_COLUMNS, (item_id, question, answer, _item_label(rec, where), text)):
            columns[col].append(value)
    if not columns["id"]:
        raise ValueError(f"{file}: no items")
    return datasets.Dataset.from_dict(columns, features=SCHEMA_FEATURES)
