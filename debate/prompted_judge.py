"""A prompted weak judge (no fine-tuning): P(answer correct) from a constrained one-token answer.

The judge model reads the item text and, when there is one, the rendered transcript, and
must answer with one of `choices` (default "Yes" / "No"). Its probability that the
answer is correct is the softmax of the choices' log-probabilities, taken at "Yes". It
never receives a gold label: its only inputs are texts.
"""

from __future__ import annotations

import math
import typing
from typing import Mapping, Sequence

from debate.backends.base import ChatRequest
from debate.prompts import PROMPT_VERSION, load_prompt

JUDGE_PROMPT = "judge_prompted"
JUDGE_TRANSCRIPT_PROMPT = "judge_prompted_transcript"
DEFAULT_CHOICES = ("Yes", "No")


@typing.runtime_checkable
class ChoiceScorer(typing.Protocol):
    """A backend that scores a fixed set of one-token answers for a batch of chats."""

    model_id: str

    def choice_logprobs(
        self, requests: Sequence[ChatRequest], choices: Sequence[str]
    ) -> list[dict[str, float]]:
        """Per request, the log-probability of each choice as the answer."""
        ...


def judge_messages(
    text: str, transcript: str = "", version: str = "v1"
) -> tuple[dict[str, str], ...]:
    """The one user message the prompted judge reads for an item and its transcript."""
    transcript = transcript.strip()
    section = ""
    if transcript:
        section = load_prompt(JUDGE_TRANSCRIPT_PROMPT, version).strip().format(
            transcript=transcript
        ) + "\n\n"
    content = load_prompt(JUDGE_PROMPT, version).strip().format(
        item=text.strip(), transcript_section=section
    )
    return ({"role": "user", "content": content},)


def softmax_choices(logprobs: Mapping[str, float], choices: Sequence[str]) -> dict[str, float]:
    """Probabilities over `choices` from their log-probabilities (renormalised to sum to 1)."""
    values = [float(logprobs.get(choice, -math.inf)) for choice in choices]
    top = max(values)
    if not math.isfinite(top):
        raise ValueError(f"no finite log-probability for any of {tuple(choices)}: {logprobs}")
    weights = [math.exp(v - top) for v in values]
    total = sum(weights)
    return {choice: w / total for choice, w in zip(choices, weights)}


class PromptedJudge:
    """Scores items (with optional transcripts) with a prompted model; one batch call per use.

    `choices[0]` is the answer meaning "the proposed answer is correct".
    """

    def __init__(
        self,
        backend: ChoiceScorer,
        *,
        choices: Sequence[str] = DEFAULT_CHOICES,
        version: str = "v1",
    ) -> None:
        if len(choices) != 2:
            raise ValueError(f"the judge needs two choices (correct, incorrect), got {choices!r}")
        self.backend = backend
        self.choices = tuple(choices)
        self.version = version
        self.prompt_version = PROMPT_VERSION if version == "v1" else version

    def requests(
        self, texts: Sequence[str], transcripts: Sequence[str] | None = None
    ) -> list[ChatRequest]:
        """The judge's chat requests, one per item (greedy, so the seed is fixed at 0)."""
        if transcripts is None:
            transcripts = [""] * len(texts)
        if len(transcripts) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(transcripts)} transcripts")
        return [
            ChatRequest(messages=judge_messages(text, transcript, self.version), seed=0)
            for text, transcript in zip(texts, transcripts)
        ]

    def choice_probabilities(
        self, texts: Sequence[str], transcripts: Sequence[str] | None = None
    ) -> list[dict[str, float]]:
        """Per item, the probability of each choice (they sum to 1)."""
        requests = self.requests(texts, transcripts)
        if not requests:
            return []
        scores = self.backend.choice_logprobs(requests, self.choices)
        if len(scores) != len(requests):
            raise RuntimeError(
                f"backend {self.backend.model_id!r} scored {len(scores)} of {len(requests)} items"
            )
        return [softmax_choices(score, self.choices) for score in scores]

    def predict_proba(
        self, texts: Sequence[str], transcripts: Sequence[str] | None = None
    ) -> list[float]:
        """Per item, the judge's probability that the proposed answer is correct."""
        correct = self.choices[0]
        return [p[correct] for p in self.choice_probabilities(texts, transcripts)]
