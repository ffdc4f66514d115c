"""plot_results writes a real PNG."""

import pytest

from eval.plots import plot_results
from eval.stats import Estimate
from eval.tables import ResultRow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _acc(v: float) -> Estimate:
    return Estimate(v, v - 0.03, v + 0.03, n_items=1000, n_seeds=2, n_boot=500)


def test_plot_results_writes_png(tmp_path):
    rows = [
        ResultRow("weak (gold)", "weak", _acc(0.60)),
        ResultRow("ceiling (gold)", "ceiling", _acc(0.73)),
        ResultRow("student <- none", "student", _acc(0.66),
                  pgr=Estimate(0.46, 0.2, 0.7, 1000, 2, 500)),
        ResultRow("student <- debate", "student", _acc(0.70),
                  pgr=Estimate(0.77, float("nan"), float("nan"), 1000, 2, 500)),
        ResultRow("judge (debate)", "judge", _acc(0.64)),
    ]
    out = plot_results(rows, tmp_path / "figs" / "sciq.png", title="SciQ")
    assert out == tmp_path / "figs" / "sciq.png"
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000
    assert [p.name for p in out.parent.iterdir()] == ["sciq.png"]   # no temp files left


def test_plot_without_reference_rows_and_empty_input(tmp_path):
    out = plot_results([ResultRow("judge", "judge", _acc(0.55))], tmp_path / "j.png")
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(ValueError):
        plot_results([], tmp_path / "none.png")


def test_plot_grouped_bars_draws_bars_or_says_why_not(tmp_path):
    from eval.plots import plot_grouped_bars

    series = {"with": [(0.56, 0.51, 0.61), None], "without": [(0.55, None, None), (0.54, 0.49, 0.59)]}
    out = plot_grouped_bars(["debate", "consultancy"], series, tmp_path / "g.png", ylabel="acc", title="t", zoom=True)
    empty = plot_grouped_bars([], {}, tmp_path / "e.png", ylabel="acc", title="t", empty_note="nothing here")
    for path in (out, empty):
        assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert out.stat().st_size > empty.stat().st_size  # bars, ticks and a legend vs one line of text


@pytest.mark.parametrize("n", [1, 10, 11, 20, 25])
def test_series_colors_are_distinct_for_every_series(n):
    from eval.plots import series_colors

    colors = series_colors(n)
    assert len(colors) == n
    assert len(set(colors)) == n  # the grid's 11 student rows once shared tab10's first blue


def test_reliability_diagram_and_supervision_scatter_are_pngs(tmp_path):
    import numpy as np

    from eval.deception import student_vs_supervisor
    from eval.plots_metrics import plot_reliability, plot_supervision

    rng = np.random.default_rng(0)
    labels = (rng.random(60) < 0.5).astype(int)
    panels = {"models": {"a": (rng.random((2, 60)), labels), "b": (rng.random(60), labels)},
              "labels": {"c": (np.clip(labels * 0.8 + 0.1, 0, 1), labels)}}
    weak, ceiling = rng.random((2, 60)) < 0.6, rng.random((2, 60)) < 0.8
    rows = [student_vs_supervisor(f"student <- {m}", sup, rng.random((2, 60)) < 0.7, weak, ceiling, n_boot=50)
            for m in ("none", "debate") for sup in ("weak floor", "its labeler")]
    for path in (plot_reliability(panels, tmp_path / "r.png", title="t"),
                 plot_supervision({"test": rows}, tmp_path / "s.png", title="t"),
                 plot_supervision({}, tmp_path / "empty.png")):
        assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "s.png").stat().st_size > (tmp_path / "empty.png").stat().st_size
