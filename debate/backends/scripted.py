"""A deterministic fake chat backend for offline tests of protocols and pipelines."""

from __future__ import annotations

import hashlib
import json
from typing import Callable, Sequence

from debate.backends.base import ChatRequest, ChatResult, SamplingConfig


def default_scripted_reply(request: ChatRequest) -> str:
    """A reply that depends only on the request (messages and seed), so changes are visible."""
    payload = json.dumps([list(request.messages), request.seed], sort_keys=True)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]
    return f"Scripted argument {digest} with seed {request.seed}."


def _word_count(text: str) -> int:
    return len(text.split())


class ScriptedBackend:
    """Answers each request with `reply(request)`; records every batch it was called with.

    Token counts are whitespace word counts (prompt: all message contents together).
    """

    def __init__(
        self, reply: Callable[[ChatRequest], str] | None = None, model_id: str = "scripted"
    ) -> None:
        self.model_id = model_id
        self._reply = reply or default_scripted_reply
        self.calls: list[list[ChatRequest]] = []
        self.samplings: list[SamplingConfig] = []

    def chat(self, requests: Sequence[ChatRequest], sampling: SamplingConfig) -> list[ChatResult]:
        """Reply to the whole batch in order and remember the call."""
        batch = list(requests)
        self.calls.append(batch)
        self.samplings.append(sampling)
        results = []
        for request in batch:
            text = self._reply(request)
            prompt_words = sum(_word_count(m["content"]) for m in request.messages)
            results.append(
                ChatResult(
                    text=text, prompt_tokens=prompt_words, completion_tokens=_word_count(text)
                )
            )
        return results
