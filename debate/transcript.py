"""Debate transcripts: turns, the text the judge reads, and a parquet-friendly record form."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class Turn:
    """One speaker's contribution, with its token counts and share of the round's wall time.

    With a hidden passage, ``text`` holds the checked quote markers and the counts say how many
    quotes the turn had, how many were verified and how many words those verified quotes hold.
    """

    speaker: str
    stance: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    quotes: int = 0
    verified_quotes: int = 0
    verified_words: int = 0


SPEAKER_TITLES = {"consultant": "Consultant"}


def speaker_title(speaker: str) -> str:
    """How a speaker is named to readers: 'Consultant', or 'Debater A' for debaters."""
    return SPEAKER_TITLES.get(speaker, f"Debater {speaker}")


def speaker_heading(speaker: str, stance: str) -> str:
    """The label put before a turn, e.g. 'Debater A (arguing the answer is correct)'."""
    return f"{speaker_title(speaker)} (arguing the answer is {stance})"


def render_turns(turns: Sequence[Turn]) -> str:
    """Turns as text, one block per turn separated by blank lines ('' for no turns)."""
    return "\n\n".join(f"{speaker_heading(t.speaker, t.stance)}: {t.text}" for t in turns)


@dataclass(frozen=True)
class Transcript:
    """A protocol run on one item, with full provenance.

    `swapped` is True when the item ran with the stances exchanged (position-bias
    control). `failed` is None for a finished run; otherwise the backend error that
    stopped it, and `turns` holds only the turns generated before it.
    """

    item_id: str
    protocol: str
    seed: int
    stances: dict[str, str]
    turns: tuple[Turn, ...]
    prompt_version: str
    model_id: str
    sampling: dict
    swapped: bool = False
    failed: str | None = None

    def render(self, view: str = "full") -> str:
        """The transcript text shown to the judge ('' when there are no turns).

        ``view`` is the quotes ablation: ``full``, ``no_quotes`` or ``verified_only`` (``debate.quotes``).
        """
        if view == "full":
            return render_turns(self.turns)
        from dataclasses import replace

        from debate.quotes import judge_view

        return render_turns([replace(t, text=judge_view(t.text, view)) for t in self.turns])

    def to_record(self) -> dict:
        """A flat dict of scalars, lists of structs and a JSON string (parquet-friendly)."""
        return {
            "item_id": self.item_id,
            "protocol": self.protocol,
            "seed": int(self.seed),
            "stances": [{"speaker": s, "stance": st} for s, st in self.stances.items()],
            "turns": [
                {
                    "speaker": t.speaker,
                    "stance": t.stance,
                    "text": t.text,
                    "prompt_tokens": int(t.prompt_tokens),
                    "completion_tokens": int(t.completion_tokens),
                    "seconds": float(t.seconds),
                    "quotes": int(t.quotes),
                    "verified_quotes": int(t.verified_quotes),
                    "verified_words": int(t.verified_words),
                }
                for t in self.turns
            ],
            "prompt_version": self.prompt_version,
            "model_id": self.model_id,
            "sampling_json": json.dumps(self.sampling, sort_keys=True),
            "swapped": bool(self.swapped),
            "failed": self.failed,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "Transcript":
        """Inverse of `to_record`, also for rows read back by pyarrow, pandas or datasets.

        Records written before `swapped` / `failed` existed read as unswapped and finished.
        """
        sampling = record["sampling_json"]
        failed = record.get("failed")
        return cls(
            item_id=str(record["item_id"]),
            protocol=str(record["protocol"]),
            seed=int(record["seed"]),
            stances={str(s["speaker"]): str(s["stance"]) for s in _rows(record["stances"])},
            turns=tuple(
                Turn(
                    speaker=str(t["speaker"]),
                    stance=str(t["stance"]),
                    text=str(t["text"]),
                    prompt_tokens=int(t["prompt_tokens"]),
                    completion_tokens=int(t["completion_tokens"]),
                    seconds=float(t["seconds"]),
                    quotes=_count(t, "quotes"),
                    verified_quotes=_count(t, "verified_quotes"),
                    verified_words=_count(t, "verified_words"),
                )
                for t in _rows(record["turns"])
            ),
            prompt_version=str(record["prompt_version"]),
            model_id=str(record["model_id"]),
            sampling=json.loads(sampling) if isinstance(sampling, str) else dict(sampling),
            swapped=bool(record.get("swapped", False)),
            failed=None if failed is None or failed != failed else str(failed),  # NaN: missing
        )


def _count(turn: Mapping[str, Any], key: str) -> int:
    """A quote count of a turn record; records written before quotes were checked have none (0)."""
    value = turn.get(key)
    return 0 if value is None or value != value else int(value)


def _rows(value: Any) -> list[Mapping[str, Any]]:
    """A list of structs as list of dicts; accepts numpy arrays, None and dict-of-lists."""
    if value is None:
        return []
    if isinstance(value, Mapping):  # columnar form, e.g. datasets' Sequence of a dict
        keys = list(value)
        columns = [list(value[k]) for k in keys]
        return [dict(zip(keys, row)) for row in zip(*columns)]
    return list(value)


def transcript_arrow_schema() -> Any:
    """The pyarrow schema of `Transcript.to_record` rows (stable even for empty turn lists)."""
    import pyarrow as pa

    turn = pa.struct(
        [
            ("speaker", pa.string()),
            ("stance", pa.string()),
            ("text", pa.string()),
            ("prompt_tokens", pa.int64()),
            ("completion_tokens", pa.int64()),
            ("seconds", pa.float64()),
            ("quotes", pa.int64()),
            ("verified_quotes", pa.int64()),
            ("verified_words", pa.int64()),
        ]
    )
    stance = pa.struct([("speaker", pa.string()), ("stance", pa.string())])
    return pa.schema(
        [
            ("item_id", pa.string()),
            ("protocol", pa.string()),
            ("seed", pa.int64()),
            ("stances", pa.list_(stance)),
            ("turns", pa.list_(turn)),
            ("prompt_version", pa.string()),
            ("model_id", pa.string()),
            ("sampling_json", pa.string()),
            ("swapped", pa.bool_()),
            ("failed", pa.string()),
        ]
    )
