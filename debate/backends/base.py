"""The chat-backend contract every generator implements (vLLM, HTTP, scripted fake)."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class SamplingConfig:
    """Generation settings shared by every request of a batch, whatever the backend."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 96

    def __post_init__(self) -> None:
        if not self.temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must lie in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")

    def to_dict(self) -> dict:
        """Plain-dict form, stored in each transcript for provenance."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ChatRequest:
    """One conversation to complete: OpenAI-style messages plus its own sampling seed.

    A non-empty ``prefill`` starts the assistant's reply for the model: the backend sends it as
    a final assistant message that the model continues (vLLM: ``continue_final_message``), and
    the result's ``text`` is ``prefill`` followed by what the model generated. The prefill's
    tokens count as prompt tokens, never as completion tokens.

    Non-empty ``choices`` constrain what the model generates after the prefill to one of these
    strings (vLLM structured outputs ``choice``): the model picks among them token by token,
    sampled like any other reply.
    """

    messages: tuple[dict[str, str], ...]
    seed: int
    prefill: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatResult:
    """The completion of one request with its token accounting.

    ``text`` starts with the request's ``prefill`` (if any); ``completion_tokens`` counts only
    the tokens the model generated.

    `error` is None on success; otherwise "<kind>: <reason>" for a request that finally
    failed (its text is then "" and its token counts 0).
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    error: str | None = None


@typing.runtime_checkable
class ChatBackend(typing.Protocol):
    """Anything that answers a whole batch of chat requests in one call, in request order."""

    model_id: str

    def chat(self, requests: Sequence[ChatRequest], sampling: SamplingConfig) -> list[ChatResult]:
        """Complete every request; result i answers request i."""
        ...
