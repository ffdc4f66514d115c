"""A deterministic fake chat backend for offline tests of protocols, judges and pipelines."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Callable, Mapping, Sequence

from debate.backends.base import ChatRequest, ChatResult, SamplingConfig


def _request_digest(request: ChatRequest, extra: str = "") -> bytes:
    payload = json.dumps([list(request.messages), request.seed, extra], sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).digest()


def default_scripted_reply(request: ChatRequest) -> str:
    """A reply that depends only on the request (messages and seed), so changes are visible."""
    payload = json.dumps([list(request.messages), request.seed], sort_keys=True)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]
    return f"Scripted argument {digest} with seed {request.seed}."


def default_choice_scores(request: ChatRequest, choices: Sequence[str]) -> dict[str, float]:
    """Log-probabilities over `choices` that depend only on the request's messages.

    Unnormalized scores in [-8, 0) from sha256 of (messages, choice), turned into a
    log-softmax so they behave like a constrained model's choice distribution.
    """
    scores = {
        choice: -8.0 * int.from_bytes(_request_digest(request, choice)[:4], "big") / 2**32
        for choice in choices
    }
    top = max(scores.values())
    norm = top + math.log(sum(math.exp(s - top) for s in scores.values()))
    return {choice: s - norm for choice, s in scores.items()}


def _word_count(text: str) -> int:
    return len(text.split())


class ScriptedBackend:
    """Answers each request with `reply(request)`; records every batch it was called with.

    Token counts are whitespace word counts (prompt: all message contents together).
    A request's ``prefill`` is honoured like a real engine's: `reply(request)` is the
    continuation, the result's text is ``prefill + reply(request)``, and the prefill's words
    count as prompt tokens, the reply's as completion tokens.
    `fail(request)` may return an error text, making that request's result a failure
    (empty text, zero tokens, `error` set). `choice_scores(request, choices)` gives the
    log-probabilities returned by `choice_logprobs` (default: a request hash).
    A request with ``choices`` is answered with the choice that `choice_scores` ranks highest,
    like a constrained engine.
    """

    def __init__(
        self,
        reply: Callable[[ChatRequest], str] | None = None,
        model_id: str = "scripted",
        *,
        fail: Callable[[ChatRequest], str | None] | None = None,
        choice_scores: Callable[[ChatRequest, Sequence[str]], Mapping[str, float]] | None = None,
    ) -> None:
        self.model_id = model_id
        self._reply = reply or default_scripted_reply
        self._fail = fail
        self._choice_scores = choice_scores or default_choice_scores
        self.calls: list[list[ChatRequest]] = []
        self.samplings: list[SamplingConfig] = []
        self.choice_calls: list[tuple[list[ChatRequest], tuple[str, ...]]] = []

    def chat(self, requests: Sequence[ChatRequest], sampling: SamplingConfig) -> list[ChatResult]:
        """Reply to the whole batch in order and remember the call."""
        batch = list(requests)
        self.calls.append(batch)
        self.samplings.append(sampling)
        results = []
        for request in batch:
            error = self._fail(request) if self._fail is not None else None
            if error is not None:
                results.append(ChatResult(text="", prompt_tokens=0, completion_tokens=0,
                                          error=error))
                continue
            generated = self._constrained(request) if request.choices else self._reply(request)
            prompt_words = sum(_word_count(m["content"]) for m in request.messages)
            results.append(
                ChatResult(
                    text=request.prefill + generated,
                    prompt_tokens=prompt_words + _word_count(request.prefill),
                    completion_tokens=_word_count(generated),
                )
            )
        return results

    def _constrained(self, request: ChatRequest) -> str:
        scores = self._choice_scores(request, request.choices)
        return max(request.choices, key=lambda choice: scores[choice])

    def choice_logprobs(
        self, requests: Sequence[ChatRequest], choices: Sequence[str]
    ) -> list[dict[str, float]]:
        """Log-probability of each choice as the one-token answer, per request, in one call."""
        batch = list(requests)
        self.choice_calls.append((batch, tuple(choices)))
        return [dict(self._choice_scores(request, tuple(choices))) for request in batch]
