"""The one reader of a trained judge's stage folder, shared by ``w2s label --judge`` and the judge server.

A judge folder is what ``stages.trained`` writes: ``stage.json`` (its semantic config), ``model/``
(the checkpoint, with ``train_log.json``) and ``COMPLETE``. Its name says what it is:
``judge-<protocol>-s<debate seed>-<hash>`` or ``weak-floor-<hash>`` (the no-transcript judge).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeling.stages.trained import recorded_dtype

JUDGE_FOLDER = re.compile(r"^judge-(?P<protocol>.+)-s(?P<seed>\d+)-[0-9a-f]+$")
FLOOR_FOLDER = re.compile(r"^weak-floor-[0-9a-f]+$")


class JudgeFolderError(ValueError):
    """The path is not a readable judge stage folder."""


@dataclass(frozen=True)
class JudgeFolder:
    """A judge stage folder's metadata (no weights loaded)."""

    path: Path
    stage: dict[str, Any]
    protocol: str | None  # None: a folder not named like a judge (allowed only when not strict)
    debate_seed: int | None  # None for the weak floor
    dataset: str
    max_length: int
    trained_dtype: str  # the precision it was trained in
    stage_sha256: str  # identity of stage.json, for provenance
    train_log: dict[str, Any] | None
    judge_input: str = "item_first"  # the input layout it was trained on (``labeling.data.judge_input``)

    @property
    def model_dir(self) -> Path:
        """The checkpoint."""
        return self.path / "model"


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file of a stage or results folder; a missing or broken file is a ``JudgeFolderError``."""
    return _read_json(path)[0]


def _read_json(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text()
        return json.loads(text), text
    except FileNotFoundError:
        raise JudgeFolderError(f"{path} is missing") from None
    except json.JSONDecodeError as exc:
        raise JudgeFolderError(f"{path} is not valid JSON: {exc}") from None


def judge_kind(path: Path, strict: bool = True) -> tuple[str | None, int | None]:
    """(protocol, debate seed) from the folder name: ``('none', None)`` for the weak floor.

    A name of another form is an error when ``strict``, else ``(None, None)``.
    """
    if match := JUDGE_FOLDER.match(path.name):
        return match["protocol"], int(match["seed"])
    if FLOOR_FOLDER.match(path.name):
        return "none", None
    if strict:
        raise JudgeFolderError(
            f"{path} is not a judge stage folder (expected judge-<protocol>-s<k>-<hash> or weak-floor-<hash>)"
        )
    return None, None


def read_judge_folder(path: str | Path, *, strict: bool = True) -> JudgeFolder:
    """Read and check a judge stage folder: its name, ``stage.json`` and checkpoint."""
    path = Path(path).resolve()
    protocol, seed = judge_kind(path, strict)
    stage, text = _read_json(path / "stage.json")
    if not (path / "model" / "config.json").is_file():
        raise JudgeFolderError(f"{path} has no trained checkpoint in model/")
    try:
        dataset, max_length = str(stage["data"]["dataset"]), int(stage["train"]["max_length"])
    except (KeyError, TypeError, ValueError):
        raise JudgeFolderError(f"{path}/stage.json lacks data.dataset or train.max_length") from None
    log_path = path / "model" / "train_log.json"
    train_log = _read_json(log_path)[0] if log_path.is_file() else None
    return JudgeFolder(
        path=path,
        stage=stage,
        protocol=protocol,
        debate_seed=seed,
        dataset=dataset,
        max_length=max_length,
        trained_dtype=recorded_dtype(stage),
        stage_sha256=hashlib.sha256(text.encode()).hexdigest(),
        train_log=train_log,
        judge_input=str(stage.get("judge_input", "item_first")),
    )
