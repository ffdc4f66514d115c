"""How work runs: the machine's precision and threads, the one shard-job engine on Ray, the training pool.

* ``resolve_precision`` / ``resolve_threads`` and friends (``hardware``): chosen for this machine;
* ``plan_shards`` / ``run_on_ray`` / ``read_shards`` (``shards``): shard tasks on engine actors;
* ``BackendSpec`` / ``vllm_backend_spec`` (``backends``): how an actor builds its chat engine;
* ``TrainJob`` / ``run_jobs`` (``train_pool``): independent training jobs side by side;
* ``wants_isolation`` and friends (``netns``): a private network namespace for a local Ray.

Names are resolved on first use, so ``import labeling.exec.netns`` stays light enough to run
before a process starts any thread (the test session enters its namespace that way).
"""

from __future__ import annotations

from labeling._exports import lazy_exports

_EXPORTS = {
    "BackendSpec": "labeling.exec.backends",
    "vllm_backend_spec": "labeling.exec.backends",
    "Precision": "labeling.exec.hardware",
    "ThreadPlan": "labeling.exec.threads",
    "available_cores": "labeling.exec.threads",
    "engine_dtype": "labeling.exec.hardware",
    "inference_precision": "labeling.exec.hardware",
    "resolve_precision": "labeling.exec.hardware",
    "resolve_threads": "labeling.exec.threads",
    "training_precision": "labeling.exec.hardware",
    "wants_isolation": "labeling.exec.netns",
    "plan_shards": "labeling.exec.shards",
    "read_shards": "labeling.exec.shards",
    "run_on_ray": "labeling.exec.shards",
    "run_spec": "labeling.exec.shards",
    "TrainJob": "labeling.exec.train_pool",
    "run_jobs": "labeling.exec.train_pool",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
