"""``w2s label``: run a protocol over a set of items with K debate seeds, then judge soft labels.

Output folder::

    DIR/job.json                        settings that decide the transcripts (checked on rerun)
    DIR/items.parquet                   id, question, answer, label, text
    DIR/transcripts/seed<k>/shard-*.parquet   (+ shard-*.timings.json: wall-clock sidecars)
    DIR/labels/judge.json               which judge made the labels
    DIR/labels/seed<k>.parquet          id, prob, failed
    DIR/labels/ensemble.parquet         id, prob (mean over seeds), n_seeds, failed
    DIR/summary.json                    counts, failures, tokens, seconds, throughput

The settings are a ``LabelJobConfig`` (``labeling.label.settings``): a YAML file, flags that are
shorthands for its keys, and ``--set``. Transcripts come from the pipeline's shard engine
(``labeling.exec.shards``) and debate runner; finished shards and finished label files are kept,
so a rerun resumes where the last one stopped. An item whose transcript failed gets a null label
with its failure reason, never a guess.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from debate import get_protocol

from labeling.config import add_config_args, load_from_args
from labeling.exec.backends import BackendSpec, block_size_problem
from labeling.exec.netns import wants_isolation
from labeling.exec.shards import ShardTask, plan_shards, run_on_ray
from labeling.label.backends import label_backend_spec
from labeling.label.job_files import check_job, job_semantic, load_items, read_weak_picks
from labeling.label.judge_labels import judge_all_seeds, read_judge
from labeling.label.prompted_labels import prompted_label_all_seeds
from labeling.label.publish import publish_labels
from labeling.label.settings import LABEL_FLAGS, LabelJobConfig
from labeling.label.summary import summarize, summary_line
from labeling.stages.debate_shards import DEBATE_SHARDS, debate_params
from labeling.store import ModelNotFoundError, atomic_write_text, check_model, remove_stale_temps

log = logging.getLogger("w2s.label")


def shard_tasks(cfg: LabelJobConfig, ids: list[str], seed: int, picks: dict[str, int] | None) -> list[ShardTask]:
    """One task per ``debate.shard_size`` slice of the items for debate seed ``seed``."""
    debate, out = cfg.debate, Path(cfg.out)
    params = debate_params(debate, debate.protocol, seed, debate.swap_positions)
    return plan_shards(DEBATE_SHARDS, out / "transcripts" / f"seed{seed}", len(ids), debate.shard_size, params,
                       ids=ids, per_item={"weak_picks": picks} if picks is not None else None,
                       items_path=out / "items.parquet")


def check_backends(cfg: LabelJobConfig) -> None:
    """Refuse combinations that cannot work, and models or judge folders that will not load, before any item is debated."""
    if cfg.prompted_judge is not None and cfg.backend.kind == "openai":
        raise ValueError("the prompted judge scores constrained logprobs with vLLM: use --backend vllm")
    problems = []
    if cfg.backend.kind == "openai":
        url = urlparse(cfg.backend.base_url or "")
        if url.scheme not in ("http", "https") or not url.netloc:
            problems.append(f"  --base-url: backend openai needs the server's URL starting with http:// or https:// "
                            f"(got {cfg.backend.base_url!r})")
    if cfg.backend.kind == "vllm":  # other backends name models a server (or a test's script) knows
        problems.append(_model_problem("--model", cfg.backend.model))
        if block_problem := block_size_problem(cfg.debate.engine, cfg.ray.num_gpus_per_actor):
            problems.append(f"  --block-size / {block_problem}")
        if cfg.prompted_judge is not None:
            problems.append(_model_problem("--prompted-judge", cfg.prompted_judge.model.path))
    if cfg.judge.path:
        try:
            read_judge(Path(cfg.judge.path))
        except (ValueError, FileNotFoundError) as exc:
            problems.append(f"  --judge: {exc}")
    if problems := [p for p in problems if p]:
        raise ValueError("this job cannot run; nothing was started:\n" + "\n".join(problems))
    if cfg.backend.kind == "openai" and wants_isolation(cfg.ray.private_network, cfg.ray.address):
        log.warning("the actors run in a private network namespace (loopback only): a server outside it "
                    "is unreachable; pass --private-network off or --address to use --base-url")


def _model_problem(flag: str, ref: str) -> str | None:
    """One line saying why model ``ref`` (given by ``flag``) will not load, or None."""
    try:
        check_model(ref)
    except ModelNotFoundError as exc:
        return f"  {flag}: {exc}"
    return None


def run_shards(cfg: LabelJobConfig, tasks: list[ShardTask], backend: BackendSpec) -> None:
    """Run the unfinished ``tasks`` on the configured Ray actors; an error if any shard is still missing."""
    pending = [t for t in tasks if not t.done]
    if not pending:
        return
    run_on_ray(pending, backend, cfg.ray, cfg.out)
    missing = [t.out_path for t in pending if not t.done]
    if missing:
        raise RuntimeError(f"{len(missing)} shards are missing after the run, e.g. {missing[:3]}")


def run_label_job(cfg: LabelJobConfig) -> dict[str, Any]:
    """Transcripts for every (item, seed), then trained and/or prompted judge labels; returns the summary."""
    started = time.perf_counter()
    out = Path(cfg.out)
    check_backends(cfg)  # before the folder exists: a typo leaves nothing behind
    items, dataset = load_items(cfg.input)  # so are unreadable items or weak picks
    ids = items["id"].astype(str).tolist()
    picks = None
    if get_protocol(cfg.debate.protocol).stance_rule == "against_weak_pick":
        if not cfg.debate.weak_picks:
            raise ValueError(f"protocol {cfg.debate.protocol!r} argues against the weak pick: pass --weak-picks FILE")
        picks = read_weak_picks(cfg.debate.weak_picks, ids)
    out.mkdir(parents=True, exist_ok=True)
    if removed := remove_stale_temps(out):
        log.info("removed %d temp files left by an interrupted run", removed)
    check_job(out, job_semantic(cfg, dataset, picks), items)
    seeds = list(range(cfg.debate.seeds))
    tasks = [t for seed in seeds for t in shard_tasks(cfg, ids, seed, picks)]
    new_shards = [Path(t.out_path) for t in tasks if not t.done]
    log.info("%d items x %d seeds: %d shards, %d to run", len(ids), len(seeds), len(tasks), len(new_shards))
    run_shards(cfg, tasks, label_backend_spec(cfg))
    judge = cfg.judge
    labels = judge_all_seeds(out, Path(judge.path), items, seeds, dataset_hint=dataset, batch_size=judge.batch_size,
                             threads=judge.threads, dtype=judge.dtype, protocol=cfg.debate.protocol) if judge.path else None
    prompted = None
    if cfg.prompted_judge is not None:
        model = cfg.prompted_judge.model.path
        prompted = prompted_label_all_seeds(
            out, model, items, seeds, dataset=dataset, shard_size=cfg.debate.shard_size,
            choices=cfg.prompted_judge.choices,
            run_tasks=lambda tasks: run_shards(cfg, tasks, label_backend_spec(cfg, model=model)),
        )
    summary = summarize(out, items, seeds, new_shards, time.perf_counter() - started, labels)
    summary["prompted_labels"] = prompted
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    publish_labels(out, items, seeds, summary)  # dataset/labels.parquet and the dataset card README.md
    print(summary_line(summary, out), file=sys.stderr)
    return summary


def cmd_label(args: argparse.Namespace) -> int:
    """Debate transcripts for many items over K seeds, then the judge's soft labels (resumable)."""
    run_label_job(load_from_args(LabelJobConfig, args, LABEL_FLAGS))
    return 0


def add_commands(sub: Any) -> None:
    """Add ``label`` to the ``w2s`` subcommands."""
    p = sub.add_parser(
        "label", help="batch-generate transcripts and judge labels", description=cmd_label.__doc__,
        epilog="Every flag sets the config key in brackets; --set reaches any key of the label config.",
    )
    add_config_args(p, LABEL_FLAGS, optional=True)
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
