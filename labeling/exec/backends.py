"""How an engine actor builds its chat backend: one spec type, and the one builder of vLLM specs.

The pipeline's debaters, its prompted judge and ``w2s label`` all describe their vLLM engine with
``vllm_backend_spec`` from the same ``EngineConfig`` section, so engine settings are never
hard-coded in one application and configurable in another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labeling.config import EngineConfig
from labeling.exec.hardware import engine_dtype
from labeling.store import resolve_model

VLLM_FACTORY = "debate.backends.vllm_local:VLLMChatBackend"
CPU_BLOCK_MULTIPLE = 32  # vLLM 0.32's CPU attention accepts KV blocks of multiples of 32 tokens only


@dataclass(frozen=True)
class BackendSpec:
    """How each Ray actor builds its chat backend: an importable factory, kwargs, env."""

    factory: str
    kwargs: dict[str, Any]
    env: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON form sent to the actors."""
        return {"factory": self.factory, "kwargs": self.kwargs, "env": self.env}


def block_size_problem(engine: EngineConfig, num_gpus: float) -> str | None:
    """Why ``engine.block_size`` cannot run on actors with ``num_gpus`` GPUs each, or None if it can."""
    if engine.block_size is None or num_gpus > 0 or engine.block_size % CPU_BLOCK_MULTIPLE == 0:
        return None
    return (f"debate.engine.block_size: {engine.block_size} is not a multiple of {CPU_BLOCK_MULTIPLE}, which "
            f"vLLM's CPU attention needs; use 32, 64 or 128, or leave it unset")


def vllm_backend_spec(model_ref: str, engine: EngineConfig, num_gpus: float, model_id: str | None = None) -> BackendSpec:
    """An in-process vLLM engine for ``model_ref`` with ``engine``'s settings (``dtype: auto`` resolved here)."""
    kwargs: dict[str, Any] = {
        "model": resolve_model(model_ref),
        "dtype": engine_dtype(engine.dtype, num_gpus),
        "max_model_len": engine.max_model_len,
        "enforce_eager": engine.enforce_eager,
        "enable_prefix_caching": engine.enable_prefix_caching,
        "tensor_parallel_size": engine.tensor_parallel_size,
    }
    if model_id is not None:
        kwargs["model_id"] = model_id
    if engine.gpu_memory_utilization is not None:
        kwargs["gpu_memory_utilization"] = engine.gpu_memory_utilization
    if engine.block_size is not None:
        problem = block_size_problem(engine, num_gpus)
        if problem:
            raise ValueError(problem)
        kwargs["block_size"] = engine.block_size
    env = {"VLLM_CPU_KVCACHE_SPACE": str(max(1, round(engine.kv_cache_gib))), **engine.env}
    return BackendSpec(VLLM_FACTORY, kwargs, env)
