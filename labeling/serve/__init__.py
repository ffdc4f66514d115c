"""``w2s serve-judge``: a trained weak judge over HTTP (FastAPI + uvicorn, or Ray Serve replicas), and its client.

* ``load_judge``: a judge stage folder, or a run's ensemble of judges, ready to score;
* ``create_app``: the API (auth, limits, micro-batching, optional debate, metrics) around a judge;
* ``ServerSettings``: limits and keys; ``JudgeClient``: a small Python client.

Names are resolved on first use, so a client-only user never imports the server stack.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "create_app": "labeling.serve.app",
    "load_judge": "labeling.serve.judge_loader",
    "ServerSettings": "labeling.serve.settings",
    "JudgeClient": "labeling.serve.client",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
