"""Evaluation: per-item metrics, bootstrap CIs for accuracy and PGR, result tables and plots.

Knows nothing of debate, training or labeling; everything works on arrays of
probabilities, labels and per-item correctness.
"""

from .metrics import accuracy, auroc, correctness, position_bias
from .plots import plot_grouped_bars, plot_results
from .stats import Estimate, bootstrap_accuracy, bootstrap_mean, bootstrap_pgr, paired_difference, pgr
from .tables import ResultRow, read_results, results_markdown, write_results

__all__ = [
    "correctness", "accuracy", "auroc", "position_bias",
    "Estimate", "pgr", "bootstrap_accuracy", "bootstrap_mean", "bootstrap_pgr", "paired_difference",
    "ResultRow", "results_markdown", "write_results", "read_results",
    "plot_results", "plot_grouped_bars",
]
