"""Every transcript of a finished run, joined with what each model said about its item, for the report's browser.

Read from the run's files only (``manifest.json`` names the data, transcript and model folders), so
``w2s report`` can rebuild the page long after the run. Each transcript becomes a small index row
(what the browser filters on) and a detail record (what it shows when the transcript is opened).
Model text stays plain text here; the page inserts it as text, never as markup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from debate import Transcript

from labeling.data.stage import SPLIT_NAMES, Splits
from labeling.exec.shards import read_shards

_MARKED = re.compile(r"<(v_quote|u_quote)>(.*?)</\1>", re.DOTALL)
QUOTE_KINDS = {"v_quote": "v", "u_quote": "u"}


class ReportInputMissing(FileNotFoundError):
    """A file the report needs is not in the run folder (the run predates the report, or was moved)."""


def segments(text: str) -> list[list[str]]:
    """A turn's text as ``[text, kind]`` pieces: kind ``v`` (verified quote), ``u`` (unverified) or ``""``."""
    pieces: list[list[str]] = []
    at = 0
    for match in _MARKED.finditer(text):
        if match.start() > at:
            pieces.append([text[at:match.start()], ""])
        pieces.append([match.group(2), QUOTE_KINDS[match.group(1)]])
        at = match.end()
    if at < len(text):
        pieces.append([text[at:], ""])
    return pieces


def _predictions(stage: Path, view: str) -> dict[str, float]:
    """A model folder's ``pred_<view>.parquet`` as id -> P(label 1) (empty when it has none)."""
    path = stage / f"pred_{view}.parquet"
    if not path.exists():
        return {}
    frame = pd.read_parquet(path)
    return {str(i): float(p) for i, p in zip(frame["id"], frame["prob"])}


@dataclass
class JudgeReads:
    """Per transcripts folder name: the judges that read it, each as (training seed, folder, predictions)."""

    by_transcripts: dict[str, list[tuple[int, str, dict[str, float], dict[str, float]]]] = field(default_factory=dict)


def judge_reads(manifest: dict) -> JudgeReads:
    """Which judge folders read which transcripts folder, with their with- and without-transcript predictions."""
    reads = JudgeReads()
    seen: set[str] = set()
    for seed_key, models in manifest.get("stages", {}).items():
        seed = int(seed_key.removeprefix("seed"))
        for paths in models.get("judges", {}).values():
            for path in map(Path, paths):
                if str(path) in seen or not (path / "stage.json").exists():
                    continue
                seen.add(str(path))
                source = json.loads((path / "stage.json").read_text()).get("transcripts")
                if source:
                    with_t = {**_predictions(path, "strong_train"), **_predictions(path, "test")}
                    reads.by_transcripts.setdefault(source, []).append((seed, path.name, with_t,
                                                                        _predictions(path, "test_plain")))
    return reads


def student_predictions(manifest: dict) -> dict[str, dict[str, list[float]]]:
    """Per student (label source and loss): item id -> its test P(label 1), one value per training seed."""
    found: dict[str, dict[str, list[float]]] = {}
    for models in manifest.get("stages", {}).values():
        for name, path in models.get("students", {}).items():
            for item, prob in _predictions(Path(path), "test").items():
                found.setdefault(name, {}).setdefault(item, []).append(prob)
    return found


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if v == v]
    return round(float(np.mean(finite)), 4) if finite else None


def transcript_entry(record: dict, item: dict, split: str, reads: list, students: dict) -> tuple[dict, dict]:
    """One transcript's index row (filter fields) and detail record (what the browser shows)."""
    t = Transcript.from_record(record)
    gold = int(item["label"])
    members = [{"seed": seed, "model": name, "p": _mean([with_t.get(t.item_id, float("nan"))]),
                "p_without": _mean([without.get(t.item_id, float("nan"))])} for seed, name, with_t, without in reads
               if t.item_id in with_t or t.item_id in without]  # judges never score the items they trained on
    judged = _mean([m["p"] for m in members if m["p"] is not None])
    plain = _mean([m["p_without"] for m in members if m["p_without"] is not None])
    index = {
        "split": split, "protocol": t.protocol, "seed": t.seed, "id": t.item_id, "gold": gold,
        "stances": dict(t.stances), "p": judged, "p_plain": plain,
        "right": None if judged is None else (judged > 0.5) == bool(gold),
        "conf": None if judged is None else round(max(judged, 1 - judged), 4),
        "quotes": sum(turn.quotes for turn in t.turns), "verified": sum(turn.verified_quotes for turn in t.turns),
        "failed": t.failed is not None,
    }
    detail = {
        "question": str(item["question"]), "answer": str(item["answer"]), "evidence": str(item.get("evidence") or ""),
        "turns": [{"speaker": turn.speaker, "stance": turn.stance, "segments": segments(turn.text),
                   "quotes": turn.quotes, "verified": turn.verified_quotes} for turn in t.turns],
        "judges": members, "failed": t.failed or "",
        "students": {name: _mean(preds.get(t.item_id, [])) for name, preds in students.items()
                     if t.item_id in preds},
    }
    return index, detail


def run_transcripts(run_dir: Path, manifest: dict) -> tuple[list[dict], list[dict]]:
    """Every transcript of the run behind ``run_dir``: index rows and detail records, in the same order."""
    if not manifest.get("transcripts"):
        return [], []
    data_stage = manifest.get("data_stage")
    if not data_stage or not Path(data_stage).is_dir():
        raise ReportInputMissing(
            f"{run_dir}/manifest.json does not name an existing data stage (data_stage); the run predates the report "
            "or its artifacts moved: rerun `w2s eval CONFIG` (it reuses every stage) to refresh the manifest")
    splits = Splits.read(Path(data_stage))
    items = {str(row["id"]): (name, row) for name in SPLIT_NAMES
             for row in splits[name].to_dict(orient="records")}
    reads = judge_reads(manifest)
    students = student_predictions(manifest)
    index: list[dict] = []
    details: list[dict] = []
    for stats in manifest["transcripts"].values():
        stage = Path(stats["stage"])
        if not stage.is_dir():
            raise ReportInputMissing(f"transcripts folder {stage} (named in {run_dir}/manifest.json) is gone")
        for record in read_shards(stage).to_dict(orient="records"):
            split, item = items[str(record["item_id"])]
            row, detail = transcript_entry(record, item, split, reads.by_transcripts.get(stage.name, []), students)
            index.append(row)
            details.append(detail)
    return index, details

