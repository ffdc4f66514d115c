"""Constrained quote picks: a speaker turn that opens with one passage sentence chosen by the model.

Small models do not write quote tags and rarely copy long runs of a passage (measured at 135M: 0
tags in 700 turns; 8% of turns with a verbatim run of 5 words). With ``quote_pick`` every speaker
turn of an item with a passage is generated in two requests to the same model:

1. the pick: the reply is prefilled with ``<quote>`` and constrained (vLLM structured outputs
   ``choice``) to be exactly one sentence of the passage; the model chooses it token by token,
   sampled with the run's temperature and seed, reading its instructions and the debate so far;
2. the argument: the reply is prefilled with ``<quote>sentence</quote>`` and the model continues
   freely, within the run's ``max_tokens``.

The pick is the model's own choice (nothing outside the model ranks sentences), and the quote is
checked like any other (``debate.quotes.verify_turn``), so the judge sees one verified quote per
turn. Items without a passage are sent as one plain request.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from debate.backends.base import ChatBackend, ChatRequest, ChatResult, SamplingConfig
from debate.quotes import QUOTE_CLOSE, QUOTE_OPEN, passage_sentences

QUOTE_PICK_MAX_TOKENS = 160  # room for the longest sentence; the choice grammar ends the pick sooner


def pick_request(request: ChatRequest, passage: str) -> ChatRequest:
    """The first request of a turn: prefilled with ``<quote>``, constrained to one passage sentence."""
    return dataclasses.replace(request, prefill=QUOTE_OPEN, choices=passage_sentences(passage))


def argument_request(request: ChatRequest, picked: ChatResult) -> ChatRequest:
    """The second request: the picked quote, closed, as the prefill the model argues from."""
    return dataclasses.replace(request, prefill=f"{picked.text}{QUOTE_CLOSE}", choices=())


def joined(picked: ChatResult, argued: ChatResult) -> ChatResult:
    """The turn's result: the argument's text (which holds the quote) and both requests' tokens."""
    if argued.error is not None:
        return argued
    return ChatResult(
        text=argued.text,
        prompt_tokens=picked.prompt_tokens + argued.prompt_tokens,
        completion_tokens=picked.completion_tokens + argued.completion_tokens,
    )


def chat_with_quote_picks(
    backend: ChatBackend,
    requests: Sequence[ChatRequest],
    passages: Sequence[str],
    sampling: SamplingConfig,
) -> list[ChatResult]:
    """Complete a round's requests; those whose item has a passage open with a picked quote.

    Two `backend.chat` calls when any request has a passage (all picks, then every request of the
    round), one otherwise; a failed pick is that request's result. Results in request order.
    """
    batch = list(requests)
    with_passage = [i for i, passage in enumerate(passages) if passage]
    picks: dict[int, ChatResult] = {}
    if with_passage:
        pick_sampling = dataclasses.replace(sampling, max_tokens=QUOTE_PICK_MAX_TOKENS)
        picked = backend.chat([pick_request(batch[i], passages[i]) for i in with_passage], pick_sampling)
        if len(picked) != len(with_passage):
            raise RuntimeError(f"backend returned {len(picked)} picks for {len(with_passage)} requests")
        picks = dict(zip(with_passage, picked))
    ready = [i for i in range(len(batch)) if i not in picks or picks[i].error is None]
    second = [argument_request(batch[i], picks[i]) if i in picks else batch[i] for i in ready]
    argued = dict(zip(ready, backend.chat(second, sampling))) if second else {}
    if len(argued) != len(ready):
        raise RuntimeError(f"backend returned {len(argued)} results for {len(ready)} requests")
    return [
        joined(picks[i], argued[i]) if i in picks and i in argued
        else argued.get(i) or picks[i]
        for i in range(len(batch))
    ]
