"""The micro-batcher with a fake forward pass: grouping, bounds, routing, errors, draining."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from labeling.serve.batching import BatcherClosed, MicroBatcher


class FakeForward:
    """Scores text t as (len(t), -len(t)) for two 'members'; records each batch; may be slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.delay = delay
        self.threads: set[str] = set()

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        lengths = np.array([len(t) for t in texts], dtype=float)
        return np.stack([lengths, -lengths])


def run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_share_a_forward_pass_and_get_their_own_rows() -> None:
    forward = FakeForward()

    async def main():
        batcher = MicroBatcher(forward, max_batch=32, max_wait_s=0.05)
        await batcher.start()
        texts = [["a"], ["bb", "ccc"], ["dddd"]]
        results = await asyncio.gather(*(batcher.submit(t) for t in texts))
        await batcher.stop()
        return texts, results

    texts, results = run(main())
    assert len(forward.batches) == 1 and len(forward.batches[0]) == 4
    for t, r in zip(texts, results):
        expected = np.array([[len(x) for x in t], [-len(x) for x in t]], dtype=float)
        np.testing.assert_array_equal(r, expected)
    assert all(name.startswith("judge-forward") for name in forward.threads)


def test_batches_never_exceed_max_batch_and_max_batch_one_is_one_by_one() -> None:
    for max_batch in (1, 3):
        forward = FakeForward()

        async def main():
            batcher = MicroBatcher(forward, max_batch=max_batch, max_wait_s=0.02)
            await batcher.start()
            out = await asyncio.gather(*(batcher.submit(["x" * (i + 1)] * 2) for i in range(5)))
            await batcher.stop()
            return out

        out = run(main())
        assert max(len(b) for b in forward.batches) <= max_batch
        assert sum(len(b) for b in forward.batches) == 10
        assert [r[0, 0] for r in out] == [1, 2, 3, 4, 5]
        if max_batch == 1:
            assert len(forward.batches) == 10


def test_the_wait_is_bounded() -> None:
    forward = FakeForward()

    async def main():
        batcher = MicroBatcher(forward, max_batch=1000, max_wait_s=0.01)
        await batcher.start()
        started = time.perf_counter()
        await batcher.submit(["lonely"])
        elapsed = time.perf_counter() - started
        await batcher.stop()
        return elapsed

    assert run(main()) < 0.5  # a lone request is not held for a full batch


def test_a_failing_forward_fails_only_its_batch() -> None:
    calls = {"n": 0}

    def flaky(texts):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return np.ones((1, len(texts)))

    async def main():
        batcher = MicroBatcher(flaky, max_batch=8, max_wait_s=0.0)
        await batcher.start()
        with pytest.raises(RuntimeError, match="boom"):
            await batcher.submit(["a"])
        ok = await batcher.submit(["b", "c"])
        await batcher.stop()
        return ok

    np.testing.assert_array_equal(run(main()), np.ones((1, 2)))


def test_stop_drains_queued_work_then_refuses_new_work() -> None:
    forward = FakeForward(delay=0.05)

    async def main():
        batcher = MicroBatcher(forward, max_batch=2, max_wait_s=0.0)
        await batcher.start()
        pending = [asyncio.create_task(batcher.submit([f"t{i}"])) for i in range(6)]
        await asyncio.sleep(0.01)
        await batcher.stop()
        done = [task.result() for task in pending]  # all finished before stop returned
        with pytest.raises(BatcherClosed):
            await batcher.submit(["late"])
        return done

    assert len(run(main())) == 6


def test_invalid_bounds_are_rejected() -> None:
    with pytest.raises(ValueError):
        MicroBatcher(FakeForward(), max_batch=0)
    with pytest.raises(ValueError):
        MicroBatcher(FakeForward(), max_wait_s=-1)
