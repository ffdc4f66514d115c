"""How ``w2s label``'s actors build their chat backend: vLLM (the default), an OpenAI-compatible server, or the test fake."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from debate import ScriptedBackend
from debate.backends.openai_http import OpenAIChatBackend
from debate.backends.scripted import default_scripted_reply

from labeling.exec.backends import BackendSpec, vllm_backend_spec
from labeling.label.settings import LabelJobConfig

OPENAI_FACTORY = "labeling.label.backends:openai_backend"
SCRIPTED_FACTORY = "labeling.label.backends:scripted_backend"
PASSAGE_HEADING = "Passage (hidden from the judge):\n"


def scripted_backend(delay_s: float = 0.0, fail_marker: str | None = None, model_id: str = "scripted",
                     quote_words: int = 0, suffix: str = "") -> ScriptedBackend:
    """The deterministic fake debater (tests): optional sleep per batch, fails requests mentioning a marker,
    and with ``quote_words`` > 0 opens each turn with a tagged quote of that many passage words (hidden-passage runs;
    a turn prefilled with ``<quote>`` continues it with the words and the closing tag); ``suffix`` ends every turn."""

    def fail(request: Any) -> str | None:
        text = " ".join(m["content"] for m in request.messages)
        return "scripted_failure: marker in prompt" if fail_marker and fail_marker in text else None

    def reply(request: Any) -> str:
        system = request.messages[0]["content"]
        passage = system.partition(PASSAGE_HEADING)[2].partition("\n\nYou are")[0].split()
        opening = "" if request.prefill else "<quote>"  # a prefilled reply is already inside the quote
        quote = f"{opening}{' '.join(passage[:quote_words])}</quote> " if quote_words and passage else ""
        return quote + default_scripted_reply(request) + suffix

    backend = ScriptedBackend(model_id=model_id, fail=fail, reply=reply)
    if delay_s > 0:
        chat = backend.chat

        def slow_chat(requests: Any, sampling: Any) -> Any:
            time.sleep(delay_s)
            return chat(requests, sampling)

        backend.chat = slow_chat  # type: ignore[method-assign]
    return backend


def openai_backend(base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", **kwargs: Any) -> OpenAIChatBackend:
    """An OpenAIChatBackend whose API key is read from ``api_key_env`` on the actor (never written to disk)."""
    return OpenAIChatBackend(base_url, model, api_key=os.environ.get(api_key_env) or None, **kwargs)


def label_backend_spec(cfg: LabelJobConfig, model: str | None = None) -> BackendSpec:
    """How each actor builds its debater (or, with ``model``, the prompted judge's vLLM engine)."""
    backend, extra = cfg.backend, dict(cfg.backend.kwargs)
    if backend.kind == "scripted":  # the fake writes turns and, for the prompted judge, scores verdicts
        return BackendSpec(SCRIPTED_FACTORY, extra, {})
    if model is None and backend.kind == "openai":
        if not backend.base_url:
            raise ValueError("backend.kind openai needs backend.base_url (--base-url)")
        kwargs = {"base_url": backend.base_url, "model": backend.model, "api_key_env": backend.api_key_env,
                  "max_concurrency": backend.max_concurrency, **extra}
        return BackendSpec(OPENAI_FACTORY, kwargs, {})
    model = model or backend.model
    spec = vllm_backend_spec(model, cfg.debate.engine, cfg.ray.num_gpus_per_actor, model_id=model)
    return BackendSpec(spec.factory, {**spec.kwargs, **extra}, spec.env)


def backend_kwargs_text(cfg: LabelJobConfig) -> str | None:
    """The backend's extra kwargs as recorded in ``job.json`` (None when there are none)."""
    return json.dumps(cfg.backend.kwargs, sort_keys=True) if cfg.backend.kwargs else None
