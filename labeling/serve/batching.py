"""An asyncio micro-batcher: texts from concurrent requests share one forward pass.

Each request puts its texts in one queue. A collector takes the first waiting text, then
keeps taking until ``max_batch`` texts are gathered or ``max_wait_s`` has passed, runs
the batch in a single worker thread (so the event loop keeps accepting requests) and hands
every request its own rows back. ``max_batch=1`` scores texts one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)

PredictFn = Callable[[list[str]], np.ndarray]  # texts -> [n_members, n_texts]
BatchObserver = Callable[[int, float], None]  # (batch size, forward seconds)


class BatcherClosed(RuntimeError):
    """Raised for texts submitted after the batcher stopped."""


@dataclass
class _Pending:
    """One request's texts and the rows filled in so far."""

    texts: list[str]
    future: asyncio.Future
    rows: list[np.ndarray | None] = field(default_factory=list)
    remaining: int = 0

    def __post_init__(self) -> None:
        self.rows = [None] * len(self.texts)
        self.remaining = len(self.texts)


class MicroBatcher:
    """Bounded-wait, bounded-size batching of ``predict`` calls across concurrent requests."""

    def __init__(
        self,
        predict: PredictFn,
        *,
        max_batch: int = 32,
        max_wait_s: float = 0.005,
        on_batch: BatchObserver | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        self.predict = predict
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.on_batch = on_batch
        self._queue: asyncio.Queue[tuple[_Pending, int] | None] | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._full = asyncio.Event()  # set when a full batch is queued (ends the wait early)
        self._closed = False

    @property
    def queued(self) -> int:
        """Texts waiting for a forward pass."""
        return 0 if self._queue is None else self._queue.qsize()

    async def start(self) -> None:
        """Start the collector on the running event loop."""
        if self._task is not None:
            return
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge-forward")
        self._full = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._collect(), name="judge-micro-batcher")

    async def stop(self) -> None:
        """Score everything already queued, then stop the collector and its thread."""
        if self._task is None or self._queue is None:
            return
        self._closed = True
        await self._queue.put(None)
        self._full.set()
        await self._task
        self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def submit(self, texts: Sequence[str]) -> np.ndarray:
        """Score ``texts`` (possibly together with other requests' texts): ``[n_members, n_texts]``."""
        if self._queue is None or self._closed:
            raise BatcherClosed("the judge is not accepting work (starting up or shutting down)")
        pending = _Pending(list(texts), asyncio.get_running_loop().create_future())
        if not pending.texts:
            raise ValueError("submit needs at least one text")
        for index in range(len(pending.texts)):
            self._queue.put_nowait((pending, index))
        if self._queue.qsize() >= self.max_batch:
            self._full.set()
        return await pending.future

    def _drain(self, batch: list[tuple[_Pending, int]]) -> bool:
        """Move queued entries into ``batch`` up to ``max_batch``; True if the stop marker came."""
        assert self._queue is not None
        while len(batch) < self.max_batch:
            try:
                entry = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if entry is None:
                return True
            batch.append(entry)
        return False

    async def _gather_batch(self, first: tuple[_Pending, int]) -> tuple[list[tuple[_Pending, int]], bool]:
        """The first entry plus whatever arrives within the wait budget; True if the stop marker came.

        One timer per batch (not per text): wait until ``max_batch`` texts are queued or the
        budget is spent, then take what is there.
        """
        batch = [first]
        if self._drain(batch):
            return batch, True
        if len(batch) < self.max_batch and self.max_wait_s > 0:
            self._full.clear()
            if self.queued < self.max_batch - len(batch):
                try:
                    await asyncio.wait_for(self._full.wait(), timeout=self.max_wait_s)
                except asyncio.TimeoutError:
                    pass
            if self._drain(batch):
                return batch, True
        return batch, False

    async def _collect(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        stopping = False
        while True:
            if stopping and self._queue.empty():
                return
            first = await self._queue.get()
            if first is None:
                stopping = True
                continue
            batch, saw_stop = await self._gather_batch(first)
            stopping = stopping or saw_stop
            texts = [pending.texts[index] for pending, index in batch]
            started = time.perf_counter()
            try:
                probs = await loop.run_in_executor(self._executor, self.predict, texts)
            except Exception as exc:  # routed to each waiting request; the collector lives on
                log.exception("judge forward pass failed on a batch of %d texts", len(texts))
                for pending, _ in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            if self.on_batch is not None:
                self.on_batch(len(texts), time.perf_counter() - started)
            self._route(batch, np.asarray(probs, dtype=np.float64))

    @staticmethod
    def _route(batch: list[tuple[_Pending, int]], probs: np.ndarray) -> None:
        """Give each request its columns; complete requests whose texts are all scored."""
        for column, (pending, index) in enumerate(batch):
            if pending.future.done():  # failed earlier or cancelled by a disconnect
                continue
            pending.rows[index] = probs[:, column]
            pending.remaining -= 1
            if pending.remaining == 0:
                pending.future.set_result(np.stack(pending.rows, axis=1))
