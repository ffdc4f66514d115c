"""The one way this application writes a file: to a temporary sibling, fsync, then ``os.replace``.

A reader never sees a half-written file, so a crash or ``kill -9`` leaves either the old file,
the new file, or nothing (a stray ``.<name>.*.tmp`` at worst, which readers ignore).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from eval.atomic import default_file_mode


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` for a temporary file beside ``path``, fsync it, and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, default_file_mode())  # mkstemp's 0600 would survive the rename: respect the umask
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def atomic_write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame to parquet at ``path`` atomically (no index)."""
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def atomic_write_rows(rows: list[dict[str, Any]], path: Path, schema: Any) -> None:
    """Rows -> parquet with an explicit arrow ``schema``, atomically.

    No pandas metadata and no clock: the same rows always give the same bytes.
    """
    table = pa.Table.from_pylist(rows, schema=schema)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def remove_stale_temps(folder: Path) -> int:
    """Delete what a killed writer left in ``folder``: ``.<name>.*.tmp`` files of the atomic writes and
    ``.<name>.tmp-*`` checkpoint folders of the trainer (never under a ``ray`` folder); returns how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    stale = [p for pattern in (".*.tmp", ".*.tmp-*") for p in folder.rglob(pattern)
             if "ray" not in p.relative_to(folder).parts[:1]]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(stale)
