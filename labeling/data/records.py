"""Raw records of data files, and the checks that name the file and row of a bad one.

Readers yield ``(Where, record)`` pairs; ``text_field`` / ``int_field`` validate one field and
raise ``ValueError`` naming the file and row. A text file that is not UTF-8 is an error naming
the line and column of its first bad byte (``not_utf8``).
"""

from __future__ import annotations

import csv
import gzip
import zlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

Record = dict[str, Any]


@dataclass(frozen=True)
class Where:
    """Location of one record, used to build error messages naming file and row."""

    file: str
    row: str

    def error(self, message: str) -> ValueError:
        return ValueError(f"{self.file}: {self.row}: {message}")


def text_field(rec: Record, field: str, where: Where, *, allow_empty: bool = False) -> str:
    """The string ``rec[field]``; missing, non-string or (unless allowed) empty values are errors."""
    if field not in rec or rec[field] is None:
        raise where.error(f"missing field {field!r}")
    value = rec[field]
    if not isinstance(value, str):
        raise where.error(f"field {field!r} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise where.error(f"field {field!r} is empty")
    return value


def int_field(rec: Record, field: str, where: Where, allowed: range) -> int:
    """The integer ``rec[field]`` (digits in a string accepted), which must lie in ``allowed``."""
    value = rec.get(field)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if value is None:
        raise where.error(f"missing field {field!r}")
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise where.error(f"field {field!r} must be an integer in {list(allowed)}, got {value!r}")
    return value


def not_utf8(path: Path) -> ValueError:
    """The error for a (gzipped) text file that is not UTF-8: the line and column of its first bad byte.

    Lines are counted at ``\\n``; the column counts characters, as an editor shows them.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                column = len(raw[: err.start].decode("utf-8")) + 1
                return Where(str(path), f"line {number}").error(
                    f"not valid UTF-8 (byte 0x{raw[err.start]:02x} at column {column}); save the file as UTF-8"
                )
    return ValueError(f"{path}: not valid UTF-8; save the file as UTF-8")


def _utf8_checked(path: Path, records: Iterator[tuple[Where, Any]]) -> Iterator[tuple[Where, Any]]:
    """``records``, with a decoding error replaced by one that names the file, line and column, and a
    truncated or mislabeled ``.gz`` by one that names the file."""
    try:
        yield from records
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ValueError(f"{path}: not a complete gzip file ({exc}); re-create or re-download it") from None


def _read_json_array(path: Path) -> Iterator[tuple[Where, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from err
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON array of records, got {type(data).__name__}")
    for index, rec in enumerate(data):
        yield Where(str(path), f"row {index}"), rec


def _read_jsonl(path: Path) -> Iterator[tuple[Where, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue  # a blank line holds no record
            where = Where(str(path), f"line {line_number}")
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as err:
                raise where.error(f"invalid JSON: {err.msg}") from err


def _read_csv(path: Path) -> Iterator[tuple[Where, Any]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for index, rec in enumerate(reader):
            where = Where(str(path), f"row {index} (ending at line {reader.line_num})")
            if None in rec or None in rec.values():
                raise where.error(f"has a different number of fields than the header {reader.fieldnames}")
            yield where, rec


def _read_parquet(path: Path) -> Iterator[tuple[Where, Any]]:
    try:
        records = pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow raises several types for a broken file
        raise ValueError(f"{path}: not a readable Parquet file: {err}") from err
    for index, rec in enumerate(records):
        yield Where(str(path), f"row {index}"), rec


def read_records(path: Path) -> Iterator[tuple[Where, Any]]:
    """Records of a .json (array), .jsonl[.gz], .csv or .parquet file, each with where it came from."""
    name = path.name
    if name.endswith(".json"):
        return _utf8_checked(path, _read_json_array(path))
    if name.endswith((".jsonl", ".jsonl.gz")):
        return _utf8_checked(path, _read_jsonl(path))
    if name.endswith(".csv"):
        return _utf8_checked(path, _read_csv(path))
    if name.endswith(".parquet"):
        return _read_parquet(path)
    raise ValueError(f"{path}: unsupported file type (use .json, .jsonl, .jsonl.gz, .csv or .parquet)")


