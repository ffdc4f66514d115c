"""Bar chart of result rows: accuracy with CI error bars, weak/ceiling reference lines, PGR labels."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

from .atomic import write_bytes_atomic
from .tables import ResultRow

__all__ = ["plot_results", "plot_grouped_bars"]

_ROLE_COLORS = {
    "weak": "#9e9e9e",
    "ceiling": "#3b5b92",
    "student": "#e08a2c",
    "judge": "#7b5ea7",
    "bootstrap": "#5a9e6f",
}


def _finite_or(x: float | None, default: float) -> float:
    return default if x is None or not math.isfinite(x) else float(x)


def _first_accuracy(rows: Sequence[ResultRow], role: str) -> float | None:
    for row in rows:
        if row.role == role and math.isfinite(row.accuracy.value):
            return row.accuracy.value
    return None


def _bar_label(row: ResultRow) -> str:
    text = row.accuracy.fmt().split(" [")[0]
    if row.role == "student" and row.pgr is not None:
        text += f"\nPGR {row.pgr.fmt()} %"
    return text


def plot_results(rows: Sequence[ResultRow], path: Path, *, title: str = "") -> Path:
    """Save a PNG bar chart of accuracy per method and return its path.

    Error bars are the accuracy CIs; dashed lines mark the first weak and ceiling rows'
    accuracies; student bars carry their PGR with its CI. The y-axis is zoomed to the
    data (it need not start at 0) because the gaps of interest are a few points.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not rows:
        raise ValueError("plot_results needs at least one row")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    values = [_finite_or(r.accuracy.value, 0.0) * 100 for r in rows]
    los = [_finite_or(r.accuracy.lo, r.accuracy.value) * 100 for r in rows]
    his = [_finite_or(r.accuracy.hi, r.accuracy.value) * 100 for r in rows]
    yerr = [[max(v - lo, 0.0) for v, lo in zip(values, los)],
            [max(hi - v, 0.0) for v, hi in zip(values, his)]]

    fig = Figure(figsize=(max(6.0, 1.25 * len(rows) + 2.0), 4.8), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(len(rows)))
    ax.bar(xs, values, width=0.65, color=[_ROLE_COLORS[r.role] for r in rows],
           edgecolor="black", linewidth=0.6, zorder=2)
    ax.errorbar(xs, values, yerr=yerr, fmt="none", ecolor="black", capsize=4, lw=1, zorder=3)

    ref_handles = []
    for role, label in (("weak", "weak"), ("ceiling", "ceiling")):
        acc = _first_accuracy(rows, role)
        if acc is not None:
            ax.axhline(acc * 100, ls="--", lw=1.1, color=_ROLE_COLORS[role], zorder=1)
            ref_handles.append(Line2D([], [], ls="--", color=_ROLE_COLORS[role],
                                      label=f"{label} {acc * 100:.1f}%"))

    low = min(min(los), min(values))
    high = max(max(his), max(values))
    bottom = max(0.0, math.floor((low - 5.0) / 5.0) * 5.0)
    span = max(high - bottom, 1.0)
    has_pgr = any(r.role == "student" and r.pgr is not None for r in rows)
    ax.set_ylim(bottom, high + span * (0.28 if has_pgr else 0.14))
    for x, hi, row in zip(xs, his, rows):
        ax.text(x, hi + span * 0.02, _bar_label(row), ha="center", va="bottom", fontsize=7.5,
                zorder=4, bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1.0))

    ax.set_xticks(xs)
    ax.set_xticklabels([r.method for r in rows], rotation=20, ha="right", fontsize=8.5)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(axis="y", alpha=0.3, zorder=0)
    roles_present = [role for role in _ROLE_COLORS if any(r.role == role for r in rows)]
    handles = [Patch(facecolor=_ROLE_COLORS[r], edgecolor="black", label=r)
               for r in roles_present] + ref_handles
    ax.legend(handles=handles, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0, frameon=False)

    first = rows[0].accuracy
    level = f"{(1 - first.alpha) * 100:g}%"
    subtitle = (f"n = {first.n_items} test items, {first.n_seeds} seed(s); "
                f"error bars and PGR brackets: {level} bootstrap CI")
    ax.set_title(f"{title}\n{subtitle}" if title else subtitle, fontsize=9)
    fig.tight_layout()
    return _save_png(fig, path)


def _save_png(fig, path: Path) -> Path:
    """Render ``fig`` and write it to ``path`` atomically (temporary file, then rename)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_bytes_atomic(path, buf.getvalue())
    return path


Interval = tuple[float, float | None, float | None]  # value, lo, hi (fractions)


def series_colors(n: int) -> list:
    """``n`` distinct bar colours: tab10 up to 10 series, tab20 up to 20, then an even sweep of viridis."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["viridis"](i / (n - 1)) for i in range(n)]


def plot_grouped_bars(
    groups: Sequence[str],
    series: dict[str, Sequence[Interval | None]],
    path: Path,
    *,
    ylabel: str,
    title: str,
    reference_lines: Sequence[float] = (),
    empty_note: str = "nothing to plot",
    zoom: bool = False,
) -> Path:
    """Save a PNG of one bar per (group, series) with CI error bars, values in percent.

    ``series`` maps a legend label to one ``(value, lo, hi)`` per group (``None``: no bar;
    a missing bound draws no error on that side). ``reference_lines`` are percent values drawn
    as horizontal lines (e.g. 0 and 100 for PGR). With no bars at all, the plot says
    ``empty_note`` instead of drawing an empty legend. ``zoom`` starts the y-axis a little below
    the lowest error bar instead of at 0 (for accuracies a few points apart).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n_series = max(1, len(series))
    fig = Figure(figsize=(max(6.0, 0.8 * len(groups) * n_series + 3.0), 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / n_series
    colors = series_colors(n_series)
    drawn, lowest = 0, math.inf
    for j, (label, intervals) in enumerate(series.items()):
        xs, values, errs = [], [], [[], []]
        for i, interval in enumerate(intervals):
            if interval is None or interval[0] is None or not math.isfinite(interval[0]):
                continue
            value, lo, hi = (100 * _finite_or(x, interval[0]) for x in interval)
            xs.append(i + (j - (n_series - 1) / 2) * width)
            values.append(value)
            errs[0].append(max(value - lo, 0.0))
            errs[1].append(max(hi - value, 0.0))
        if xs:
            ax.bar(xs, values, width=width, yerr=errs, capsize=3, label=label, color=colors[j], zorder=2)
            drawn += len(xs)
            lowest = min(lowest, *(v - e for v, e in zip(values, errs[0])))
    for level in reference_lines:
        ax.axhline(level, color="gray", linewidth=0.8, linestyle="--" if level else "-", zorder=1)
    if zoom and drawn:
        ax.set_ylim(bottom=max(0.0, math.floor((lowest - 5.0) / 5.0) * 5.0))
    ax.set_xticks(range(len(groups)), list(groups), rotation=15, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    if drawn:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    else:
        ax.text(0.5, 0.5, empty_note, ha="center", transform=ax.transAxes)
    fig.tight_layout()
    return _save_png(fig, path)
