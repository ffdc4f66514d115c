"""Stage folders keyed by their semantic config, and their completion markers.

Every stage writes into ``<output_dir>/artifacts/<kind>-<hash>/`` where the hash covers
exactly what changes the stage's result. ``stage.json`` (the config that made it) is
written first and ``COMPLETE`` last; a folder with ``COMPLETE`` is reused as it is, a
folder without it is resumed or redone by its stage.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeling.config import config_hash
from labeling.store.atomic import atomic_write_text

COMPLETE = "COMPLETE"


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
        """Create the folder and record the semantic config; returns the folder."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / "stage.json", json.dumps(self.semantic, indent=2, sort_keys=True, default=str))
        return self.path

    def finish(self, summary: dict[str, Any] | None = None) -> None:
        """Write the completion marker (with an optional summary) last."""
        payload = {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(summary or {})}
        atomic_write_text(self.path / COMPLETE, json.dumps(payload, indent=2, default=str))


def stage_dir(output_dir: str | Path, kind: str, semantic: dict[str, Any]) -> StageDir:
    """The folder for stage ``kind`` with this semantic config."""
    digest = config_hash(semantic)
    return StageDir(Path(output_dir) / "artifacts" / f"{kind}-{digest}", kind, semantic)
