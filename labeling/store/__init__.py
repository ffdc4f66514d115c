"""What a run leaves on disk: stage folders keyed by semantic hash, atomic writes, model references.

* ``stage_dir`` / ``StageDir`` / ``COMPLETE``: one folder per stage, ``stage.json`` first, ``COMPLETE`` last;
* ``without_later_defaults``: settings added later stay out of a stage key at their default;
* ``atomic_write_text`` / ``atomic_write_parquet`` / ``atomic_write_rows``: the one atomic-write helper;
* ``remove_stale_temps``: what a killed writer left behind, removed when its stage (or label job) restarts;
* ``resolve_model`` / ``prepare_packaged_model``: model references and the converted-model cache;
* ``check_model``: a model reference checked before any work starts (exists, depth, cached or hub reachable).
"""

from labeling.store.atomic import (
    atomic_write,
    atomic_write_parquet,
    atomic_write_rows,
    atomic_write_text,
    remove_stale_temps,
)
from labeling.store.model_refs import (
    PACKAGED_MODELS,
    ModelNotFoundError,
    cache_root,
    prepare_packaged_model,
    resolve_model,
)
from labeling.store.model_check import check_model
from labeling.store.stages import (
    COMPLETE,
    StageDir,
    StageMissing,
    require_finished,
    reuse_only,
    reusing_only,
    stage_dir,
    without_later_defaults,
)

__all__ = [
    "COMPLETE",
    "PACKAGED_MODELS",
    "ModelNotFoundError",
    "StageDir",
    "StageMissing",
    "atomic_write",
    "atomic_write_parquet",
    "atomic_write_rows",
    "atomic_write_text",
    "cache_root",
    "check_model",
    "prepare_packaged_model",
    "require_finished",
    "resolve_model",
    "remove_stale_temps",
    "reuse_only",
    "reusing_only",
    "stage_dir",
    "without_later_defaults",
]
