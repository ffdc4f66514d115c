"""The weak-to-strong gap simulator, part 3: its markdown table, JSON file and PGR plot."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any, Sequence

from .atomic import write_bytes_atomic
from .plots import series_colors
from .simulate_table import SimConfig, SimRow

__all__ = ["simulate_markdown", "plot_pgr_curves", "write_simulation"]

_HEADER = ("| error model | weak acc target | fix rate | loss | weak acc | label acc | ceiling acc "
           "| student acc | PGR % [95% CI] | seeds |")


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.1f}"


def simulate_markdown(rows: Sequence[SimRow]) -> str:
    """The table: one line per setting; accuracies in percent (test split, mean over seeds).

    *weak acc* is the weak floor on the test split (before fixes), *label acc* the accuracy of the
    student's training labels (after fixes), PGR = (student - weak) / (ceiling - weak).
    """
    lines = [_HEADER, "|" + "---|" * _HEADER.count(" | ") + "---|"]
    for row in rows:
        s = row.setting
        cells = [s.errors, f"{s.accuracy:g}", f"{s.fix_rate:g}", s.loss, _pct(row.weak.value),
                 _pct(row.label_accuracy), _pct(row.ceiling.value), row.student.fmt(), row.pgr.fmt(),
                 str(row.n_seeds)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _json_safe(obj: Any) -> Any:
    """nan and inf become None, recursively."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _series_label(row: SimRow, fix_rates: set[float]) -> str:
    s = row.setting
    label = f"{s.errors} / {s.loss}"
    return label + (f" / fix {s.fix_rate:g}" if len(fix_rates) > 1 else "")


def plot_pgr_curves(rows: Sequence[SimRow], path: Path, *, title: str = "") -> Path:
    """Save a PNG of PGR (%) against the weak accuracy target, one line per series, 95% CI bands."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("plot_pgr_curves needs at least one row")
    fix_rates = {r.setting.fix_rate for r in rows}
    series: dict[str, list[SimRow]] = {}
    for row in rows:
        series.setdefault(_series_label(row, fix_rates), []).append(row)
    fig = Figure(figsize=(7.5, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for color, (label, items) in zip(series_colors(len(series)), series.items()):
        items = sorted(items, key=lambda r: r.setting.accuracy)
        xs = [100 * r.setting.accuracy for r in items]
        ys = [100 * r.pgr.value for r in items]
        lo = [100 * (r.pgr.lo if math.isfinite(r.pgr.lo) else r.pgr.value) for r in items]
        hi = [100 * (r.pgr.hi if math.isfinite(r.pgr.hi) else r.pgr.value) for r in items]
        ax.plot(xs, ys, marker="o", color=color, label=label, zorder=3)
        ax.fill_between(xs, lo, hi, color=color, alpha=0.18, linewidth=0, zorder=2)
    for level in (0, 100):
        ax.axhline(level, color="gray", linewidth=0.8, linestyle="-" if level == 0 else "--", zorder=1)
    ax.set_xlabel("weak accuracy target (%)")
    ax.set_ylabel("PGR (%)")
    n_seeds, n_items = rows[0].pgr.n_seeds, rows[0].pgr.n_items
    ax.set_title((title + "\n" if title else "")
                 + f"{n_seeds} seeds, {n_items} test items; bands: 95% bootstrap CI", fontsize=9)
    ax.grid(alpha=0.3, zorder=0)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.getvalue())
    return path


def write_simulation(rows: Sequence[SimRow], config: SimConfig, out: Path, *, title: str = "") -> dict[str, Path]:
    """Write ``simulate.md``, ``simulate.json`` and ``simulate.png`` into ``out``; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "simulate.md", "json": out / "simulate.json", "png": out / "simulate.png"}
    bayes = config.task.bayes_accuracy()
    heading = (f"# {title or 'W2S gap simulation'}\n\n"
               f"Synthetic task: dim {config.task.dim}, class separation {config.task.separation:g} "
               f"(Bayes accuracy {100 * bayes:.1f}%); {config.n_train} student-training items, "
               f"{config.n_test} test items, {config.seeds} seeds; fix target {config.fix_target}.\n\n")
    write_bytes_atomic(paths["md"], (heading + simulate_markdown(rows)).encode())
    payload = {"config": config.to_dict(), "bayes_accuracy": bayes, "rows": [r.to_dict() for r in rows]}
    write_bytes_atomic(paths["json"], (json.dumps(_json_safe(payload), indent=2) + "\n").encode())
    plot_pgr_curves(rows, paths["png"], title=title)
    return paths
