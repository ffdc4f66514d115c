"""``w2s run`` and ``w2s compare``: one experiment end to end, its report, and protocol grids."""

from labeling.experiment.compare import run_compare
from labeling.experiment.pipeline import floor_and_debates, run_pipeline, run_training
from labeling.experiment.report import write_report

__all__ = ["floor_and_debates", "run_compare", "run_pipeline", "run_training", "write_report"]
