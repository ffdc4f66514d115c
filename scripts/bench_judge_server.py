"""Benchmark the judge server on loopback: micro-batching vs one-by-one, and a memory soak.

Starts ``w2s serve-judge`` twice on 127.0.0.1 (``--max-batch 32 --max-wait-ms 5`` and
``--max-batch 1``), drives single-item requests at concurrency 1, 8 and 32 and prints
p50/p95/p99 latency and requests/s, then the ratios the issue asks for. ``--soak SECONDS``
keeps the batched server at full load and samples its RSS every 10 s. Everything is bounded
(requests per level, seconds per level) and stops its servers at the end.

    python scripts/bench_judge_server.py --tiny --requests 300
    python scripts/bench_judge_server.py --judge runs/artifacts/judge-debate-s0-<hash> --soak 600
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
ITEM = {"question": "what type of energy is stored in water held behind a dam", "answer": "potential energy"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_judge(workdir: Path) -> Path:
    """A toy judge on the tests' tiny random Llama (no downloads)."""
    spec = importlib.util.spec_from_file_location("w2s_test_conftest", REPO / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    from labeling.serve.toy_judge import make_toy_judge

    base = module.build_tiny_checkpoint(workdir / "tiny")
    return make_toy_judge(workdir / "runs", base)


def toy_judge_from(base_model: Path, layers: int | None, workdir: Path) -> Path:
    """A toy judge trained briefly from a real checkpoint (optionally cut to ``layers`` layers)."""
    from labeling.serve.toy_judge import make_toy_judge

    if layers is not None:
        from training import load_classifier, ModelSpec

        model, tokenizer = load_classifier(ModelSpec(str(base_model), num_hidden_layers=layers), num_labels=2)
        base_model = workdir / f"base-{layers}-layers"
        model.save_pretrained(base_model)
        tokenizer.save_pretrained(base_model)
    return make_toy_judge(workdir / "runs", base_model, max_length=128)


class Server:
    """One ``serve-judge`` subprocess on loopback, stopped with SIGTERM on exit."""

    def __init__(self, judge: Path, key: str, max_batch: int, max_wait_ms: float, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "labeling.serve.commands", "serve-judge", "--judge", str(judge),
                "--host", "127.0.0.1", "--port", str(self.port), "--max-batch", str(max_batch),
                "--max-wait-ms", str(max_wait_ms)]
        env = {**os.environ, "W2S_JUDGE_API_KEYS": key, "PYTHONPATH": str(REPO), "TQDM_DISABLE": "1"}
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early; see {log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not start within 180 s; see {log}")

    def rss_mib(self) -> float:
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


async def load(url: str, key: str, concurrency: int, requests: int, max_seconds: float) -> dict:
    """``requests`` single-item calls from ``concurrency`` workers (or until ``max_seconds``)."""
    latencies: list[float] = []
    errors = 0
    left = requests
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"},
                                 limits=limits, timeout=60) as client:
        async def worker() -> None:
            nonlocal left, errors
            while left > 0 and time.monotonic() < deadline:
                left -= 1
                started = time.perf_counter()
                response = await client.post("/v1/judge", json={"items": [ITEM]})
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - began
    ms = np.array(latencies) * 1000
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "req_per_s": len(latencies) / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


async def soak(server: Server, key: str, seconds: float, concurrency: int) -> list[dict]:
    """Full load for ``seconds``; RSS sampled every 10 s."""
    samples = [{"t_s": 0.0, "rss_mib": server.rss_mib()}]
    started = time.monotonic()
    stop = started + seconds
    task = asyncio.create_task(load(server.url, key, concurrency, 10**9, seconds))
    while time.monotonic() < stop:
        await asyncio.sleep(min(10.0, max(0.0, stop - time.monotonic())))
        samples.append({"t_s": round(time.monotonic() - started, 1), "rss_mib": server.rss_mib()})
        print(f"  soak t={samples[-1]['t_s']:6.1f}s rss={samples[-1]['rss_mib']:.1f} MiB", flush=True)
    result = await task
    samples[-1]["load"] = result
    return samples


def table(name: str, rows: list[dict]) -> None:
    print(f"\n{name}")
    print(f"{'conc':>5} {'req':>6} {'err':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for r in rows:
        print(f"{r['concurrency']:>5} {r['requests']:>6} {r['errors']:>4} {r['req_per_s']:>8.1f} "
              f"{r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--judge", type=Path, help="a judge stage folder or results folder")
    source.add_argument("--tiny", action="store_true", help="train a toy judge on a tiny random model")
    source.add_argument("--base-model", type=Path, help="train a toy judge from this HF checkpoint (e.g. SmolLM2)")
    parser.add_argument("--layers", type=int, default=None, help="keep the first N layers of --base-model")
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--soak", type=float, default=0.0, help="soak seconds at full load (e.g. 600); 0 = none")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="w2s-bench-"))
    if args.tiny:
        judge = tiny_judge(workdir)
    elif args.base_model:
        judge = toy_judge_from(args.base_model, args.layers, workdir)
    else:
        judge = args.judge
    key = secrets.token_urlsafe(24)
    report: dict = {"judge": str(judge), "item": ITEM}
    for name, batch, wait in (("unbatched", 1, 0.0), ("batched", 32, 5.0)):
        server = Server(judge, key, batch, wait, workdir / f"{name}.log")
        try:
            asyncio.run(load(server.url, key, 4, 20, 30))  # warm-up
            rows = [asyncio.run(load(server.url, key, c, args.requests, args.max_seconds)) for c in args.concurrency]
            report[name] = {"max_batch": batch, "max_wait_ms": wait, "levels": rows}
            table(f"{name} (max_batch={batch}, max_wait_ms={wait})", rows)
            if name == "batched" and args.soak > 0:
                report["soak"] = asyncio.run(soak(server, key, args.soak, max(args.concurrency)))
        finally:
            report[name + "_exit_code"] = server.stop()
    top = max(args.concurrency)
    by = {n: {r["concurrency"]: r for r in report[n]["levels"]} for n in ("batched", "unbatched")}
    if top in by["batched"] and 1 in by["unbatched"]:
        speedup = by["batched"][top]["req_per_s"] / by["unbatched"][top]["req_per_s"]
        p95_ratio = by["batched"][top]["p95_ms"] / by["unbatched"][1]["p50_ms"]
        report["ratios"] = {f"batched_over_unbatched_req_per_s_at_{top}": speedup,
                            f"batched_p95_at_{top}_over_single_request_p50": p95_ratio}
        print(f"\nbatched/unbatched req/s at concurrency {top}: {speedup:.2f}x")
        print(f"batched p95 at concurrency {top} / single-request latency: {p95_ratio:.2f}x")
    if "soak" in report:
        rss = [s["rss_mib"] for s in report["soak"]]
        print(f"soak RSS MiB: start {rss[0]:.1f}, after first sample {rss[min(1, len(rss) - 1)]:.1f}, end {rss[-1]:.1f}, max {max(rss):.1f}")
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
