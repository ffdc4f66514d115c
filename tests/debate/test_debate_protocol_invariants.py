"""Invariants every protocol run keeps: batching per round, hidden opponents and same-round
turns, stances against the weak pick, mirrored swaps, and failures that stop one item only."""

from __future__ import annotations

from typing import Callable

import pytest

from debate import (
    PROTOCOLS,
    ChatRequest,
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


def picks_for(items: list[DebateItem]) -> dict[str, int]:
    return {item.item_id: i % 2 for i, item in enumerate(items)}


def marker_reply(request: ChatRequest) -> str:
    return f"marker-{request.seed} end"


def prompt_text(request: ChatRequest) -> str:
    return "\n".join(m["content"] for m in request.messages)


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_one_chat_call_per_round_for_every_protocol(name: str) -> None:
    protocol = get_protocol(name)
    items = make_items(4)
    backend = ScriptedBackend()
    progress: list[tuple[int, int]] = []
    transcripts = run_protocol(
        items, protocol, backend, seed=0, sampling=SAMPLING, weak_picks=picks_for(items),
        on_turn=lambda k, n: progress.append((k, n)),
    )
    n_rounds = len(protocol.rounds)
    assert len(backend.calls) == n_rounds
    assert progress == [(k, n_rounds) for k in range(n_rounds)]
    for batch, round_turns in zip(backend.calls, protocol.rounds):
        assert len(batch) == len(items) * len(round_turns)
        owners = [next(i for i, it in enumerate(items) if it.question in r.messages[0]["content"])
                  for r in batch]
        assert owners == sorted(owners)  # item by item, each item's turns together
    for transcript in transcripts:
        assert [t.speaker for t in transcript.turns] == [t.speaker for t in protocol.turns]
        assert transcript.failed is None


def test_consultancy_never_shows_an_opponent() -> None:
    items = make_items(30)
    backend = ScriptedBackend()
    transcripts = run_protocol(items, get_protocol("consultancy"), backend, seed=0,
                               sampling=SAMPLING)
    for batch in backend.calls:
        for request in batch:
            text = prompt_text(request).lower()
            for word in ("debate", "debater", "opponent", "other side's"):
                assert word not in text, word
    for transcript in transcripts:
        assert set(transcript.stances) == {"consultant"}
        assert "Debater" not in transcript.render()
    stances = [t.stances["consultant"] for t in transcripts]
    assert {"correct", "incorrect"} == set(stances)


def exchange_stances(text: str) -> str:
    return text.replace("incorrect", "\0").replace("correct", "incorrect").replace("\0", "correct")


def test_market_making_argues_against_the_weak_pick_and_never_sees_it() -> None:
    items = make_items(12)
    picks = picks_for(items)
    flipped = {k: 1 - v for k, v in picks.items()}
    first, second = ScriptedBackend(reply=marker_reply), ScriptedBackend(reply=marker_reply)
    market = get_protocol("market_making")
    transcripts = run_protocol(items, market, first, seed=0, sampling=SAMPLING, weak_picks=picks)
    run_protocol(items, market, second, seed=0, sampling=SAMPLING, weak_picks=flipped)
    for item, transcript in zip(items, transcripts):
        expected = "incorrect" if picks[item.item_id] == 1 else "correct"
        assert transcript.stances == {"consultant": expected}
        assert all(turn.stance == expected for turn in transcript.turns)
    # The pick reaches the consultant only through its stance.
    for batch_a, batch_b in zip(first.calls, second.calls):
        for a, b in zip(batch_a, batch_b):
            assert a.seed == b.seed
            assert exchange_stances(prompt_text(a)) == prompt_text(b)


def test_market_making_needs_every_pick() -> None:
    items = make_items(3)
    market = get_protocol("market_making")
    with pytest.raises(ValueError, match="weak_picks"):
        run_protocol(items, market, ScriptedBackend(), seed=0, sampling=SAMPLING)
    with pytest.raises(ValueError, match="item-2"):
        run_protocol(items, market, ScriptedBackend(), seed=0, sampling=SAMPLING,
                     weak_picks={"item-0": 1, "item-1": 0})


def test_weak_picks_do_not_change_random_stance_protocols() -> None:
    items = make_items(10)
    plain, with_picks = ScriptedBackend(), ScriptedBackend()
    run_protocol(items, get_protocol("consultancy"), plain, seed=0, sampling=SAMPLING)
    run_protocol(items, get_protocol("consultancy"), with_picks, seed=0, sampling=SAMPLING,
                 weak_picks=picks_for(items))
    assert plain.calls == with_picks.calls


@pytest.mark.parametrize("name", ["debate", "debate_6turns", "debate_simultaneous", "consultancy"])
def test_swapping_positions_mirrors_transcripts(name: str) -> None:
    # A symmetric backend: replies depend on the request seed only, not on names or stances.
    items = make_items(8)
    protocol = get_protocol(name)
    plain_backend = ScriptedBackend(reply=lambda r: f"reply-{r.seed}")
    swap_backend = ScriptedBackend(reply=lambda r: f"reply-{r.seed}")
    plain = run_protocol(items, protocol, plain_backend, seed=3, sampling=SAMPLING)
    swapped = run_protocol(items, protocol, swap_backend, seed=3, sampling=SAMPLING,
                           swap_positions=True)
    for p, s in zip(plain, swapped):
        assert (p.swapped, s.swapped) == (False, True)
        assert {k: exchange_stances(v) for k, v in p.stances.items()} == s.stances
        assert [(t.speaker, t.text) for t in p.turns] == [(t.speaker, t.text) for t in s.turns]
        assert [exchange_stances(t.stance) for t in p.turns] == [t.stance for t in s.turns]
        assert exchange_stances(p.render()) == s.render()
    for batch_p, batch_s in zip(plain_backend.calls, swap_backend.calls, strict=True):
        for rp, rs in zip(batch_p, batch_s, strict=True):
            assert rp.seed == rs.seed
            assert exchange_stances(prompt_text(rp)) == prompt_text(rs)


def test_swapping_market_making_is_refused() -> None:
    items = make_items(2)
    with pytest.raises(ValueError, match="weak pick"):
        run_protocol(items, get_protocol("market_making"), ScriptedBackend(), seed=0,
                     sampling=SAMPLING, weak_picks=picks_for(items), swap_positions=True)


def test_simultaneous_turns_of_a_round_do_not_see_each_other() -> None:
    items = make_items(3)
    protocol = get_protocol("debate_simultaneous")
    backend = ScriptedBackend(reply=marker_reply)
    transcripts = run_protocol(items, protocol, backend, seed=4, sampling=SAMPLING)
    owners = [i for i in range(len(items)) for _ in ("A", "B")]  # request order in a round
    # Every reply's marker, with the round it was produced in and the item it belongs to.
    produced = [
        (round_index, i, f"marker-{request.seed} end")
        for round_index, batch in enumerate(backend.calls)
        for i, request in zip(owners, batch, strict=True)
    ]
    assert len(produced) == 12
    for round_index, batch in enumerate(backend.calls):
        for i, request in zip(owners, batch, strict=True):
            text = prompt_text(request)
            for k, j, marker in produced:
                assert (marker in text) == (j == i and k < round_index), (round_index, i, k, j)
    for transcript in transcripts:
        assert [t.speaker for t in transcript.turns] == ["A", "B", "A", "B"]


def fail_when(
    fragment: str, error: str = "timeout: no reply in 30 s"
) -> Callable[[ChatRequest], str | None]:
    """A `fail` hook failing every request whose last message contains `fragment`."""

    def fail(request: ChatRequest) -> str | None:
        return error if fragment in request.messages[-1]["content"] else None

    return fail


def test_a_failed_item_stops_and_is_recorded_while_the_others_finish() -> None:
    items = make_items(4)

    def fail(request: ChatRequest) -> str | None:
        is_item_1 = "Question number 1?" in request.messages[0]["content"]
        is_critique = "name the specific flaws" in request.messages[-1]["content"]
        return "http 500: engine died" if is_item_1 and is_critique else None

    backend = ScriptedBackend(fail=fail)
    transcripts = run_protocol(items, get_protocol("debate"), backend, seed=0, sampling=SAMPLING)
    assert [len(batch) for batch in backend.calls] == [4, 4, 3]
    assert all("Question number 1?" not in r.messages[0]["content"] for r in backend.calls[2])
    failed = transcripts[1]
    assert failed.failed == "turn 1: http 500: engine died"
    assert [t.speaker for t in failed.turns] == ["A"]
    for transcript in transcripts[:1] + transcripts[2:]:
        assert transcript.failed is None and len(transcript.turns) == 3
    assert Transcript.from_record(failed.to_record()) == failed


def test_a_failure_drops_the_whole_simultaneous_round_of_that_item() -> None:
    items = make_items(2)

    def fail(request: ChatRequest) -> str | None:
        system = request.messages[0]["content"]
        is_item_0_a = "Question number 0?" in system and "You are Debater A" in system
        return "oom: kv cache" if is_item_0_a else None

    backend = ScriptedBackend(fail=fail)
    transcripts = run_protocol(items, get_protocol("debate_simultaneous"), backend, seed=0,
                               sampling=SAMPLING)
    assert [len(batch) for batch in backend.calls] == [4, 2]
    assert transcripts[0].failed == "turn 0: oom: kv cache" and transcripts[0].turns == ()
    assert transcripts[1].failed is None and len(transcripts[1].turns) == 4


def test_when_every_item_fails_no_more_calls_are_made() -> None:
    progress: list[tuple[int, int]] = []
    backend = ScriptedBackend(fail=fail_when("opening"))
    transcripts = run_protocol(
        make_items(3), get_protocol("debate"), backend, seed=0, sampling=SAMPLING,
        on_turn=lambda k, n: progress.append((k, n)),
    )
    assert len(backend.calls) == 1
    assert progress == [(0, 3), (1, 3), (2, 3)]
    assert all(t.failed == "turn 0: timeout: no reply in 30 s" and t.turns == ()
               for t in transcripts)
