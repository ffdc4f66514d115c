"""``w2s label``: run a protocol over a set of items with K debate seeds, then judge soft labels.

Output folder::

    DIR/job.json                        settings that decide the transcripts (checked on rerun)
    DIR/items.parquet                   id, question, answer, label, text
    DIR/transcripts/seed<k>/shard-*.parquet   (+ shard-*.timings.json: wall-clock sidecars)
    DIR/labels/judge.json               which judge made the labels
    DIR/labels/seed<k>.parquet          id, prob, failed
    DIR/labels/ensemble.parquet         id, prob (mean over seeds), n_seeds, failed
    DIR/summary.json                    counts, failures, tokens, seconds, throughput

Transcripts come from the pipeline's shard engine (``labeling.exec.shards``) and debate runner;
finished shards and finished label files are kept, so a rerun resumes where the last one stopped.
An item whose transcript failed gets a null label with its failure reason, never a guess.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from labeling.config import EngineConfig
from labeling.exec.backends import vllm_backend_spec
from labeling.exec.hardware import engine_dtype
from labeling.exec.threads import positive_int_or_auto
from labeling.exec.netns import wants_isolation
from labeling.exec.shards import plan_shards, run_spec
from labeling.label.judge_labels import judge_all_seeds, read_seed_transcripts
from labeling.stages.debate_shards import RUNNER as DEBATE_RUNNER
from labeling.stages.debate_shards import timings_path
from labeling.store import atomic_write_parquet, atomic_write_text

log = logging.getLogger("w2s.label")

OPENAI_FACTORY = "labeling.label.job:openai_backend"
SCRIPTED_FACTORY = "labeling.label.job:scripted_backend"
PASSAGE_HEADING = "Passage (hidden from the judge):\n"


def scripted_backend(delay_s: float = 0.0, fail_marker: str | None = None, model_id: str = "scripted",
                     quote_words: int = 0) -> Any:
    """The deterministic fake debater (tests): optional sleep per batch, fails requests mentioning a marker,
    and with ``quote_words`` > 0 opens each turn with a tagged quote of that many passage words (hidden-passage runs)."""
    from debate import ScriptedBackend
    from debate.backends.scripted import default_scripted_reply

    def fail(request: Any) -> str | None:
        text = " ".join(m["content"] for m in request.messages)
        return "scripted_failure: marker in prompt" if fail_marker and fail_marker in text else None

    def reply(request: Any) -> str:
        system = request.messages[0]["content"]
        passage = system.partition(PASSAGE_HEADING)[2].partition("\n\nYou are")[0].split()
        quote = f"<quote>{' '.join(passage[:quote_words])}</quote> " if quote_words and passage else ""
        return quote + default_scripted_reply(request)

    backend = ScriptedBackend(model_id=model_id, fail=fail, reply=reply)
    if delay_s > 0:
        chat = backend.chat

        def slow_chat(requests: Any, sampling: Any) -> Any:
            time.sleep(delay_s)
            return chat(requests, sampling)

        backend.chat = slow_chat  # type: ignore[method-assign]
    return backend


def openai_backend(base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", **kwargs: Any) -> Any:
    """An OpenAIChatBackend whose API key is read from ``api_key_env`` on the actor (never written to disk)."""
    import os

    from debate.backends.openai_http import OpenAIChatBackend

    return OpenAIChatBackend(base_url, model, api_key=os.environ.get(api_key_env) or None, **kwargs)


def load_items(spec: str, source: str | None, data_seed: int, limit: int | None) -> tuple[pd.DataFrame, str]:
    """Items from a registry spec ``name:split`` or a JSONL/Parquet file; returns (frame, dataset name)."""
    from labeling.data.registry import DATASETS, load_items_file, load_rows

    path = Path(spec)
    if path.is_file():
        frame = load_items_file(path).to_pandas()
        dataset = "items"
    else:
        name, sep, split = spec.partition(":")
        if not sep or name not in DATASETS:
            raise ValueError(f"--input {spec!r} is neither a file nor a registry spec like 'sciq:validation' "
                             f"(datasets: {sorted(DATASETS)})")
        frame = load_rows(name, source=source, split=split, data_seed=data_seed, limit=limit).to_pandas()
        dataset = name
    if limit is not None:
        frame = frame.head(limit)
    return frame.reset_index(drop=True), dataset


def read_weak_picks(path: str, ids: list[str]) -> dict[str, int]:
    """Weak picks per item from a parquet/JSONL file with ``id`` and ``pick`` (0/1) or ``prob``."""
    frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_json(path, lines=True)
    if "id" not in frame or not ({"pick", "prob"} & set(frame.columns)):
        raise ValueError(f"{path}: weak picks need columns id and pick (0/1) or prob")
    picks = frame["pick"].astype(int) if "pick" in frame else (frame["prob"] >= 0.5).astype(int)
    table = dict(zip(frame["id"].astype(str), picks.tolist()))
    missing = [i for i in ids if i not in table]
    if missing:
        raise ValueError(f"{path}: no weak pick for {len(missing)} items, e.g. {missing[:3]}")
    return {i: int(table[i]) for i in ids}


def backend_spec(args: argparse.Namespace, model: str | None = None) -> dict[str, Any]:
    """How each actor builds its debater (or, with ``model``, the prompted judge): {factory, kwargs, env}."""
    extra = json.loads(args.backend_kwargs) if args.backend_kwargs else {}
    model = model or args.model
    if args.backend == "scripted":
        return {"factory": SCRIPTED_FACTORY, "kwargs": extra, "env": {}}
    if args.backend == "openai":
        if not args.base_url:
            raise ValueError("--backend openai needs --base-url")
        kwargs = {"base_url": args.base_url, "model": args.model, "api_key_env": args.api_key_env,
                  "max_concurrency": args.max_concurrency, **extra}
        return {"factory": OPENAI_FACTORY, "kwargs": kwargs, "env": {}}
    engine = EngineConfig(dtype=args.dtype, max_model_len=args.max_model_len, kv_cache_gib=args.kv_cache_gib,
                          env={"VLLM_CPU_NUM_OF_RESERVED_CPU": "0"})
    spec = vllm_backend_spec(model, engine, args.num_gpus_per_actor, model_id=model)
    return {**spec.to_dict(), "kwargs": {**spec.kwargs, **extra}}


def job_semantic(args: argparse.Namespace, dataset: str, picks: dict[str, int] | None) -> dict[str, Any]:
    """Everything that changes a transcript; a rerun into the same folder must match it."""
    import hashlib

    from debate import PROMPT_VERSION

    return {
        "input": args.input, "dataset": dataset, "source": args.source, "data_seed": args.data_seed,
        "limit": args.limit, "protocol": args.protocol, "backend": args.backend, "model": args.model,
        "dtype": engine_dtype(args.dtype, args.num_gpus_per_actor) if args.backend == "vllm" else None,
        "sampling": {"temperature": args.temperature, "top_p": args.top_p, "max_tokens": args.max_tokens},
        "word_limit": args.word_limit, "shard_size": args.shard_size, "prompt_version": PROMPT_VERSION,
        "swap_positions": args.swap_positions, "backend_kwargs": args.backend_kwargs,
        "quote_span_words": args.quote_span_words,
        "weak_picks_sha256": None if picks is None else hashlib.sha256(
            json.dumps(picks, sort_keys=True).encode()).hexdigest(),
    }


def check_job(out: Path, semantic: dict[str, Any], items: pd.DataFrame) -> None:
    """Write job.json and items.parquet on the first run; on a rerun, refuse different settings or items."""
    job_path = out / "job.json"
    if job_path.is_file():
        old = json.loads(job_path.read_text())
        changed = sorted(k for k in set(old) | set(semantic) if old.get(k) != semantic.get(k))
        if changed:
            detail = ", ".join(f"{k}: {old.get(k)!r} -> {semantic.get(k)!r}" for k in changed)
            raise ValueError(f"{out} was made with other settings ({detail}); use a new --out")
    else:
        atomic_write_text(job_path, json.dumps(semantic, indent=2, sort_keys=True))
    items_path = out / "items.parquet"
    if items_path.is_file():
        old_items = pd.read_parquet(items_path)
        if old_items[["id", "question", "answer"]].astype(str).values.tolist() != \
                items[["id", "question", "answer"]].astype(str).values.tolist():
            raise ValueError(f"{items_path} holds other items than --input gives now; use a new --out")
    else:
        atomic_write_parquet(items, items_path)


def shard_tasks(out: Path, args: argparse.Namespace, ids: list[str], seed: int,
                picks: dict[str, int] | None) -> list[dict[str, Any]]:
    """One task per ``--shard-size`` slice of the items for debate seed ``seed``."""
    params = {"protocol": args.protocol, "seed": seed, "word_limit": args.word_limit, "swap_positions": args.swap_positions,
              "quote_span_words": args.quote_span_words,
              "sampling": {"temperature": args.temperature, "top_p": args.top_p, "max_tokens": args.max_tokens}}
    return plan_shards(DEBATE_RUNNER, "debate", out / "transcripts" / f"seed{seed}", len(ids), args.shard_size, params,
                       ids=ids, per_item={"weak_picks": picks} if picks is not None else None,
                       items_path=out / "items.parquet")


def failure_kind(reason: str) -> str:
    """The kind of a failure reason: 'turn 1: http_400: bad' -> 'http_400'."""
    parts = [p.strip() for p in reason.split(":")]
    if len(parts) > 1 and parts[0].startswith("turn "):
        parts = parts[1:]
    return parts[0]


def remove_stale_temp_files(out: Path) -> int:
    """Delete temp files a killed run left behind (``.<name>.*.tmp``); returns how many."""
    stale = [p for p in out.rglob(".*.tmp") if p.is_file() and "ray" not in p.relative_to(out).parts[:1]]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def _sidecar(shard: Path) -> dict[str, Any]:
    path = timings_path(shard)
    return json.loads(path.read_text()) if path.is_file() else {}


def summarize(out: Path, items: pd.DataFrame, seeds: list[int], new_shards: list[Path], wall: float,
              labels: dict[str, Any] | None) -> dict[str, Any]:
    """Counts, failures, tokens, seconds and throughput of the whole folder and of this invocation."""
    per_seed: dict[str, Any] = {}
    reasons: dict[str, int] = {}
    for seed in seeds:
        frame = read_seed_transcripts(out, seed, items["id"].astype(str).tolist())
        failed = frame["failed"].dropna()
        for reason in failed:
            kind = failure_kind(str(reason))
            reasons[kind] = reasons.get(kind, 0) + 1
        shards = sorted((out / "transcripts" / f"seed{seed}").glob("shard-*.parquet"))
        per_seed[f"seed{seed}"] = {
            "transcripts": len(frame), "failed": int(len(failed)),
            "prompt_tokens": int(sum(t["prompt_tokens"] for ts in frame["turns"] for t in ts)),
            "completion_tokens": int(sum(t["completion_tokens"] for ts in frame["turns"] for t in ts)),
            "generation_seconds": round(sum(_sidecar(p).get("seconds", 0.0) for p in shards), 3),
        }
    totals = {k: sum(s[k] for s in per_seed.values())
              for k in ("transcripts", "failed", "prompt_tokens", "completion_tokens", "generation_seconds")}
    run_sidecars = [_sidecar(p) for p in new_shards]
    run_items = sum(s.get("n_items", 0) for s in run_sidecars)
    run_tokens = sum(s.get("completion_tokens", 0) for s in run_sidecars)
    return {
        "items": len(items), "seeds": seeds, "per_seed": per_seed, "totals": totals,
        "failure_kinds": reasons,
        "this_run": {"shards_run": len(new_shards), "items_debated": run_items, "completion_tokens": run_tokens,
                     "wall_seconds": round(wall, 3), "items_per_s": round(run_items / max(wall, 1e-9), 3),
                     "completion_tokens_per_s": round(run_tokens / max(wall, 1e-9), 2)},
        "labels": labels,
    }


def run_label_job(args: argparse.Namespace) -> dict[str, Any]:
    """Transcripts for every (item, seed), then judge labels if ``--judge``; returns the summary."""
    from debate import get_protocol

    if args.seeds < 1 or args.shard_size < 1:
        raise ValueError("--seeds and --shard-size must be at least 1")
    started = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if removed := remove_stale_temp_files(out):
        log.info("removed %d temp files left by an interrupted run", removed)
    items, dataset = load_items(args.input, args.source, args.data_seed, args.limit)
    ids = items["id"].astype(str).tolist()
    picks = None
    if args.prompted_judge and args.backend == "openai":
        raise ValueError("--prompted-judge scores constrained logprobs with vLLM: use --backend vllm")
    if get_protocol(args.protocol).stance_rule == "against_weak_pick":
        if not args.weak_picks:
            raise ValueError(f"protocol {args.protocol!r} argues against the weak pick: pass --weak-picks FILE")
        picks = read_weak_picks(args.weak_picks, ids)
    check_job(out, job_semantic(args, dataset, picks), items)
    seeds = list(range(args.seeds))
    tasks = [t for seed in seeds for t in shard_tasks(out, args, ids, seed, picks)]
    pending = [t for t in tasks if not Path(t["out_path"]).exists()]
    log.info("%d items x %d seeds: %d shards, %d to run", len(ids), len(seeds), len(tasks), len(pending))
    isolate = wants_isolation(args.private_network, args.address)
    ray_cfg = {"address": args.address, "num_actors": args.num_actors, "num_cpus_per_actor": args.num_cpus_per_actor,
               "num_gpus_per_actor": args.num_gpus_per_actor, "local_num_cpus": args.local_num_cpus}
    if pending:
        if isolate and args.backend == "openai":
            log.warning("the actors run in a private network namespace (loopback only): a server outside it "
                        "is unreachable; pass --private-network off or --address to use --base-url")
        spec = {"tasks": pending, "backend": backend_spec(args), "ray": ray_cfg, "work_dir": str(out)}
        run_spec(spec, isolate)
    missing = [t["out_path"] for t in pending if not Path(t["out_path"]).exists()]
    if missing:
        raise RuntimeError(f"{len(missing)} shards are missing after the run, e.g. {missing[:3]}")
    new_shards = [Path(t["out_path"]) for t in pending]
    labels = judge_all_seeds(out, Path(args.judge), items, seeds, dataset_hint=dataset,
                             batch_size=args.judge_batch_size, threads=args.judge_threads, dtype=args.judge_dtype,
                             protocol=args.protocol) if args.judge else None
    prompted = None
    if args.prompted_judge:
        from labeling.label.prompted_labels import prompted_label_all_seeds

        judge_spec = backend_spec(args, model=args.prompted_judge)
        prompted = prompted_label_all_seeds(
            out, args.prompted_judge, items, seeds, dataset=dataset, shard_size=args.shard_size,
            run_tasks=lambda tasks: run_spec({"tasks": tasks, "backend": judge_spec, "ray": ray_cfg,
                                              "work_dir": str(out)}, isolate),
        )
    summary = summarize(out, items, seeds, new_shards, time.perf_counter() - started, labels)
    summary["prompted_labels"] = prompted
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    t, r = summary["totals"], summary["this_run"]
    print(f"label: {summary['items']} items x {len(seeds)} seeds = {t['transcripts']} transcripts, {t['failed']} failed, "
          f"{t['completion_tokens']} completion tokens; this run: {r['shards_run']} shards in {r['wall_seconds']:.1f} s "
          f"({r['items_per_s']:.2f} items/s, {r['completion_tokens_per_s']:.1f} tokens/s) -> {out}", file=sys.stderr)
    return summary


def cmd_label(args: argparse.Namespace) -> int:
    """Debate transcripts for many items over K seeds, then the judge's soft labels (resumable)."""
    run_label_job(args)
    return 0


def add_commands(sub: Any) -> None:
    """Add ``label`` to the ``w2s`` subcommands."""
    from debate import PROTOCOLS

    p = sub.add_parser("label", help="batch-generate transcripts and judge labels", description=cmd_label.__doc__)
    p.add_argument("--input", required=True, help="registry spec NAME:SPLIT (e.g. sciq:validation) or a .jsonl/.parquet file")
    p.add_argument("--source", help="local dataset folder for a registry spec (default: the hub)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the registry's candidate draws")
    p.add_argument("--limit", type=int, help="keep the first N items")
    p.add_argument("--protocol", default="debate", choices=sorted(n for n in PROTOCOLS if n != "none"))
    p.add_argument("--seeds", type=int, default=1, help="debate seeds 0..K-1")
    p.add_argument("--out", required=True, help="output folder (a rerun resumes it)")
    p.add_argument("--judge", help="judge stage folder (model/ + stage.json) to label with")
    p.add_argument("--prompted-judge", metavar="MODEL",
                   help="also label with this chat model prompted for a Yes/No verdict (no training; vllm backend)")
    p.add_argument("--judge-batch-size", type=int, default=16)
    p.add_argument("--judge-threads", type=positive_int_or_auto, default="auto",
                   help="torch threads of the judge (default auto: the cores this process may use)")
    p.add_argument("--judge-dtype", default="auto", choices=["auto", "bfloat16", "float32"],
                   help="judge precision (default auto: as trained where the hardware runs it natively, else fp32)")
    p.add_argument("--backend", default="vllm", choices=["vllm", "openai", "scripted"], metavar="{vllm,openai}")
    p.add_argument("--backend-kwargs", help=argparse.SUPPRESS)
    p.add_argument("--model", default="packaged:smollm2-135m-instruct", help="debater: model ref (vllm) or server model name")
    p.add_argument("--base-url", help="OpenAI-compatible server (--backend openai)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument("--max-concurrency", type=int, default=8, help="requests in flight per actor (openai)")
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"],
                   help="vLLM engine precision (default auto: bf16 only where the device runs it natively)")
    p.add_argument("--max-model-len", type=int, default=2048)
    p.add_argument("--kv-cache-gib", type=int, default=2, help="VLLM_CPU_KVCACHE_SPACE on CPU")
    p.add_argument("--max-tokens", type=int, default=96)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--word-limit", type=int, default=60)
    p.add_argument("--swap-positions", action="store_true", help="exchange the debaters' stances (position-bias control)")
    p.add_argument("--quote-span-words", type=int, metavar="K",
                   help="items with evidence: also mark verbatim runs of >= K passage words as verified quotes")
    p.add_argument("--weak-picks", help="file with id + pick|prob (market_making)")
    p.add_argument("--shard-size", type=int, default=64, help="items per shard (one round-synchronous batch)")
    p.add_argument("--address", help="join this Ray cluster (default: start a local one)")
    p.add_argument("--num-actors", type=int, default=1)
    p.add_argument("--num-cpus-per-actor", type=lambda v: v if v == "auto" else float(v), default="auto",
                   help="CPUs each actor reserves (default auto: a local Ray's CPUs shared by the actors)")
    p.add_argument("--num-gpus-per-actor", type=float, default=0.0)
    p.add_argument("--local-num-cpus", type=int, help="CPUs of a local Ray (default: all)")
    p.add_argument("--private-network", default="auto", choices=["auto", "on", "off"])
    p.set_defaults(func=cmd_label)


def main(argv: list[str] | None = None) -> int:
    """``python -m labeling.label.job label ...`` (the same command as ``w2s label``)."""
    parser = argparse.ArgumentParser(prog="w2s")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
