"""What the HTML report shows, collected from a run's (or a comparison's) results folder.

A run folder holds ``results.json``, ``manifest.json``, ``config.json``, ``warnings.json`` and PNG
figures; a comparison folder holds ``compare.json`` and one run folder per entry. Nothing is
recomputed: the page shows the numbers the run wrote.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from training.checkpoints import TRAIN_LOG

from labeling.experiment.manifest import stage_folders
from labeling.experiment.report_transcripts import ReportInputMissing, run_transcripts
from labeling.experiment.run_log import read_warnings
from labeling.store import COMPLETE

COMPARE_FILE, RESULTS_FILE = "compare.json", "results.json"


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise ReportInputMissing(f"{path} not found: is {path.parent} the results folder of `w2s run` or `w2s compare`?")
    return json.loads(path.read_text())


def plots(folder: Path) -> list[dict[str, str]]:
    """Every PNG figure in ``folder`` as a name and a base64 data string."""
    return [{"name": p.name, "png": base64.b64encode(p.read_bytes()).decode("ascii")} for p in sorted(folder.glob("*.png"))]


def derived_warnings(rows: list[dict], manifest: dict) -> list[str]:
    """Warnings read off the results themselves (so runs made before ``warnings.json`` show them too)."""
    found = []
    by_role = {r["role"]: r for r in rows if r["role"] in ("weak", "ceiling")}
    weak, ceiling = by_role.get("weak"), by_role.get("ceiling")
    if weak and ceiling:
        if ceiling["accuracy"]["value"] <= weak["accuracy"]["value"]:
            found.append("the ceiling is not above the weak floor: PGR is meaningless for this run")
        lo = ceiling["accuracy"].get("lo")
        if lo is not None and lo <= 0.5:
            found.append("the ceiling's CI reaches chance (50%): the strong model may not have learned the task")
    for key, stats in manifest.get("transcripts", {}).items():
        if stats.get("failed"):
            found.append(f"{stats['failed']} of {stats['items']} transcripts of {key} failed (never trained on, never a label)")
    return found


def stage_rows(manifest: dict) -> list[dict]:
    """Every folder behind the table with what it recorded: kind, training seconds and steps, finish time."""
    transcripts = [Path(s["stage"]) for s in manifest.get("transcripts", {}).values()]
    rows = []
    for folder in transcripts + stage_folders(manifest):
        done = folder / COMPLETE
        log = folder / "model" / TRAIN_LOG
        train = json.loads(log.read_text()) if log.is_file() else {}
        rows.append({
            "folder": folder.name,
            "kind": folder.name.rsplit("-", 1)[0],
            "finished_at": json.loads(done.read_text()).get("finished_at") if done.is_file() else None,
            "train_seconds": round(train["seconds"], 1) if "seconds" in train else None,
            "steps": train.get("steps"),
            "examples": train.get("n_examples"),
        })
    return rows


def run_section(folder: Path, label: str = "") -> tuple[dict, list[dict], list[dict]]:
    """One run folder's section of the page, and its transcripts (index rows and details) tagged with ``label``."""
    results = _read_json(folder / RESULTS_FILE)
    manifest = _read_json(folder / "manifest.json")
    config_path = folder / "config.json"
    index, details = run_transcripts(folder, manifest)
    for row in index:
        row["entry"] = label
    section = {
        "label": label,
        "folder": str(folder),
        "rows": results["rows"],
        "meta": {k: v for k, v in results.get("meta", {}).items() if k not in ("stages", "transcripts")},
        "transcript_stats": manifest.get("transcripts", {}),
        "config": json.loads(config_path.read_text()) if config_path.is_file() else None,
        "warnings": read_warnings(folder),
        "derived_warnings": derived_warnings(results["rows"], manifest),
        "stages": stage_rows(manifest),
        "plots": plots(folder),
    }
    return section, index, details


def report_data(folder: Path) -> tuple[dict, list[dict], list[dict]]:
    """The page's data for a run or comparison folder: the summary, then every transcript's index row and details."""
    folder = Path(folder).resolve()
    if (folder / COMPARE_FILE).is_file():
        summary = _read_json(folder / COMPARE_FILE)
        entries = list(dict.fromkeys(r["dataset"] for r in summary.get("rows", [])))
        sections, index, details = [], [], []
        for entry in entries:
            section, rows, texts = run_section(folder / entry, entry)
            sections.append(section)
            index += rows
            details += texts
        page = {"kind": "compare", "title": folder.name, "compare": summary, "plots": plots(folder), "sections": sections}
        return page, index, details
    section, index, details = run_section(folder)
    return {"kind": "run", "title": folder.name, "sections": [section]}, index, details
