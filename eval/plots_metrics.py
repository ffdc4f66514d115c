"""Figures of the calibration and student-vs-supervisor metrics: reliability diagrams, inherited vs new errors."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

from numpy.typing import ArrayLike

from .calibration import N_BINS, expected_calibration_error, reliability_curve
from .deception import SupervisionRow
from .atomic import write_bytes_atomic
from .plots import series_colors
from .stats import Estimate

__all__ = ["plot_reliability", "plot_supervision"]

_MARKERS = ("o", "^", "s", "D", "v", "P")


def _figure(n_panels: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * max(1, n_panels), 5.2), dpi=120)
    FigureCanvasAgg(fig)
    # Fixed margins, no tight_layout: the legends hang below the axes and the saved canvas grows to hold them.
    fig.subplots_adjust(left=0.12 / max(1, n_panels), right=1 - 0.04 / max(1, n_panels), top=0.8, bottom=0.12,
                        wspace=0.35)
    return fig, [fig.add_subplot(1, max(1, n_panels), i + 1) for i in range(max(1, n_panels))]


def _save(fig, path: Path) -> Path:
    """Write the PNG atomically, the canvas grown to hold the legends below the axes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    write_bytes_atomic(path, buf.getvalue())
    return path


def _square_axes(ax, xlabel: str, ylabel: str, title: str) -> None:
    ax.plot([0, 100], [0, 100], ls="--", lw=0.8, color="gray", zorder=1)
    ax.set_xlim(-3, 103)  # room for the markers of rates at 0 and 100
    ax.set_ylim(-3, 103)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, zorder=0)


def _legend_below(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    else:
        ax.text(50, 50, "nothing to plot", ha="center", va="center")


def plot_reliability(
    panels: dict[str, dict[str, tuple[ArrayLike, ArrayLike]]], path: Path, *, title: str = "", n_bins: int = N_BINS
) -> Path:
    """Save a PNG reliability diagram (Guo et al. 2017) per panel and return its path.

    ``panels`` maps a panel title to ``{label: (probs [n_seeds, n_items] or [n_items], labels)}``; each
    series is the observed frequency of label 1 against the mean predicted P(label = 1) per non-empty
    equal-width bin (pooled over seeds), its legend entry carrying the binary ECE.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    panels = panels or {"no model rows": {}}
    fig, axes = _figure(len(panels))
    for ax, (name, series) in zip(axes, panels.items()):
        for (label, (probs, labels)), color in zip(series.items(), series_colors(max(1, len(series)))):
            mean_p, freq, _ = reliability_curve(probs, labels, n_bins)
            ece = expected_calibration_error(probs, labels, n_bins)
            ax.plot(mean_p * 100, freq * 100, marker="o", ms=3, lw=1, color=color, zorder=2,
                    label=f"{label} (ECE {ece * 100:.1f})")
        _square_axes(ax, "mean predicted P(label = 1), %", "observed frequency of label 1, %", name)
        _legend_below(ax)
    note = f"{n_bins} equal-width bins, pooled over seeds; ECE % per seed, averaged"
    fig.suptitle(f"{title}\n{note}" if title else note, fontsize=9, y=0.97)
    return _save(fig, path)


def _span(est: Estimate, flip: bool = False) -> tuple[float, float, float] | None:
    """(value, lower error, upper error) in percent; ``flip`` plots ``1 - est``; None without a value."""
    if not math.isfinite(est.value):
        return None
    value, lo, hi = (x if math.isfinite(x) else est.value for x in (est.value, est.lo, est.hi))
    if flip:
        value, lo, hi = 1 - value, 1 - hi, 1 - lo
    return value * 100, max(value - lo, 0.0) * 100, max(hi - value, 0.0) * 100


def plot_supervision(panels: dict[str, Sequence[SupervisionRow]], path: Path, *, title: str = "") -> Path:
    """Save a PNG scatter per panel: each student's inheritance (x) against its errors where the supervisor is right (y).

    x = P(student wrong | supervisor wrong) (= 1 - correction), y = P(student wrong | supervisor right);
    error bars are the rows' CIs; colour = student method, marker = supervisor. On the diagonal the
    student errs as often where its supervisor is wrong as where it is right; below it, it copies errors.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    panels = panels or {"no students": []}
    methods = list(dict.fromkeys(r.method for rows in panels.values() for r in rows))
    supervisors = list(dict.fromkeys(r.supervisor for rows in panels.values() for r in rows))
    colors = dict(zip(methods, series_colors(max(1, len(methods)))))
    fig, axes = _figure(len(panels))
    for ax, (name, rows) in zip(axes, panels.items()):
        for row in rows:
            x, y = _span(row.inheritance), _span(row.accuracy_supervisor_right, flip=True)
            if x is None or y is None:
                continue
            ax.errorbar([x[0]], [y[0]], xerr=[[x[1]], [x[2]]], yerr=[[y[1]], [y[2]]], fmt=_MARKERS[
                supervisors.index(row.supervisor) % len(_MARKERS)], color=colors[row.method], ms=5, capsize=2,
                lw=0.8, zorder=2, label=f"{row.method.replace('student <- ', '')} vs {row.supervisor}")
        _square_axes(ax, "inheritance: P(student wrong | supervisor wrong), % (= 100 - correction)",
                     "P(student wrong | supervisor right), %", name)
        _legend_below(ax)
    alphas = {r.inheritance.alpha for rows in panels.values() for r in rows}
    level = f"{(1 - alphas.pop()) * 100:g}% " if len(alphas) == 1 else ""
    note = f"error bars: {level}bootstrap CIs over seeds and items\ndiagonal: errors independent of the supervisor's"
    fig.suptitle(f"{title}\n{note}" if title else note, fontsize=9, y=0.97)
    return _save(fig, path)
