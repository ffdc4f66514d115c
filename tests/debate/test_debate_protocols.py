"""Protocol registry and stance assignment: deterministic, balanced, seed-dependent."""

from __future__ import annotations

import math

import pytest

from debate import PROTOCOLS, Protocol, TurnSpec, get_protocol

N_ITEMS = 1000


def test_registry_has_none_and_lang_debate() -> None:
    assert get_protocol("none").turns == ()
    debate = get_protocol("debate")
    assert debate.speakers == ("A", "B")
    assert [t.speaker for t in debate.turns] == ["A", "B", "A"]
    assert {"none", "debate"} <= set(PROTOCOLS)


def test_unknown_protocol_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="debate") as info:
        get_protocol("no-such-protocol")
    assert "none" in str(info.value)


def test_turns_by_unknown_speakers_are_rejected() -> None:
    with pytest.raises(ValueError):
        Protocol(name="bad", speakers=("A",), turns=(TurnSpec("C", "debate_opening"),))


def test_stances_are_a_permutation_and_deterministic() -> None:
    debate = get_protocol("debate")
    for i in range(50):
        stances = debate.assign_stances(f"item-{i}", 7)
        assert sorted(stances.values()) == ["correct", "incorrect"]
        assert stances == debate.assign_stances(f"item-{i}", 7)


def test_stances_balanced_across_items_within_binomial_bound() -> None:
    debate = get_protocol("debate")
    a_correct = sum(
        debate.assign_stances(f"item-{i}", 0)["A"] == "correct" for i in range(N_ITEMS)
    )
    # 4 standard deviations of Binomial(1000, 0.5) is about 63.
    bound = 4 * math.sqrt(N_ITEMS * 0.25)
    assert abs(a_correct - N_ITEMS / 2) <= bound
    assert 0 < a_correct < N_ITEMS  # both stance orders occur


def test_different_seed_changes_some_stances() -> None:
    debate = get_protocol("debate")
    changed = sum(
        debate.assign_stances(f"item-{i}", 0) != debate.assign_stances(f"item-{i}", 1)
        for i in range(100)
    )
    assert 20 < changed < 80


def test_none_protocol_assigns_no_stances() -> None:
    assert get_protocol("none").assign_stances("item-0", 0) == {}
