"""Protocol schedules: the registry, schedule builders, rounds, stance rules and validation."""

from __future__ import annotations

import math
import re

import pytest

from debate import (
    PROTOCOLS,
    Protocol,
    TurnSpec,
    consultancy,
    get_protocol,
    load_prompt,
    market_making,
    sequential_debate,
    simultaneous_debate,
)

N_ITEMS = 1000


def test_registry_holds_every_compared_protocol() -> None:
    assert set(PROTOCOLS) == {
        "none", "debate", "debate_6turns", "debate_simultaneous", "consultancy", "market_making", "single_critique"
    }
    for name, protocol in PROTOCOLS.items():
        assert protocol.name == name


def test_sequential_debate_alternates_and_keeps_langs_instructions() -> None:
    six = sequential_debate(6)
    assert six.name == "debate_6turns"
    assert [t.speaker for t in six.turns] == list("ABABAB")
    assert [t.instruction for t in six.turns[:3]] == [
        "debate_opening", "debate_critique", "debate_rebuttal"
    ]
    assert six.rounds == ((0,), (1,), (2,), (3,), (4,), (5,))
    assert sequential_debate(3, name="debate") == get_protocol("debate")
    assert get_protocol("debate_6turns") == six


def test_single_critique_is_an_argument_and_one_critique() -> None:
    critique = get_protocol("single_critique")
    assert [(t.speaker, t.instruction) for t in critique.turns] == [("A", "debate_opening"), ("B", "debate_critique")]
    assert critique.rounds == ((0,), (1,))


def test_simultaneous_debate_has_two_speakers_per_round() -> None:
    three = simultaneous_debate(3)
    assert three.rounds == ((0, 1), (2, 3), (4, 5))
    assert [(t.speaker, t.round) for t in three.turns] == [
        ("A", 0), ("B", 0), ("A", 1), ("B", 1), ("A", 2), ("B", 2)
    ]
    assert get_protocol("debate_simultaneous").rounds == ((0, 1), (2, 3))


def test_consultancy_and_market_making_share_one_consultant_schedule() -> None:
    c, m = get_protocol("consultancy"), get_protocol("market_making")
    assert c.speakers == m.speakers == ("consultant",)
    assert c.turns == m.turns and len(c.turns) == 3
    assert c.system_prompt == m.system_prompt == "consultancy_system"
    assert (c.stance_rule, m.stance_rule) == ("random", "against_weak_pick")
    assert len(consultancy(5).turns) == 5 and len(market_making(1).turns) == 1


@pytest.mark.parametrize(
    "build",
    [
        lambda: Protocol("bad", ("A", "B"), (TurnSpec("A", "x", round=1), TurnSpec("B", "x", 0))),
        lambda: Protocol("bad", ("A", "B"), (TurnSpec("A", "x", 0), TurnSpec("A", "x", 0))),
        lambda: Protocol("bad", ("A", "B"), (), stance_rule="against_weak_pick"),
        lambda: Protocol("bad", ("A",), (), stance_rule="coin"),
        lambda: sequential_debate(0),
        lambda: simultaneous_debate(0),
        lambda: consultancy(0),
    ],
)
def test_malformed_schedules_are_rejected(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        build()


def test_rounds_group_only_equal_adjacent_round_numbers() -> None:
    protocol = Protocol(
        "mixed", ("A", "B"),
        (TurnSpec("A", "x"), TurnSpec("A", "x", 1), TurnSpec("B", "x", 1), TurnSpec("B", "x")),
    )
    assert protocol.rounds == ((0,), (1, 2), (3,))


def test_consultant_stance_is_balanced_and_is_debater_as_stance() -> None:
    c, d = get_protocol("consultancy"), get_protocol("debate")
    stances = [c.stances_for(f"item-{i}", 3)["consultant"] for i in range(N_ITEMS)]
    assert stances == [d.assign_stances(f"item-{i}", 3)["A"] for i in range(N_ITEMS)]
    assert abs(stances.count("correct") - N_ITEMS / 2) <= 4 * math.sqrt(N_ITEMS * 0.25)
    other_seed = [c.stances_for(f"item-{i}", 4)["consultant"] for i in range(N_ITEMS)]
    assert 0.3 < sum(a != b for a, b in zip(stances, other_seed)) / N_ITEMS < 0.7


def test_swapped_stances_are_the_other_option() -> None:
    for name in ("debate", "debate_simultaneous", "consultancy"):
        protocol = get_protocol(name)
        for i in range(20):
            plain = protocol.stances_for(f"item-{i}", 0)
            swapped = protocol.stances_for(f"item-{i}", 0, swapped=True)
            assert set(plain) == set(swapped)
            assert all({plain[s], swapped[s]} == {"correct", "incorrect"} for s in plain)
    assert get_protocol("none").stances_for("item-0", 0, swapped=True) == {}


def test_market_making_stance_rule() -> None:
    m = get_protocol("market_making")
    assert m.stances_for("x", 0, weak_pick=1) == {"consultant": "incorrect"}
    assert m.stances_for("x", 0, weak_pick=0) == {"consultant": "correct"}
    with pytest.raises(ValueError, match="weak judge"):
        m.stances_for("x", 0)
    with pytest.raises(ValueError, match="fixed by the weak pick"):
        m.stances_for("x", 0, weak_pick=1, swapped=True)


def test_every_registered_template_exists_without_labels_or_stray_placeholders() -> None:
    allowed = {
        "question", "answer", "speaker", "opponent", "stance_text", "transcript", "word_limit"
    }
    for protocol in PROTOCOLS.values():
        names = [t.instruction for t in protocol.turns]
        names += [protocol.system_prompt] if protocol.turns else []
        for name in names:
            text = load_prompt(name)
            assert set(re.findall(r"\{(\w*)\}", text)) <= allowed, (protocol.name, name)
            for word in ("label", "gold", "ground truth", "ground-truth"):
                assert word not in text.lower(), (name, word)
