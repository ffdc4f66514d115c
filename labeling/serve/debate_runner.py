"""Debates the server runs on request: the judge's own protocol and sampling, off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from debate import DebateItem, SamplingConfig, get_protocol, run_protocol

from labeling.serve.judge_loader import LoadedJudge
from labeling.serve.schemas import DebateTranscript


def _item_key(question: str, answer: str) -> str:
    """A stable item id for a served debate (stances and seeds are derived from it)."""
    return "served-" + hashlib.sha256(f"{question}\x00{answer}".encode()).hexdigest()[:16]


class DebateRunner:
    """Runs the judge's protocol on request items with the strong model, off the event loop."""

    def __init__(self, judge: LoadedJudge, backend: Any, concurrency: int) -> None:
        defaults = judge.debate
        if defaults is None:
            raise ValueError(f"judge {judge.judge_id} was trained without transcripts; it cannot judge debates")
        protocol = get_protocol(defaults.protocol)
        if defaults.word_limit is not None:
            protocol = replace(protocol, word_limit=int(defaults.word_limit))
        self.protocol = protocol
        self.seed = defaults.seed
        self.sampling = SamplingConfig(**defaults.sampling) if defaults.sampling else SamplingConfig()
        self.backend = backend
        self.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="debate")

    def _run(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        unique = {_item_key(q, a): DebateItem(_item_key(q, a), q, a) for q, a in pairs}
        transcripts = run_protocol(
            list(unique.values()), self.protocol, self.backend, seed=self.seed, sampling=self.sampling
        )
        return {t.item_id: t for t in transcripts}

    async def transcripts(self, pairs: list[tuple[str, str]]) -> list[Any]:
        """One transcript per (question, answer) pair, in order (identical pairs share one debate)."""
        loop = asyncio.get_running_loop()
        by_id = await loop.run_in_executor(self.executor, self._run, pairs)
        return [by_id[_item_key(q, a)] for q, a in pairs]

    def close(self) -> None:
        """Wait for running debates and release the threads."""
        self.executor.shutdown(wait=True)


def transcript_body(transcript: Any) -> DebateTranscript:
    """A transcript as the API returns it."""
    return DebateTranscript(
        protocol=transcript.protocol,
        seed=transcript.seed,
        model_id=transcript.model_id,
        prompt_version=transcript.prompt_version,
        stances=dict(transcript.stances),
        turns=[{"speaker": t.speaker, "stance": t.stance, "text": t.text} for t in transcript.turns],
        text=transcript.render(),
    )
