"""The warnings a run logs, kept beside its results (``warnings.json``) so that the report can show them."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labeling.store import atomic_write_text

WARNINGS_FILE = "warnings.json"


class WarningCollector(logging.Handler):
    """A logging handler that keeps every WARNING or worse record of this process, in order."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's time, level, logger and message."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed log call must not stop the run
            message = str(record.msg)
        self.records.append({
            "time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        })


@contextmanager
def collected_warnings() -> Iterator[WarningCollector]:
    """Collect the warnings logged (by any logger of this process) while the block runs."""
    collector = WarningCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield collector
    finally:
        root.removeHandler(collector)


def write_warnings(out: Path, records: list[dict[str, str]]) -> Path:
    """Write the collected warnings to ``out/warnings.json`` (an empty list when there were none)."""
    path = Path(out) / WARNINGS_FILE
    atomic_write_text(path, json.dumps(records, indent=2))
    return path


def read_warnings(out: Path) -> list[dict[str, str]]:
    """The warnings a run wrote (none when the run predates ``warnings.json``)."""
    path = Path(out) / WARNINGS_FILE
    return json.loads(path.read_text()) if path.exists() else []
