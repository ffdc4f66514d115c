"""Versioned prompt templates (debate/prompts/<version>/*.txt) and chat-message building."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from typing import Any, Sequence

from debate.protocols import DebateItem, Protocol, TurnSpec
from debate.transcript import Turn, render_turns


def _prompt_dir(version: str) -> Any:
    return resources.files("debate").joinpath("prompts", version)


@functools.lru_cache(maxsize=None)
def load_prompt(name: str, version: str = "v1") -> str:
    """The template text of debate/prompts/<version>/<name>.txt."""
    path = _prompt_dir(version).joinpath(f"{name}.txt")
    if not path.is_file():
        raise FileNotFoundError(f"no prompt {name!r} in prompt version {version!r}")
    return path.read_text(encoding="utf-8")


def prompt_version(version: str = "v1") -> str:
    """'<version>-<8 hex>' where the hex is a sha256 over every template file of that version."""
    digest = hashlib.sha256()
    files = sorted(
        (p for p in _prompt_dir(version).iterdir() if p.name.endswith(".txt")), key=lambda p: p.name
    )
    if not files:
        raise FileNotFoundError(f"no prompt files for prompt version {version!r}")
    for path in files:
        digest.update(path.name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"{version}-{digest.hexdigest()[:8]}"


PROMPT_VERSION: str = prompt_version("v1")


def stance_text(stance: str) -> str:
    """How a stance is phrased to the debater, e.g. 'the proposed answer is correct'."""
    return f"the proposed answer is {stance}"


def build_messages(
    protocol: Protocol,
    item: DebateItem,
    speaker: str,
    stances: dict[str, str],
    turns_so_far: Sequence[Turn],
    turn_spec: TurnSpec,
    version: str = "v1",
) -> tuple[dict[str, str], ...]:
    """System + user messages for `speaker`'s turn; earlier turns go into the user message.

    The system message (the protocol's `system_prompt` template) starts with the question
    and answer, so all requests of one item share a long prefix. A lone speaker's
    `opponent` field is ''. An item with `evidence` uses the `<system_prompt>_evidence`
    template, which gives the speaker the passage and asks for quotes in `<quote>` tags.
    """
    opponents = [s for s in protocol.speakers if s != speaker]
    fields = {
        "question": item.question,
        "answer": item.answer,
        "speaker": speaker,
        "opponent": opponents[0] if len(opponents) == 1 else "",
        "stance_text": stance_text(stances[speaker]),
        "transcript": render_turns(turns_so_far),
        "word_limit": protocol.word_limit,
        "evidence": item.evidence,
    }
    template = f"{protocol.system_prompt}_evidence" if item.evidence else protocol.system_prompt
    system = load_prompt(template, version).strip().format(**fields)
    user = load_prompt(turn_spec.instruction, version).strip().format(**fields)
    return ({"role": "system", "content": system}, {"role": "user", "content": user})
