"""Oversight protocols as declarative turn schedules, and deterministic stance assignment."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DEFAULT_WORD_LIMIT = 60


@dataclass(frozen=True)
class DebateItem:
    """What debaters may see of a binary item. There is deliberately no gold label here."""

    item_id: str
    question: str
    answer: str


@dataclass(frozen=True)
class TurnSpec:
    """One scheduled turn: who speaks and which prompt template instructs them."""

    speaker: str
    instruction: str


@dataclass(frozen=True)
class Protocol:
    """A named schedule of turns over a fixed set of speakers.

    Each speaker gets one of `stance_options`; every turn sees the turns before it.
    `word_limit` is the length the debaters are asked to keep to.
    """

    name: str
    speakers: tuple[str, ...]
    turns: tuple[TurnSpec, ...]
    stance_options: tuple[str, ...] = ("correct", "incorrect")
    word_limit: int = DEFAULT_WORD_LIMIT

    def __post_init__(self) -> None:
        if len(set(self.speakers)) != len(self.speakers):
            raise ValueError(f"protocol {self.name!r}: duplicate speakers {self.speakers}")
        if len(self.speakers) > len(self.stance_options):
            raise ValueError(f"protocol {self.name!r}: more speakers than stance options")
        unknown = {t.speaker for t in self.turns} - set(self.speakers)
        if unknown:
            raise ValueError(f"protocol {self.name!r}: turns by unknown speakers {sorted(unknown)}")

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


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def stable_int(key: str, bits: int = 31) -> int:
    """A non-negative integer below 2**bits derived from `key` with sha256 (never hash())."""
    return int.from_bytes(_digest(key)[:8], "big") % (1 << bits)


NO_OVERSIGHT = Protocol(name="none", speakers=(), turns=())

DEBATE = Protocol(
    name="debate",
    speakers=("A", "B"),
    turns=(
        TurnSpec(speaker="A", instruction="debate_opening"),
        TurnSpec(speaker="B", instruction="debate_critique"),
        TurnSpec(speaker="A", instruction="debate_rebuttal"),
    ),
)

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (NO_OVERSIGHT, DEBATE)}


def get_protocol(name: str) -> Protocol:
    """The registered protocol called `name`."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(
            f"unknown protocol {name!r}; known protocols: {', '.join(sorted(PROTOCOLS))}"
        ) from None
