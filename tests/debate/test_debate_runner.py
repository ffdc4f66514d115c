"""run_protocol: round-synchronous batching, seeds, provenance, and what each turn sees."""

from __future__ import annotations

import dataclasses
import time
from typing import Sequence

import pytest

from debate import (
    PROMPT_VERSION,
    ChatRequest,
    ChatResult,
    DebateItem,
    SamplingConfig,
    ScriptedBackend,
    Transcript,
    get_protocol,
    run_protocol,
)

SAMPLING = SamplingConfig(temperature=0.5, top_p=0.9, max_tokens=32)


def make_items(n: int) -> list[DebateItem]:
    return [DebateItem(f"item-{i}", f"Question number {i}?", f"answer {i}") for i in range(n)]


def marker_reply(request: ChatRequest) -> str:
    """A reply naming its own request seed, so later prompts reveal which turns they saw."""
    return f"marker-{request.seed} end"


def without_timing(transcripts: Sequence[Transcript]) -> list[Transcript]:
    return [
        dataclasses.replace(t, turns=tuple(dataclasses.replace(u, seconds=0.0) for u in t.turns))
        for t in transcripts
    ]


def test_one_chat_call_per_turn_with_the_whole_batch_in_item_order() -> None:
    items = make_items(5)
    backend = ScriptedBackend()
    run_protocol(items, get_protocol("debate"), backend, seed=0, sampling=SAMPLING)
    assert len(backend.calls) == 3
    for batch in backend.calls:
        assert len(batch) == len(items)
        for item, request in zip(items, batch):
            assert item.question in request.messages[0]["content"]
    assert backend.samplings == [SAMPLING] * 3


def test_turn_k_sees_exactly_its_own_items_earlier_turns() -> None:
    items = make_items(3)
    backend = ScriptedBackend(reply=marker_reply)
    run_protocol(items, get_protocol("debate"), backend, seed=4, sampling=SAMPLING)
    seeds = [[batch[i].seed for batch in backend.calls] for i in range(len(items))]
    for k, batch in enumerate(backend.calls):
        for i, request in enumerate(batch):
            prompt = "\n".join(m["content"] for m in request.messages)
            for j in range(len(items)):
                for turn in range(3):
                    visible = f"marker-{seeds[j][turn]} end" in prompt
                    assert visible == (j == i and turn < k), (k, i, j, turn)


def test_transcripts_record_turns_stances_and_provenance() -> None:
    items = make_items(4)
    backend = ScriptedBackend(reply=lambda r: "  three word reply \n", model_id="fake-7b")
    transcripts = run_protocol(items, get_protocol("debate"), backend, seed=2, sampling=SAMPLING)
    debate = get_protocol("debate")
    for item, transcript in zip(items, transcripts):
        assert transcript.item_id == item.item_id
        assert transcript.protocol == "debate"
        assert transcript.seed == 2
        assert transcript.model_id == "fake-7b"
        assert transcript.prompt_version == PROMPT_VERSION
        assert transcript.sampling == {"temperature": 0.5, "top_p": 0.9, "max_tokens": 32}
        assert transcript.stances == debate.assign_stances(item.item_id, 2)
        assert [t.speaker for t in transcript.turns] == ["A", "B", "A"]
        for turn in transcript.turns:
            assert turn.stance == transcript.stances[turn.speaker]
            assert turn.text == "three word reply"
            assert turn.completion_tokens == 3
            assert turn.prompt_tokens > 10


def test_same_seed_same_transcripts_other_seed_other_stances() -> None:
    items = make_items(40)
    debate = get_protocol("debate")
    first = run_protocol(items, debate, ScriptedBackend(), seed=0, sampling=SAMPLING)
    again = run_protocol(items, debate, ScriptedBackend(), seed=0, sampling=SAMPLING)
    other = run_protocol(items, debate, ScriptedBackend(), seed=1, sampling=SAMPLING)
    assert without_timing(first) == without_timing(again)
    assert any(a.stances != b.stances for a, b in zip(first, other))
    assert all(a.render() != b.render() for a, b in zip(first, other))


def test_request_seeds_differ_across_items_and_turns() -> None:
    backend = ScriptedBackend()
    run_protocol(make_items(10), get_protocol("debate"), backend, seed=0, sampling=SAMPLING)
    seeds = [request.seed for batch in backend.calls for request in batch]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**31 for s in seeds)


def test_none_protocol_never_calls_the_backend() -> None:
    backend = ScriptedBackend()
    progress: list[tuple[int, int]] = []
    transcripts = run_protocol(
        make_items(3), get_protocol("none"), backend, seed=0, sampling=SAMPLING,
        on_turn=lambda k, n: progress.append((k, n)),
    )
    assert backend.calls == []
    assert progress == []
    assert [t.turns for t in transcripts] == [(), (), ()]
    assert all(t.render() == "" and t.protocol == "none" for t in transcripts)


def test_on_turn_reports_each_round() -> None:
    progress: list[tuple[int, int]] = []
    run_protocol(
        make_items(2), get_protocol("debate"), ScriptedBackend(), seed=0, sampling=SAMPLING,
        on_turn=lambda k, n: progress.append((k, n)),
    )
    assert progress == [(0, 3), (1, 3), (2, 3)]


class SlowBackend(ScriptedBackend):
    """Sleeps a fixed time per batch call."""

    def chat(self, requests: Sequence[ChatRequest], sampling: SamplingConfig) -> list[ChatResult]:
        time.sleep(0.08)
        return super().chat(requests, sampling)


def test_turn_seconds_is_round_time_divided_by_batch_size() -> None:
    transcripts = run_protocol(
        make_items(4), get_protocol("debate"), SlowBackend(), seed=0, sampling=SAMPLING
    )
    for k in range(3):
        round_seconds = {t.turns[k].seconds for t in transcripts}
        assert len(round_seconds) == 1
        assert 0.02 <= round_seconds.pop() < 0.08


def test_empty_batch_and_bad_inputs() -> None:
    backend = ScriptedBackend()
    assert run_protocol([], get_protocol("debate"), backend, seed=0, sampling=SAMPLING) == []
    assert backend.calls == []
    duplicated = make_items(2) + make_items(1)
    with pytest.raises(ValueError, match="unique"):
        run_protocol(duplicated, get_protocol("debate"), backend, seed=0, sampling=SAMPLING)


def test_backend_returning_too_few_results_is_an_error() -> None:
    class DroppingBackend(ScriptedBackend):
        def chat(self, requests, sampling):  # type: ignore[no-untyped-def]
            return super().chat(requests, sampling)[:-1]

    with pytest.raises(RuntimeError, match="3 requests"):
        run_protocol(make_items(3), get_protocol("debate"), DroppingBackend(), seed=0,
                     sampling=SAMPLING)
