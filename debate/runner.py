"""Run a protocol over a batch of items, round-synchronously, on one chat backend."""

from __future__ import annotations

import time
from typing import Callable, Sequence

from debate.backends.base import ChatBackend, ChatRequest, SamplingConfig
from debate.prompts import PROMPT_VERSION, build_messages
from debate.protocols import DebateItem, Protocol, stable_int
from debate.transcript import Transcript, Turn


def turn_seed(seed: int, item_id: str, turn_index: int) -> int:
    """The sampling seed of one request, from (run seed, item, turn) via sha256."""
    return stable_int(f"turn-seed|{seed}|{item_id}|{turn_index}")


def run_protocol(
    items: Sequence[DebateItem],
    protocol: Protocol,
    backend: ChatBackend,
    *,
    seed: int,
    sampling: SamplingConfig,
    on_turn: Callable[[int, int], None] | None = None,
) -> list[Transcript]:
    """One transcript per item, in item order.

    For each turn index the prompts of all items are built and sent in ONE
    `backend.chat` call. `on_turn(turn_index, n_turns)` runs after each round.
    Each turn's `seconds` is the round's wall time divided by the batch size.
    """
    ids = [item.item_id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("item ids must be unique within a run")
    stances = [protocol.assign_stances(item.item_id, seed) for item in items]
    turns: list[list[Turn]] = [[] for _ in items]
    n_turns = len(protocol.turns) if items else 0
    for turn_index in range(n_turns):
        spec = protocol.turns[turn_index]
        requests = [
            ChatRequest(
                messages=build_messages(protocol, item, spec.speaker, item_stances, done, spec),
                seed=turn_seed(seed, item.item_id, turn_index),
            )
            for item, item_stances, done in zip(items, stances, turns)
        ]
        started = time.perf_counter()
        results = backend.chat(requests, sampling)
        per_request = (time.perf_counter() - started) / len(requests)
        if len(results) != len(requests):
            raise RuntimeError(
                f"backend {backend.model_id!r} returned {len(results)} results for "
                f"{len(requests)} requests"
            )
        for done, item_stances, result in zip(turns, stances, results):
            done.append(
                Turn(
                    speaker=spec.speaker,
                    stance=item_stances[spec.speaker],
                    text=result.text.strip(),
                    prompt_tokens=result.prompt_tokens,
                    completion_tokens=result.completion_tokens,
                    seconds=per_request,
                )
            )
        if on_turn is not None:
            on_turn(turn_index, n_turns)
    return [
        Transcript(
            item_id=item.item_id,
            protocol=protocol.name,
            seed=seed,
            stances=item_stances,
            turns=tuple(done),
            prompt_version=PROMPT_VERSION,
            model_id=backend.model_id,
            sampling=sampling.to_dict(),
        )
        for item, item_stances, done in zip(items, stances, turns)
    ]
