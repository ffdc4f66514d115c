"""``w2s run`` and ``w2s compare``: one experiment end to end, its report, and protocol grids.

The public names are resolved on first use, so that the light modules here (``plan_models``,
``plan_costs``: architecture numbers and cost estimates) import without the pipeline's dependencies
(Ray, vLLM, datasets); ``scripts/gpu_check.py`` relies on that on a GPU machine that has only torch.
"""

from __future__ import annotations

from labeling._exports import lazy_exports

_EXPORTS = {
    "floor_and_debates": "labeling.experiment.pipeline",
    "run_compare": "labeling.experiment.compare",
    "run_pipeline": "labeling.experiment.pipeline",
    "run_training": "labeling.experiment.pipeline",
    "write_report": "labeling.experiment.report",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
