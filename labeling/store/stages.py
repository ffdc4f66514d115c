"""Stage folders keyed by their semantic config, and their completion markers.

Every stage writes into ``<output_dir>/artifacts/<kind>-<hash>/`` where the hash covers
exactly what changes the stage's result. ``stage.json`` (the config that made it) is
written first and ``COMPLETE`` last; a folder with ``COMPLETE`` is reused as it is, a
folder without it is resumed or redone by its stage.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeling.config import config_hash
from labeling.store.atomic import atomic_write_text, remove_stale_temps

log = logging.getLogger(__name__)

COMPLETE = "COMPLETE"
_REUSE_ONLY: ContextVar[bool] = ContextVar("reuse_only", default=False)


class StageMissing(RuntimeError):
    """A finished stage was required (``w2s eval`` reads, never computes) but is missing or unfinished."""


@contextlib.contextmanager
def reuse_only() -> Iterator[None]:
    """Inside the block, a stage that would have to do work raises ``StageMissing`` instead."""
    token = _REUSE_ONLY.set(True)
    try:
        yield
    finally:
        _REUSE_ONLY.reset(token)


def reusing_only() -> bool:
    """True inside ``reuse_only()``."""
    return _REUSE_ONLY.get()


def require_finished(kind: str, path: Path, what: str = "stage") -> None:
    """Raise ``StageMissing`` inside ``reuse_only()``: ``what`` at ``path`` would have to be computed."""
    if _REUSE_ONLY.get():
        raise StageMissing(f"{what} {kind} is not finished: {path} (run `w2s run CONFIG` to make it)")


@dataclass(frozen=True)
class StageDir:
    """One stage's folder and the semantic config it was derived from."""

    path: Path
    kind: str
    semantic: dict[str, Any]

    @property
    def complete(self) -> bool:
        """True once the stage wrote its completion marker."""
        return (self.path / COMPLETE).is_file()

    def begin(self) -> Path:
        """Create the folder and record the semantic config; returns the folder (never inside ``reuse_only``)."""
        require_finished(self.kind, self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        if removed := remove_stale_temps(self.path):  # an unfinished stage's temps are a killed attempt's
            log.info("%s: removed %d temp files left by an interrupted run", self.path.name, removed)
        atomic_write_text(self.path / "stage.json", json.dumps(self.semantic, indent=2, sort_keys=True, default=str))
        return self.path

    @contextlib.contextmanager
    def attempt(self, resumable: Callable[[], bool] = lambda: False) -> Iterator[Path]:
        """``begin()`` the stage for the block; when the block fails, remove a folder it created.

        A folder this attempt created is provably its own: on an error (not an interrupt, which a
        rerun resumes) it is deleted unless ``resumable()`` says it holds work a rerun would reuse
        (a trained model whose predictions failed). A folder that existed before is left alone.
        """
        created = [p for p in (self.path, self.path.parent, self.path.parent.parent) if not p.exists()]
        path = self.begin()
        try:
            yield path
        except Exception:
            if created and created[0] == path and not self.complete and not resumable():
                shutil.rmtree(path, ignore_errors=True)
                for parent in created[1:]:  # the artifacts (and output) folder, when this attempt made them
                    with contextlib.suppress(OSError):
                        parent.rmdir()
                log.info("%s: removed the folder of this failed attempt", path.name)
            raise

    def finish(self, summary: dict[str, Any] | None = None) -> None:
        """Write the completion marker (with an optional summary) last."""
        payload = {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(summary or {})}
        atomic_write_text(self.path / COMPLETE, json.dumps(payload, indent=2, default=str))


def without_later_defaults(values: Mapping[str, Any], later_defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` minus each key of ``later_defaults`` that holds its listed default.

    ``later_defaults`` lists settings added after stage folders were first named, with the value
    that reproduces the old behaviour: at that value a setting stays out of the key, so existing
    folders keep their names; any other value is keyed.
    """
    return {k: v for k, v in values.items() if not (k in later_defaults and later_defaults[k] == v)}


def stage_dir(output_dir: str | Path, kind: str, semantic: dict[str, Any]) -> StageDir:
    """The folder for stage ``kind`` with this semantic config."""
    digest = config_hash(semantic)
    return StageDir(Path(output_dir) / "artifacts" / f"{kind}-{digest}", kind, semantic)
