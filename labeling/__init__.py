"""The application layer: ``w2s run``/``compare`` (experiment), ``w2s label`` (label), ``serve-judge`` (serve).

The public surface, resolved on first use so that ``import labeling`` stays light:

* ``load_config(path, overrides)``: a validated experiment config (YAML plus ``--set`` overrides);
* ``run_pipeline(cfg)``: every stage of one experiment, then its table and plot;
* ``run_compare(cfg)``: a protocol grid and its comparison tables;
* ``run_label_job(cfg)``: batch debate labels into a resumable folder (``cfg``: a ``LabelJobConfig``);
* ``serve_judge(cfg)``: the judge as an HTTP endpoint (``cfg``: a ``ServeConfig``; ``labeling.serve`` holds the app).

All three applications load their settings the same way: a YAML file, flags that are shorthands for
its keys, and ``--set key.path=value`` (``labeling.config``).

Packages, in the order data flows: ``store`` (stage folders, atomic writes, model references),
``data`` (datasets, splits), ``exec`` (machine settings, the shard engine on Ray, the training
pool), ``stages`` (transcripts, prompted verdicts, trained models), then the applications
``experiment``, ``label`` and ``serve``; ``config`` and ``cli`` are shared by all three.
"""

from __future__ import annotations

from labeling._exports import lazy_exports

_EXPORTS = {
    "load_config": "labeling.config",
    "run_pipeline": "labeling.experiment.pipeline",
    "run_compare": "labeling.experiment.compare",
    "run_label_job": "labeling.label.job",
    "serve_judge": "labeling.serve.commands",
    "LabelJobConfig": "labeling.label.settings",
    "ServeConfig": "labeling.serve.config",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
