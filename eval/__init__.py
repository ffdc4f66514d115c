"""Evaluation: per-item metrics, bootstrap CIs for accuracy and PGR, calibration, student-vs-supervisor
rates, result tables and plots.

Knows nothing of debate, training or labeling; everything works on arrays of
probabilities, labels and per-item correctness.
"""

from .calibration import N_BINS, bootstrap_brier, bootstrap_ece, brier_score, expected_calibration_error
from .deception import SupervisionRow, student_vs_supervisor, supervision_markdown
from .metrics import accuracy, auroc, correctness, position_bias
from .plots import plot_grouped_bars, plot_results
from .plots_metrics import plot_reliability, plot_supervision
from .stats import (
    Estimate,
    bootstrap_accuracy,
    bootstrap_mean,
    bootstrap_pgr,
    bootstrap_ratio,
    bootstrap_sums,
    paired_difference,
    pgr,
)
from .tables import ResultRow, read_results, results_markdown, write_results

__all__ = [
    "correctness", "accuracy", "auroc", "position_bias",
    "Estimate", "pgr", "bootstrap_accuracy", "bootstrap_mean", "bootstrap_pgr", "bootstrap_sums", "bootstrap_ratio",
    "paired_difference",
    "N_BINS", "expected_calibration_error", "brier_score", "bootstrap_ece", "bootstrap_brier",
    "SupervisionRow", "student_vs_supervisor", "supervision_markdown",
    "ResultRow", "results_markdown", "write_results", "read_results",
    "plot_results", "plot_grouped_bars", "plot_reliability", "plot_supervision",
]
