"""How close the round-synchronous debate engine gets to raw vLLM, and how it scales (not a test).

In ONE vLLM engine (prefix caching on), over SciQ items, it measures completion tokens/s of

  (a) raw ``vllm.LLM.chat`` fed exactly the prompts that (b) produced, one batch per round;
  (b) ``debate.run_protocol`` over all items, round-synchronously (one ``chat`` call per round);
  (c) a per-debate sequential loop: one item at a time, its turns in sequence;

prints (b)/(a) and (b)/(c), then a scaling table over item counts and batch sizes (items per
round-synchronous batch = shard size) with the peak RSS of this process and its engine
processes. The prefix cache is reset before every measurement. Example (vLLM-CPU):

    VLLM_CPU_KVCACHE_SPACE=2 VLLM_CPU_NUM_OF_RESERVED_CPU=0 \\
        .venv/bin/python scripts/bench_debate_engine.py --items 16 --scale 16,64 --batch-sizes 16,64
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Sequence

SCIQ = Path(__file__).resolve().parents[2] / "shared" / "data" / "sciq"


class RecordingBackend:
    """Passes batches to a backend and keeps every batch of requests (the prompts of each round)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.batches: list[list[Any]] = []

    def chat(self, requests: Sequence[Any], sampling: Any) -> list[Any]:
        """Record, then delegate."""
        self.batches.append(list(requests))
        return self.inner.chat(requests, sampling)


class PeakRss:
    """Samples the summed RSS of this process and all its descendants (vLLM's engine core)."""

    def __init__(self, interval_s: float = 0.1) -> None:
        import psutil

        self._proc = psutil.Process()
        self._interval = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # a child may exit between listing and reading
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._interval)

    def __enter__(self) -> "PeakRss":
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def completion_tokens(transcripts: Sequence[Any]) -> int:
    """Completion tokens of every turn of every transcript."""
    return sum(turn.completion_tokens for t in transcripts for turn in t.turns)


def run_round_synchronous(items: Sequence[Any], protocol: Any, backend: Any, sampling: Any, batch_size: int) -> tuple[int, float]:
    """(b): ``run_protocol`` over batches of ``batch_size`` items; returns (tokens, seconds)."""
    from debate import run_protocol

    started, tokens = time.perf_counter(), 0
    for start in range(0, len(items), batch_size):
        tokens += completion_tokens(run_protocol(items[start : start + batch_size], protocol, backend, seed=0, sampling=sampling))
    return tokens, time.perf_counter() - started


def run_raw(llm: Any, batches: Sequence[Sequence[Any]], sampling: Any) -> tuple[int, float]:
    """(a): the recorded prompts straight into ``LLM.chat``, one call per recorded batch."""
    from vllm import SamplingParams

    started, tokens = time.perf_counter(), 0
    for batch in batches:
        params = [SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p,
                                 max_tokens=sampling.max_tokens, seed=r.seed) for r in batch]
        outputs = llm.chat([[dict(m) for m in r.messages] for r in batch], sampling_params=params, use_tqdm=False)
        tokens += sum(len(o.outputs[0].token_ids) for o in outputs)
    return tokens, time.perf_counter() - started


def run_sequential(items: Sequence[Any], protocol: Any, backend: Any, sampling: Any) -> tuple[int, float]:
    """(c): one debate at a time, each turn its own request."""
    return run_round_synchronous(items, protocol, backend, sampling, batch_size=1)


def load_items(n: int) -> list[Any]:
    """The first ``n`` SciQ items (train split, local copy) as DebateItems."""
    from debate import DebateItem
    from labeling.data.registry import load_rows

    rows = load_rows("sciq", source=SCIQ, split="train", limit=n)
    return [DebateItem(item_id=r["id"], question=r["question"], answer=r["answer"]) for r in rows]


def rate(tokens: int, seconds: float) -> float:
    return tokens / max(seconds, 1e-9)


def main(argv: list[str] | None = None) -> int:
    """Build one engine, run the comparison and the scaling table, print (and optionally save) results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="packaged:smollm2-135m-instruct")
    parser.add_argument("--items", type=int, default=16, help="items for the (a)/(b) comparison")
    parser.add_argument("--sequential-items", type=int, default=8, help="items for (c) (its rate needs few)")
    parser.add_argument("--scale", default="16,64,256", help="item counts of the scaling table ('' to skip)")
    parser.add_argument("--large", action="store_true", help="add 1000 and 5000 items to the scaling table")
    parser.add_argument("--batch-sizes", default="16,64,256", help="items per round-synchronous batch")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--word-limit", type=int, default=35)
    parser.add_argument("--protocol", default="debate")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")

    from dataclasses import replace

    from debate import SamplingConfig, VLLMChatBackend, get_protocol
    from labeling.store import resolve_model

    scale = [int(n) for n in args.scale.split(",") if n] + ([1000, 5000] if args.large else [])
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    items = load_items(max([args.items, args.sequential_items, *scale]))
    protocol = replace(get_protocol(args.protocol), word_limit=args.word_limit)
    sampling = SamplingConfig(temperature=0.7, top_p=0.95, max_tokens=args.max_tokens)
    started = time.perf_counter()
    backend = VLLMChatBackend(resolve_model(args.model), model_id=args.model, enable_prefix_caching=True, enforce_eager=True)
    llm = backend._llm
    print(f"engine up in {time.perf_counter() - started:.1f} s; cores: {os.cpu_count()}", flush=True)

    def fresh() -> None:
        llm.reset_prefix_cache()

    run_round_synchronous(items[:4], protocol, backend, sampling, 4)  # warm-up
    fresh()
    recorder = RecordingBackend(backend)
    b1 = run_round_synchronous(items[: args.items], protocol, recorder, sampling, args.items)
    fresh()
    a = run_raw(llm, recorder.batches, sampling)
    fresh()
    b2 = run_round_synchronous(items[: args.items], protocol, backend, sampling, args.items)
    fresh()
    c = run_sequential(items[: args.sequential_items], protocol, backend, sampling)
    b_rate = rate(*b2)
    comparison = {
        "items": args.items, "rounds": len(recorder.batches),
        "a_raw_llm_chat": {"tokens": a[0], "seconds": a[1], "tokens_per_s": rate(*a)},
        "b_round_synchronous": {"tokens": b2[0], "seconds": b2[1], "tokens_per_s": b_rate,
                                "first_run_tokens_per_s": rate(*b1)},
        "c_sequential": {"items": args.sequential_items, "tokens": c[0], "seconds": c[1], "tokens_per_s": rate(*c)},
        "b_over_a": b_rate / rate(*a), "b_over_c": b_rate / rate(*c),
    }
    print(json.dumps(comparison, indent=1), flush=True)
    print(f"(b)/(a) = {comparison['b_over_a']:.3f}   (b)/(c) = {comparison['b_over_c']:.2f}", flush=True)

    table = []
    print("\n| items | batch | seconds | items/s | tokens/s | peak RSS (GiB) |\n|---|---|---|---|---|---|", flush=True)
    for n in scale:
        for batch in batch_sizes:
            if batch > n and batch != batch_sizes[0]:
                continue
            fresh()
            with PeakRss() as mem:
                tokens, seconds = run_round_synchronous(items[:n], protocol, backend, sampling, batch)
            row = {"items": n, "batch": batch, "seconds": seconds, "items_per_s": n / seconds,
                   "tokens_per_s": rate(tokens, seconds), "peak_rss_gib": mem.peak / 2**30}
            table.append(row)
            print(f"| {n} | {batch} | {seconds:.1f} | {row['items_per_s']:.2f} | {row['tokens_per_s']:.0f} "
                  f"| {row['peak_rss_gib']:.2f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"comparison": comparison, "scaling": table}, indent=1))
    backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
