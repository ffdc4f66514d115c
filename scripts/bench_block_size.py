"""Hidden-passage debate speed vs vLLM's KV-cache block size (``debate.engine.block_size``; not a test).

Each debater turn of a hidden-passage debate repeats the item's passage in its prompt, and with
``quote_pick`` every turn is two requests (the constrained sentence pick, then the argument), so the
engine sees the same long prefix four times per single-critique item. Prefix caching reuses only
whole KV blocks; vLLM-CPU's default block is 128 tokens, so a smaller block reuses more of each
prompt. This runs the quickstart's debate settings (single critique, 24-word turns of at most 32
tokens, quote pick, quotes of >= 5 passage words) over SciQ items with a support paragraph, once per
block size in a fresh engine process (interleaved when repeated), and prints seconds, items/s,
speed relative to the first block size, and whether every turn's text equals the first run's.
Example (vLLM-CPU, 64 items, fp32 as on an AVX2-only CPU, about 3 minutes per run on 2 cores)::

    W2S_CACHE_DIR=.cache .venv/bin/python scripts/bench_block_size.py --blocks 128,32 --repeats 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_quote_prefill import SCIQ, load_evidence_items  # noqa: E402


def worker(args: argparse.Namespace) -> None:
    """(Child process) one engine with ``--block`` (0: the engine's default); print one RESULT line of JSON."""
    from debate import SamplingConfig, VLLMChatBackend, get_protocol, run_protocol
    from labeling.store import resolve_model

    items = load_evidence_items(args.items, Path(args.source))
    engine_kwargs = {"block_size": args.block} if args.block else {}
    backend = VLLMChatBackend(resolve_model(args.model), dtype=args.dtype, max_model_len=2048, **engine_kwargs)
    protocol = replace(get_protocol("single_critique"), word_limit=24)
    sampling = SamplingConfig(temperature=0.7, top_p=0.95, max_tokens=32)
    start = time.perf_counter()
    transcripts = run_protocol(items, protocol, backend, seed=0, sampling=sampling, quote_span_words=5, quote_pick=True)
    seconds = time.perf_counter() - start
    texts = "\n".join(turn.text for t in transcripts for turn in t.turns)
    print("RESULT " + json.dumps({"seconds": seconds, "digest": hashlib.sha256(texts.encode()).hexdigest()}), flush=True)


def run_one(block: int, args: argparse.Namespace) -> dict[str, float | str]:
    """Debate seconds and transcript digest of a fresh engine with KV blocks of ``block`` tokens."""
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2"),
               VLLM_CPU_NUM_OF_RESERVED_CPU=os.environ.get("VLLM_CPU_NUM_OF_RESERVED_CPU", "0"),
               TOKENIZERS_PARALLELISM="false")
    argv = [sys.executable, __file__, "--worker", "--block", str(block), "--items", str(args.items),
            "--dtype", args.dtype, "--model", args.model, "--source", str(args.source)]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, start_new_session=True)
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"block size {block} failed:\n{result.stderr[-3000:]}")


def main() -> None:
    """Parse arguments; run every block size ``--repeats`` times, interleaved; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", default="128,32", help="comma-separated block sizes (0: the engine's default)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--items", type=int, default=64, help="items debated in one batch (the quickstart's shard)")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--model", default="packaged:smollm2-135m-instruct")
    parser.add_argument("--source", default=str(SCIQ))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--block", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    blocks = [int(b) for b in args.blocks.split(",")]
    runs: dict[int, list[dict]] = {b: [] for b in blocks}
    for repeat in range(args.repeats):
        for block in blocks:
            runs[block].append(run_one(block, args))
            print(f"repeat {repeat + 1}, block {block}: {runs[block][-1]['seconds']:.1f} s", flush=True)
    base_seconds = min(r["seconds"] for r in runs[blocks[0]])
    base_digest = runs[blocks[0]][0]["digest"]
    print(f"\n{args.items} items, single critique with quote pick, {args.dtype}; best of {args.repeats}")
    print("block | seconds (each run)   | items/s | speed vs first | same turns as first")
    for block in blocks:
        best = min(r["seconds"] for r in runs[block])
        each = ", ".join(f"{r['seconds']:.1f}" for r in runs[block])
        same = all(r["digest"] == base_digest for r in runs[block])
        print(f"{block or 'default':>5} | {each:<20} | {args.items / best:7.3f} | {base_seconds / best:13.2f}x | {same}")


if __name__ == "__main__":
    main()
