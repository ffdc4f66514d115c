"""bf16 vs fp32 on this machine: matmul, training, prediction and vLLM generation, and what ``auto`` picks.

Not a test: it prints throughput per precision and the bf16/fp32 ratio, so the precision
``dtype: auto`` chose can be checked against what the machine actually runs fast. The vLLM rows
run each precision in its own process with a time limit (on AVX2-only CPUs bf16 generation may
not finish at all). Example (about 3-6 minutes on 2 cores):

    .venv/bin/python scripts/bench_precision.py
    W2S_ASSUME_NO_BF16=1 .venv/bin/python scripts/bench_precision.py --skip-vllm   # the fp32 path
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_MODEL = ROOT / ".cache" / "models" / "smollm2-135m-instruct"
PRECISIONS = {"bf16": "bfloat16", "fp32": "float32"}


def matmul_gflops(dtype_name: str, size: int = 1024, seconds: float = 1.0) -> float:
    """One-thread ``size x size`` matmul throughput in GFLOP/s."""
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    with_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a @ b
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            a @ b
            count += 1
    finally:
        torch.set_num_threads(with_threads)
    return 2 * size**3 * count / elapsed / 1e9


def training_rates(model_dir: Path, layers: int, tokens: int, batch: int, repeats: int) -> dict[str, tuple[float, float]]:
    """precision -> (train examples/s, predict examples/s), one thread, one batch of ``tokens``-token texts."""
    import torch
    from bench_training import bench_cell, texts_of_length

    from training.models import ModelSpec, load_classifier
    from training.runtime import torch_threads

    torch.manual_seed(0)
    model, tokenizer = load_classifier(ModelSpec(str(model_dir), num_hidden_layers=layers or None))
    seqs = texts_of_length(tokenizer, batch, tokens)
    rates = {}
    for name in PRECISIONS:
        with torch_threads(1):
            rates[name] = bench_cell(model, seqs, model.config.pad_token_id, name == "bf16", repeats)
    return rates


def vllm_worker(model_dir: str, dtype: str, requests: int, new_tokens: int, debate_items: int) -> None:
    """(Child process) one engine: ``requests`` x ``new_tokens`` short generations in one batch, then a
    3-turn debate over ``debate_items`` SciQ items (the quickstart's sampling); print JSON."""
    from dataclasses import replace

    from debate import DebateItem, SamplingConfig, VLLMChatBackend, get_protocol, run_protocol
    from labeling.data.registry import load_rows

    backend = VLLMChatBackend(model_dir, dtype=dtype, max_model_len=2048, enforce_eager=True)
    llm = backend._llm
    from vllm import SamplingParams

    prompts = [[{"role": "user", "content": f"Write about topic number {i} in science."}] for i in range(requests)]
    params = SamplingParams(max_tokens=new_tokens, min_tokens=new_tokens, temperature=0.7, seed=0)
    start = time.perf_counter()
    outputs = llm.chat(prompts, params, use_tqdm=False)
    seconds = time.perf_counter() - start
    result = {"generate_tok_s": sum(len(o.outputs[0].token_ids) for o in outputs) / seconds}
    if debate_items:
        rows = load_rows("sciq", source=ROOT.parent / "shared" / "data" / "sciq", split="train", limit=debate_items)
        items = [DebateItem(item_id=r["id"], question=r["question"], answer=r["answer"]) for r in rows]
        protocol = replace(get_protocol("debate"), word_limit=35)
        start = time.perf_counter()
        transcripts = run_protocol(items, protocol, backend, seed=0,
                                   sampling=SamplingConfig(temperature=0.7, top_p=0.95, max_tokens=48))
        seconds = time.perf_counter() - start
        tokens = sum(turn.completion_tokens for t in transcripts for turn in t.turns)
        result |= {"debate_tok_s": tokens / seconds, "debate_items_s": len(items) / seconds}
    print("RESULT " + json.dumps(result), flush=True)


def vllm_rates(model_dir: Path, dtype: str, args: argparse.Namespace) -> dict[str, float] | None:
    """Generation and debate rates of a fresh engine in ``dtype``, or None when it did not finish in time."""
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2"),
               VLLM_CPU_NUM_OF_RESERVED_CPU=os.environ.get("VLLM_CPU_NUM_OF_RESERVED_CPU", "0"))
    argv = [sys.executable, __file__, "--vllm-worker", dtype, "--model", str(model_dir), "--requests",
            str(args.requests), "--new-tokens", str(args.new_tokens), "--debate-items", str(args.debate_items)]
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=args.vllm_timeout,
                                start_new_session=True)
    except subprocess.TimeoutExpired:
        return None
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"vLLM {dtype} run failed:\n{result.stderr[-3000:]}")


def ratio(bf16: float | None, fp32: float | None) -> str:
    """bf16/fp32 as text; a bf16 run that did not finish is reported as such."""
    if bf16 is None or fp32 is None:
        return "n/a"
    return f"{bf16 / fp32:.2f}x"


def fmt(value: float | None, limit: float) -> str:
    """A rate, or 'not finished in N s'."""
    return f"{value:.2f}" if value is not None else f"not finished in {limit:.0f} s"


def main() -> None:
    """Measure and print the table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--layers", type=int, default=8, help="training/prediction: first N layers (0 = all)")
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--debate-items", type=int, default=64, help="3-turn debates per precision (0 = none)")
    parser.add_argument("--vllm-timeout", type=float, default=400.0, help="seconds per precision's engine run")
    parser.add_argument("--skip-vllm", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--vllm-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.vllm_worker:
        vllm_worker(str(args.model), args.vllm_worker, args.requests, args.new_tokens, args.debate_items)
        return

    import torch

    from labeling.exec.hardware import cpu_model_name, read_cpu_flags, resolve_precision
    from labeling.exec.threads import available_cores

    flags = read_cpu_flags() or frozenset()
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    auto = resolve_precision("auto", "cpu", "benchmark")
    print(f"CPU: {cpu_model_name()} | {available_cores()} cores | flags: {' '.join(shown) or 'unknown'} | torch {torch.__version__}")
    print(f"dtype: auto picks {auto.dtype} here ({auto.reason})\n")

    rows: list[tuple[str, float | None, float | None, str]] = []
    rows.append(("matmul 1024x1024, 1 thread (GFLOP/s)", matmul_gflops("bfloat16"), matmul_gflops("float32"), ""))
    rates = training_rates(args.model, args.layers, args.tokens, args.batch_size, args.repeats)
    what = f"{args.layers or 'all'} layers, {args.tokens} tokens, batch {args.batch_size}, 1 thread"
    rows.append((f"train examples/s ({what})", rates["bf16"][0], rates["fp32"][0], ""))
    rows.append((f"predict examples/s ({what})", rates["bf16"][1], rates["fp32"][1], ""))
    if not args.skip_vllm:
        fp32 = vllm_rates(args.model, "float32", args) or {}
        bf16 = vllm_rates(args.model, "bfloat16", args) or {}
        rows.append((f"vLLM tok/s ({args.requests} requests x {args.new_tokens} new tokens)",
                     bf16.get("generate_tok_s"), fp32.get("generate_tok_s"), ""))
        if args.debate_items:
            rows.append((f"vLLM debate tok/s ({args.debate_items} SciQ items, 3 turns, <= 48 tokens)",
                         bf16.get("debate_tok_s"), fp32.get("debate_tok_s"), ""))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}} | {'bf16':>22} | {'fp32':>22} | bf16/fp32")
    print(f"{'-' * width}-|-{'-' * 22}-|-{'-' * 22}-|----------")
    for name, bf16, fp32, _ in rows:
        print(f"{name:<{width}} | {fmt(bf16, args.vllm_timeout):>22} | {fmt(fp32, args.vllm_timeout):>22} | {ratio(bf16, fp32)}")
    # A model row agrees when the chosen precision is within 10% of the faster one (or faster).
    chosen = 1 if auto.dtype == "bfloat16" else 2
    model_rows = [r for r in rows[1:] if r[1] is not None and r[2] is not None]
    slower = [r[0] for r in model_rows if r[chosen] < 0.9 * max(r[1], r[2])]
    verdict = "no model row is more than 10% slower in it" if not slower else f"SLOWER in it: {'; '.join(slower)}"
    print(f"\nauto chose {auto.dtype}: {verdict}")
    if args.json:
        payload = {"cpu": cpu_model_name(), "flags": shown, "auto": auto.dtype, "reason": auto.reason,
                   "rows": [{"measure": r[0], "bf16": r[1], "fp32": r[2]} for r in rows]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
