"""``w2s serve-judge``: a trained weak judge over HTTP (FastAPI + uvicorn, or Ray Serve replicas), and its client.

* ``load_judge``: a judge stage folder, or a run's ensemble of judges, ready to score;
* ``create_app``: the API (auth, limits, micro-batching, optional debate, metrics) around a judge;
* ``ServeConfig``: the command's settings (YAML + flags + ``--set``); ``serve_judge(cfg)`` runs it;
* ``ServerSettings``: limits and keys (owns the defaults of ``ServeConfig.limits``); ``JudgeClient``: a small Python client.

Names are resolved on first use, so a client-only user never imports the server stack.
"""

from __future__ import annotations

from labeling._exports import lazy_exports

_EXPORTS = {
    "create_app": "labeling.serve.app",
    "load_judge": "labeling.serve.judge_loader",
    "ServerSettings": "labeling.serve.settings",
    "ServeConfig": "labeling.serve.config",
    "serve_judge": "labeling.serve.commands",
    "JudgeClient": "labeling.serve.client",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
