"""Oversight protocols as declarative turn schedules, and deterministic stance assignment.

A protocol is a schedule of turns (who speaks, with which prompt template, in which
round) plus a stance rule. Adding one means writing a schedule and registering it:

    PROTOCOLS["debate_4turns"] = sequential_debate(4, name="debate_4turns")
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DEFAULT_WORD_LIMIT = 60

RANDOM_STANCES = "random"
AGAINST_WEAK_PICK = "against_weak_pick"
STANCE_RULES = (RANDOM_STANCES, AGAINST_WEAK_PICK)

CONSULTANT = "consultant"


@dataclass(frozen=True)
class DebateItem:
    """What debaters may see of a binary item. There is deliberately no gold label here.

    ``evidence`` is a passage only the debaters read (hidden-passage debate); the judge never does.
    """

    item_id: str
    question: str
    answer: str
    evidence: str = ""


@dataclass(frozen=True)
class TurnSpec:
    """One scheduled turn: who speaks, which prompt template instructs them, in which round.

    Turns sharing a `round` number are generated together and do not see each other;
    `round=None` gives the turn a round of its own (it sees every turn before it).
    """

    speaker: str
    instruction: str
    round: int | None = None


@dataclass(frozen=True)
class Protocol:
    """A named schedule of turns over a fixed set of speakers.

    Each speaker gets one of `stance_options`, chosen by `stance_rule`: "random" (a
    balanced pseudo-random deal per item and seed) or "against_weak_pick" (one speaker
    argues against the weak judge's no-transcript pick). `system_prompt` names the
    template of every request's system message; `word_limit` is the length the speakers
    are asked to keep to.
    """

    name: str
    speakers: tuple[str, ...]
    turns: tuple[TurnSpec, ...]
    stance_options: tuple[str, ...] = ("correct", "incorrect")
    word_limit: int = DEFAULT_WORD_LIMIT
    system_prompt: str = "system"
    stance_rule: str = RANDOM_STANCES

    def __post_init__(self) -> None:
        if len(set(self.speakers)) != len(self.speakers):
            raise ValueError(f"protocol {self.name!r}: duplicate speakers {self.speakers}")
        if len(self.speakers) > len(self.stance_options):
            raise ValueError(f"protocol {self.name!r}: more speakers than stance options")
        unknown = {t.speaker for t in self.turns} - set(self.speakers)
        if unknown:
            raise ValueError(f"protocol {self.name!r}: turns by unknown speakers {sorted(unknown)}")
        if self.stance_rule not in STANCE_RULES:
            raise ValueError(f"protocol {self.name!r}: stance_rule must be one of {STANCE_RULES}")
        if self.stance_rule == AGAINST_WEAK_PICK and (
            len(self.speakers) != 1 or set(self.stance_options) != {"correct", "incorrect"}
        ):
            raise ValueError(
                f"protocol {self.name!r}: {AGAINST_WEAK_PICK!r} needs one speaker and the "
                "stances 'correct' / 'incorrect'"
            )
        explicit = [t.round for t in self.turns if t.round is not None]
        if explicit != sorted(explicit):
            raise ValueError(f"protocol {self.name!r}: turn rounds must not decrease")
        for indices in self.rounds:
            speakers = [self.turns[i].speaker for i in indices]
            if len(set(speakers)) != len(speakers):
                raise ValueError(f"protocol {self.name!r}: a speaker speaks twice in one round")

    @property
    def rounds(self) -> tuple[tuple[int, ...], ...]:
        """Turn indices grouped by round, in schedule order; one backend call per round."""
        groups: list[list[int]] = []
        previous: int | None = None
        for index, turn in enumerate(self.turns):
            if groups and turn.round is not None and turn.round == previous:
                groups[-1].append(index)
            else:
                groups.append([index])
            previous = turn.round
        return tuple(tuple(group) for group in groups)

    def assign_stances(self, item_id: str, seed: int) -> dict[str, str]:
        """Stances per speaker, a deterministic pseudo-random function of (item_id, seed).

        The stance options are shuffled with a sha256-keyed ordering (independent of the
        protocol name, so a one-speaker protocol gets debater A's stance) and dealt to
        the speakers in order.
        """
        shuffled = sorted(
            self.stance_options,
            key=lambda stance: _digest(f"stance|{seed}|{item_id}|{stance}"),
        )
        return dict(zip(self.speakers, shuffled))

    def stances_for(
        self, item_id: str, seed: int, *, weak_pick: int | None = None, swapped: bool = False
    ) -> dict[str, str]:
        """The stances of one item under this protocol's stance rule.

        `weak_pick` (1: the weak judge thinks the answer is correct, 0: not) is required
        by "against_weak_pick" and ignored otherwise. `swapped` gives every speaker the
        other stance (A and B exchange stances; a lone consultant argues the other side).
        """
        if self.stance_rule == AGAINST_WEAK_PICK:
            if weak_pick is None:
                raise ValueError(
                    f"protocol {self.name!r} needs the weak judge's pick for item {item_id!r}"
                )
            if swapped:
                raise ValueError(f"protocol {self.name!r}: stances are fixed by the weak pick")
            return {self.speakers[0]: "incorrect" if int(weak_pick) == 1 else "correct"}
        stances = self.assign_stances(item_id, seed)
        if not swapped:
            return stances
        if len(self.stance_options) != 2:
            raise ValueError(f"protocol {self.name!r}: swapping needs exactly two stance options")
        first, second = self.stance_options
        return {s: second if stance == first else first for s, stance in stances.items()}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def stable_int(key: str, bits: int = 31) -> int:
    """A non-negative integer below 2**bits derived from `key` with sha256 (never hash())."""
    return int.from_bytes(_digest(key)[:8], "big") % (1 << bits)


def sequential_debate(n_turns: int, name: str | None = None) -> Protocol:
    """Lang et al.'s debate: A opens, B argues and critiques A, then they alternate rebuttals."""
    if n_turns < 1:
        raise ValueError("a debate needs at least one turn")
    instructions = ["debate_opening", "debate_critique"] + ["debate_rebuttal"] * (n_turns - 2)
    turns = tuple(
        TurnSpec(speaker="AB"[k % 2], instruction=instructions[k]) for k in range(n_turns)
    )
    return Protocol(name=name or f"debate_{n_turns}turns", speakers=("A", "B"), turns=turns)


def simultaneous_debate(n_rounds: int, name: str | None = None) -> Protocol:
    """A and B both speak in every round, each without seeing the other's turn of that round."""
    if n_rounds < 1:
        raise ValueError("a debate needs at least one round")
    turns: list[TurnSpec] = []
    for r in range(n_rounds):
        instruction = "simultaneous_opening" if r == 0 else "simultaneous_response"
        turns.extend(TurnSpec(speaker=s, instruction=instruction, round=r) for s in ("A", "B"))
    return Protocol(
        name=name or f"debate_simultaneous_{n_rounds}rounds",
        speakers=("A", "B"),
        turns=tuple(turns),
    )


def _consultant_turns(n_turns: int) -> tuple[TurnSpec, ...]:
    if n_turns < 1:
        raise ValueError("a consultancy needs at least one turn")
    instructions = ["consultancy_opening"] + ["consultancy_strengthen"] * (n_turns - 1)
    return tuple(TurnSpec(speaker=CONSULTANT, instruction=i) for i in instructions)


def consultancy(n_turns: int = 3, name: str = "consultancy") -> Protocol:
    """One consultant argues a randomly dealt stance, then strengthens the case; no opponent."""
    return Protocol(
        name=name,
        speakers=(CONSULTANT,),
        turns=_consultant_turns(n_turns),
        system_prompt="consultancy_system",
    )


def market_making(n_turns: int = 3, name: str = "market_making") -> Protocol:
    """Consultancy whose consultant argues against the weak judge's no-transcript pick."""
    return Protocol(
        name=name,
        speakers=(CONSULTANT,),
        turns=_consultant_turns(n_turns),
        system_prompt="consultancy_system",
        stance_rule=AGAINST_WEAK_PICK,
    )


NO_OVERSIGHT = Protocol(name="none", speakers=(), turns=())
DEBATE = sequential_debate(3, name="debate")

PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        NO_OVERSIGHT,
        DEBATE,
        sequential_debate(6, name="debate_6turns"),
        sequential_debate(2, name="single_critique"),
        simultaneous_debate(2, name="debate_simultaneous"),
        consultancy(3),
        market_making(3),
    )
}


def get_protocol(name: str) -> Protocol:
    """The registered protocol called `name`."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(
            f"unknown protocol {name!r}; known protocols: {', '.join(sorted(PROTOCOLS))}"
        ) from None
