"""Run a protocol over a batch of items, round-synchronously, on one chat backend."""

from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

from debate.backends.base import ChatBackend, ChatRequest, ChatResult, SamplingConfig
from debate.prompts import PROMPT_VERSION, build_messages
from debate.protocols import AGAINST_WEAK_PICK, DebateItem, Protocol, stable_int
from debate.quote_pick import chat_with_quote_picks
from debate.quotes import QUOTE_PREFILL, QuoteCheck, close_open_quotes, verify_turn
from debate.transcript import Transcript, Turn


def turn_seed(seed: int, item_id: str, turn_index: int) -> int:
    """The sampling seed of one request, from (run seed, item, turn) via sha256."""
    return stable_int(f"turn-seed|{seed}|{item_id}|{turn_index}")


def checked_text(text: str, evidence: str, span_words: int | None) -> QuoteCheck:
    """A turn's text with its quotes checked against the item's passage (unchanged without one)."""
    if not evidence:
        return QuoteCheck(text, 0, 0, 0)
    return verify_turn(text, evidence, span_words)


def speaker_request(
    protocol: Protocol,
    item: DebateItem,
    turn_index: int,
    stances: dict[str, str],
    turns_so_far: Sequence[Turn],
    seed: int,
    quote_prefill: bool,
) -> ChatRequest:
    """The request of one speaker turn; prefilled with ``<quote>`` when asked and the item has a passage."""
    spec = protocol.turns[turn_index]
    return ChatRequest(
        messages=build_messages(protocol, item, spec.speaker, stances, turns_so_far, spec),
        seed=turn_seed(seed, item.item_id, turn_index),
        prefill=QUOTE_PREFILL if quote_prefill and item.evidence else "",
    )


def speaker_turn(
    request: ChatRequest,
    result: ChatResult,
    speaker: str,
    stance: str,
    evidence: str,
    span_words: int | None,
    seconds: float,
) -> Turn:
    """One finished turn: the text (a prefilled quote left open is closed) with its quotes checked."""
    text = close_open_quotes(result.text) if request.prefill else result.text
    check = checked_text(text.strip(), evidence, span_words)
    return Turn(
        speaker=speaker,
        stance=stance,
        text=check.text,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        seconds=seconds,
        quotes=check.quotes,
        verified_quotes=check.verified,
        verified_words=check.verified_words,
    )


def item_stances(
    items: Sequence[DebateItem],
    protocol: Protocol,
    seed: int,
    weak_picks: Mapping[str, int] | None,
    swap_positions: bool,
) -> list[dict[str, str]]:
    """Each item's stances; a clear error when the protocol needs weak picks it lacks."""
    picks = weak_picks or {}
    if protocol.stance_rule == AGAINST_WEAK_PICK:
        missing = [item.item_id for item in items if item.item_id not in picks]
        if missing:
            raise ValueError(
                f"protocol {protocol.name!r} needs weak_picks (the weak judge's no-transcript "
                f"pick, 1 = answer correct) for every item; missing for {len(missing)} items, "
                f"e.g. {missing[:3]}"
            )
    return [
        protocol.stances_for(
            item.item_id, seed, weak_pick=picks.get(item.item_id), swapped=swap_positions
        )
        for item in items
    ]


def timed_chat(
    backend: ChatBackend,
    requests: list[ChatRequest],
    sampling: SamplingConfig,
    passages: Sequence[str] | None = None,
) -> tuple[list[ChatResult], float]:
    """A round's requests answered in one `backend.chat` call (or, with ``passages``, with quote
    picks first: `debate.quote_pick`): the results and the seconds per request."""
    started = time.perf_counter()
    if passages is None:
        results = backend.chat(requests, sampling)
    else:
        results = chat_with_quote_picks(backend, requests, passages, sampling)
    per_request = (time.perf_counter() - started) / len(requests)
    if len(results) != len(requests):
        raise RuntimeError(
            f"backend {backend.model_id!r} returned {len(results)} results for "
            f"{len(requests)} requests"
        )
    return list(results), per_request


def run_protocol(
    items: Sequence[DebateItem],
    protocol: Protocol,
    backend: ChatBackend,
    *,
    seed: int,
    sampling: SamplingConfig,
    on_turn: Callable[[int, int], None] | None = None,
    weak_picks: Mapping[str, int] | None = None,
    swap_positions: bool = False,
    quote_span_words: int | None = None,
    quote_prefill: bool = False,
    quote_pick: bool = False,
) -> list[Transcript]:
    """One transcript per item, in item order.

    For each round of the protocol the prompts of all still-running items (every turn
    of that round, item by item) are built first and sent in ONE `backend.chat` call, so
    turns of the same round never see each other. `on_turn(round_index, n_rounds)` runs
    after each round. Each turn's `seconds` is the round's wall time divided by the
    number of requests in it.

    `weak_picks` maps item id to the weak judge's no-transcript pick (1: the answer is
    correct); protocols with the "against_weak_pick" stance rule need it for every item.
    `swap_positions` runs every item with the stances exchanged (same request seeds),
    for measuring position bias; the transcripts record `swapped`.

    A result with an `error` marks its item's transcript `failed`; that item keeps only
    the turns of earlier rounds and gets no further requests, the others go on.

    For an item with `evidence` (a passage only the speakers read), every turn's quotes are
    checked against it and marked before any later turn is built (`debate.quotes`);
    `quote_span_words=k` also marks verbatim runs of at least k passage words as quotes.
    `quote_prefill` starts every speaker turn of such an item with `<quote>` for the model to
    continue (`ChatRequest.prefill`); a quote it leaves open is closed at its first sentence end
    (`debate.quotes.close_open_quotes`). Items without a passage never get a prefill.
    `quote_pick` opens every speaker turn of such an item with one passage sentence the model picks
    under a structured-outputs constraint, then lets it argue (`debate.quote_pick`); it replaces
    `quote_prefill`, so the two cannot be combined.
    """
    if quote_pick and quote_prefill:
        raise ValueError("quote_pick opens every turn with a picked quote; do not combine it with quote_prefill")
    ids = [item.item_id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("item ids must be unique within a run")
    stances = item_stances(items, protocol, seed, weak_picks, swap_positions)
    turns: list[list[Turn]] = [[] for _ in items]
    failed: list[str | None] = [None for _ in items]
    rounds = protocol.rounds if items else ()
    for round_index, turn_indices in enumerate(rounds):
        jobs = [(i, k) for i in range(len(items)) if failed[i] is None for k in turn_indices]
        if jobs:
            requests = [
                speaker_request(protocol, items[i], k, stances[i], turns[i], seed, quote_prefill)
                for i, k in jobs
            ]
            passages = [items[i].evidence for i, _ in jobs] if quote_pick else None
            results, per_request = timed_chat(backend, requests, sampling, passages)
            new_turns: dict[int, list[Turn]] = {}
            for (i, k), request, result in zip(jobs, requests, results):
                error = getattr(result, "error", None)
                if error is not None:
                    failed[i] = failed[i] or f"turn {k}: {error}"
                    continue
                speaker = protocol.turns[k].speaker
                new_turns.setdefault(i, []).append(speaker_turn(
                    request, result, speaker, stances[i][speaker], items[i].evidence,
                    quote_span_words, per_request,
                ))
            for i, round_turns in new_turns.items():
                if failed[i] is None:
                    turns[i].extend(round_turns)
        if on_turn is not None:
            on_turn(round_index, len(rounds))
    return [
        Transcript(
            item_id=item.item_id,
            protocol=protocol.name,
            seed=seed,
            stances=stance,
            turns=tuple(done),
            prompt_version=PROMPT_VERSION,
            model_id=backend.model_id,
            sampling=sampling.to_dict(),
            swapped=swap_positions,
            failed=error,
        )
        for item, stance, done, error in zip(items, stances, turns, failed)
    ]
