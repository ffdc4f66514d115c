"""Checking a model reference before any work starts: it exists, it loads offline or the hub answers.

A run that needs a model it cannot load should fail in its first second, not after the weak floor
trained or every debate ran. ``check_model`` resolves a reference the way the stages will (packaged
models are converted, local folders must hold ``config.json``), checks a truncation against the
model's depth, and for a hub id looks in the local Hugging Face cache first; when the model is not
there it asks the hub once with a short timeout instead of letting a stage retry for a minute.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from labeling.store.model_refs import ModelNotFoundError, resolve_model

HUB_PROBE_TIMEOUT_S = 3.0


def _hub_config(repo_id: str) -> Path | None:
    """The cached ``config.json`` of hub model ``repo_id``, or None when it is not in the local cache."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json")
    return Path(found) if isinstance(found, str) else None


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` asks the Hugging Face libraries to use their local caches only."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """Whether the Hugging Face hub answers a TCP connect within ``timeout`` s; (ok, why not)."""
    if hub_offline():
        return False, "HF_HUB_OFFLINE is set"
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = endpoint.hostname or "huggingface.co", endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, ""
    except OSError as exc:
        return False, f"{host}:{port} did not answer within {timeout:g} s ({exc.__class__.__name__}: {exc})"


def _depth(config_json: Path) -> int | None:
    """``num_hidden_layers`` of a model's config.json (None when the file does not say)."""
    try:
        value = json.loads(config_json.read_text()).get("num_hidden_layers")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, int) else None


def check_model(ref: str, *, num_hidden_layers: int | None = None) -> str:
    """Fail now, saying what to do, if ``ref`` could not be loaded later; returns the resolved reference.

    Raises ``ModelNotFoundError`` for a missing folder or packaged model, a truncation deeper than
    the model, or a hub id that is neither cached nor reachable.
    """
    resolved = resolve_model(ref)
    config = Path(resolved) / "config.json" if Path(resolved).exists() else _hub_config(resolved)
    if config is None:
        ok, why = hub_reachable()
        if not ok:
            raise ModelNotFoundError(
                f"model {ref!r} is not in the local Hugging Face cache and the hub cannot be reached ({why}): "
                f"download it where there is internet (`huggingface-cli download {resolved}`), or use a local "
                f"folder or a packaged model (`w2s models list`)"
            )
        return resolved
    depth = _depth(config)
    if num_hidden_layers is not None and depth is not None and num_hidden_layers > depth:
        raise ModelNotFoundError(
            f"model {ref!r} has {depth} layers; num_hidden_layers: {num_hidden_layers} cannot cut it deeper"
        )
    return resolved
