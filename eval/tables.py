"""Result rows and their serializations: a GitHub markdown table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .atomic import write_bytes_atomic
from .calibration import N_BINS
from .stats import Estimate

__all__ = ["ROLES", "ResultRow", "results_markdown", "write_results", "read_results"]

ROLES = ("weak", "ceiling", "student", "judge", "bootstrap")  # bootstrap: an intermediate model of a chain


@dataclass(frozen=True)
class ResultRow:
    """One model's test result: accuracy (with CI), optional PGR (with CI), AUROC and a note.

    ``ece`` (binary ECE, ``eval.calibration``) and ``brier`` (Brier score) with their CIs are None where
    they were not computed (results written before they existed).
    """

    method: str
    role: str
    accuracy: Estimate
    pgr: Estimate | None = None
    auroc: float | None = None
    note: str = ""
    ece: Estimate | None = None
    brier: Estimate | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict (floats may be nan)."""
        return {
            "method": self.method,
            "role": self.role,
            "accuracy": self.accuracy.to_dict(),
            "pgr": None if self.pgr is None else self.pgr.to_dict(),
            "auroc": None if self.auroc is None else float(self.auroc),
            "note": self.note,
            "ece": None if self.ece is None else self.ece.to_dict(),
            "brier": None if self.brier is None else self.brier.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResultRow:
        """Inverse of :meth:`to_dict`, also accepting JSON nulls for nan (and rows without ece / brier)."""
        def optional(key: str) -> Estimate | None:
            return None if data.get(key) is None else Estimate.from_dict(data[key])

        return cls(
            method=data["method"],
            role=data["role"],
            accuracy=Estimate.from_dict(data["accuracy"]),
            pgr=optional("pgr"),
            auroc=None if data.get("auroc") is None else float(data["auroc"]),
            note=data.get("note", ""),
            ece=optional("ece"),
            brier=optional("brier"),
        )


def _cell(text: str) -> str:
    """Make text safe inside one markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _level_label(rows: Sequence[ResultRow]) -> str:
    alphas = {r.accuracy.alpha for r in rows} | {r.pgr.alpha for r in rows if r.pgr is not None}
    if len(alphas) == 1:
        return f"{(1.0 - alphas.pop()) * 100:g}% CI"
    return "CI"


def _auroc_text(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3f}"


def _optional(est: Estimate | None, pct: bool = True) -> str:
    return "–" if est is None else est.fmt(pct)


def results_markdown(rows: Sequence[ResultRow], title: str | None = None) -> str:
    """GitHub markdown table with one line per row (plus an optional ``### title``).

    Columns: method | accuracy % [CI] | AUROC | ECE % [CI] | Brier [CI] | PGR % [CI] | n items | seeds | note;
    the ECE and Brier columns only when some row has them (tables of older results do not).
    """
    level = _level_label(rows) if rows else "95% CI"
    calibrated = any(r.ece is not None or r.brier is not None for r in rows)
    ece_bins = f", {N_BINS} bins" if calibrated else ""
    header = ["method", f"accuracy % [{level}]", "AUROC",
              *([f"ECE %{ece_bins} [{level}]", f"Brier [{level}]"] if calibrated else []),
              f"PGR % [{level}]", "n items", "seeds", "note"]
    lines = []
    if title:
        lines += [f"### {_cell(title)}", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 2) + ["---"]) + "|")
    for row in rows:
        cells = [
            _cell(row.method),
            row.accuracy.fmt(),
            _auroc_text(row.auroc),
            *([_optional(row.ece), _optional(row.brier, pct=False)] if calibrated else []),
            _optional(row.pgr),
            str(row.accuracy.n_items),
            str(row.accuracy.n_seeds),
            _cell(row.note),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _json_safe(obj: Any) -> Any:
    """Recursively convert to JSON-native types; nan and inf become None."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON: {obj!r}")


_CSV_FIELDS = ["method", "role", "accuracy", "accuracy_lo", "accuracy_hi", "auroc",
               "ece", "ece_lo", "ece_hi", "brier", "brier_lo", "brier_hi",
               "pgr", "pgr_lo", "pgr_hi", "pgr_dropped", "n_items", "n_seeds", "n_boot",
               "alpha", "note"]


def _csv_text(rows: Sequence[ResultRow]) -> str:
    def num(x: float | None) -> str:
        return "" if x is None or not math.isfinite(x) else repr(float(x))

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        acc, p = r.accuracy, r.pgr
        writer.writerow({
            "method": r.method, "role": r.role,
            "accuracy": num(acc.value), "accuracy_lo": num(acc.lo), "accuracy_hi": num(acc.hi),
            "auroc": num(r.auroc),
            **{f"{key}{part}": num(getattr(est, attr) if est else None)
               for key, est in (("ece", r.ece), ("brier", r.brier))
               for part, attr in (("", "value"), ("_lo", "lo"), ("_hi", "hi"))},
            "pgr": num(p.value if p else None), "pgr_lo": num(p.lo if p else None),
            "pgr_hi": num(p.hi if p else None), "pgr_dropped": "" if p is None else p.n_dropped,
            "n_items": acc.n_items, "n_seeds": acc.n_seeds, "n_boot": acc.n_boot,
            "alpha": acc.alpha, "note": r.note,
        })
    return buf.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    """Write text (UTF-8, newlines as given) atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_results(
    rows: Sequence[ResultRow],
    out_dir: Path,
    *,
    name: str = "results",
    meta: dict | None = None,
    title: str | None = None,
    appendix: str = "",
) -> dict[str, Path]:
    """Write ``<name>.md``, ``<name>.json`` (rows + meta, nan as null) and ``<name>.csv``.

    ``title`` heads the markdown table; ``appendix`` (markdown, e.g. a separate section whose numbers
    are in ``meta``) follows it in ``<name>.md`` after a blank line. Each file is written atomically.
    Returns ``{"md": ..., "json": ..., "csv": ...}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = _json_safe({"meta": meta or {}, "rows": [r.to_dict() for r in rows]})
    texts = {
        "md": results_markdown(rows, title=title) + (f"\n{appendix}" if appendix else ""),
        "json": json.dumps(payload, indent=2, allow_nan=False) + "\n",
        "csv": _csv_text(rows),
    }
    paths = {}
    for ext, text in texts.items():
        path = out_dir / f"{name}.{ext}"
        _write_atomic(path, text)
        paths[ext] = path
    return paths


def read_results(json_path: Path) -> tuple[list[ResultRow], dict[str, Any]]:
    """Load rows and meta back from a JSON file written by :func:`write_results`."""
    data = json.loads(Path(json_path).read_text(encoding="utf-8"))
    return [ResultRow.from_dict(d) for d in data["rows"]], data.get("meta", {})
