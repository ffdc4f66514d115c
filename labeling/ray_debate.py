"""Run debate shards on Ray actors, each owning one chat engine (one vLLM engine per GPU).

The work is a list of shard tasks (protocol, debate seed, a slice of the items); an
``ActorPool`` hands each idle actor one shard at a time, so at most one shard per actor
is in flight (backpressure). Each shard's transcripts are written atomically to their
own parquet file; a finished shard file is never redone, so a rerun after a crash
resumes without losing or duplicating an (item, seed).

A shard file holds only what the inputs determine (rows in item order, provenance, no
clock readings), so the same task always writes the same bytes with a deterministic
backend. Wall-clock timings go to a sidecar ``<shard>.timings.json`` written just before
the shard; the turns' ``seconds`` inside the shard are NaN.

``python -m labeling.ray_debate SPEC.json`` runs a spec in a separate process; the CLI
starts it inside a private network namespace when a local Ray needs one (see netns).
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import re
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from labeling.artifacts import atomic_write_text
from labeling.hardware import actor_cpus, available_cores

log = logging.getLogger("labeling.ray_debate")

TOOL_DISTRIBUTION = "w2s-debate"
TIMINGS_SUFFIX = ".timings.json"
_HF_SNAPSHOT = re.compile(r"/snapshots/([0-9a-f]{40})(?:/|$)")


def load_factory(dotted: str) -> Any:
    """Import ``module:attribute`` (the backend class or factory named in a spec)."""
    module_name, _, attribute = dotted.partition(":")
    if not attribute:
        raise ValueError(f"backend factory {dotted!r} must look like 'package.module:callable'")
    return getattr(importlib.import_module(module_name), attribute)


def tool_version() -> str:
    """The installed version of this tool (``unknown`` when run from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(TOOL_DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def backend_provenance(backend: Any) -> dict[str, Any]:
    """What identifies the generator: backend class, model revision if known, vLLM version if vLLM."""
    cls = type(backend)
    vllm_version = None
    if cls.__name__ == "VLLMChatBackend" or "vllm" in cls.__module__:
        module = sys.modules.get("vllm")
        vllm_version = getattr(module, "__version__", None)
    model_id = str(getattr(backend, "model_id", ""))
    revision = getattr(backend, "model_revision", None)
    if revision is None:  # a hub cache path names its commit: .../snapshots/<sha>/
        match = _HF_SNAPSHOT.search(model_id)
        revision = match.group(1) if match else None
    return {
        "backend": f"{cls.__module__}.{cls.__qualname__}",
        "model_revision": revision,
        "vllm_version": None if vllm_version is None else str(vllm_version),
        "dtype": getattr(backend, "dtype", None),
    }


def shard_arrow_schema() -> Any:
    """Schema of a shard file: the transcript record plus per-row provenance of the shard task."""
    import pyarrow as pa

    from debate import transcript_arrow_schema

    extra = [
        ("word_limit", pa.int64()),
        ("weak_pick", pa.int64()),
        ("tool_version", pa.string()),
        ("backend", pa.string()),
        ("model_revision", pa.string()),
        ("vllm_version", pa.string()),
        ("dtype", pa.string()),
    ]
    base = transcript_arrow_schema()
    return pa.schema(list(base) + [pa.field(name, kind) for name, kind in extra])


def write_parquet_atomic(rows: list[dict[str, Any]], path: Path, schema: Any = None) -> None:
    """Rows -> parquet at ``path`` (default: the shard schema) via temp file, fsync, rename.

    No pandas metadata and no clock: the same rows always give the same bytes.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=shard_arrow_schema() if schema is None else schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def timings_path(shard_path: Path) -> Path:
    """The sidecar holding a shard's wall-clock timings."""
    return shard_path.with_name(shard_path.name.removesuffix(".parquet") + TIMINGS_SUFFIX)


def run_shard(backend: Any, task: dict[str, Any]) -> dict[str, Any]:
    """Debate one shard with ``backend`` and write its transcripts; returns a summary.

    Task keys: protocol, seed, items_path, start, stop, out_path, sampling, word_limit,
    and optionally ``weak_picks`` (item id -> 0/1, for the shard's items; market-making)
    and ``swap_positions`` (default False). Skips the work when the shard file already
    exists (it is only ever renamed into place complete).
    """
    from dataclasses import replace

    from debate import DebateItem, SamplingConfig, Transcript, get_protocol, run_protocol

    out_path = Path(task["out_path"])
    if out_path.exists():
        return {"shard": out_path.name, "n_items": task["stop"] - task["start"], "skipped": True}
    items_frame = pd.read_parquet(task["items_path"]).iloc[task["start"] : task["stop"]]
    items = [
        DebateItem(item_id=str(r.id), question=str(r.question), answer=str(r.answer))
        for r in items_frame.itertuples(index=False)
    ]
    weak_picks = {str(k): int(v) for k, v in (task.get("weak_picks") or {}).items()}
    swap = bool(task.get("swap_positions", False))
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    started = time.perf_counter()
    round_ends: list[float] = []

    def report_turn(turn_index: int, n_turns: int) -> None:
        round_ends.append(time.perf_counter() - started)
        log.info(
            "%s: round %d/%d done for %d items (%.0f s)",
            out_path.name, turn_index + 1, n_turns, len(items), round_ends[-1],
        )

    transcripts: list[Transcript] = run_protocol(
        items,
        replace(get_protocol(task["protocol"]), word_limit=int(task["word_limit"])),
        backend,
        seed=int(task["seed"]),
        sampling=SamplingConfig(**task["sampling"]),
        on_turn=report_turn,
        weak_picks=weak_picks or None,
        swap_positions=swap,
    )
    seconds = time.perf_counter() - started
    provenance = {"word_limit": int(task["word_limit"]), "tool_version": tool_version(), **backend_provenance(backend)}
    rows = []
    for transcript in transcripts:
        record = transcript.to_record()
        record["turns"] = [{**turn, "seconds": math.nan} for turn in record["turns"]]  # clock -> sidecar
        rows.append({**record, **provenance, "weak_pick": weak_picks.get(transcript.item_id)})
    completion = sum(turn.completion_tokens for t in transcripts for turn in t.turns)
    prompt = sum(turn.prompt_tokens for t in transcripts for turn in t.turns)
    failed = sum(t.failed is not None for t in transcripts)
    summary = {
        "shard": out_path.name,
        "n_items": len(items),
        "failed": failed,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "seconds": seconds,
        "skipped": False,
    }
    sidecar = {
        **summary,
        "started_at": started_at,
        "host": socket.gethostname(),
        "round_seconds": [b - a for a, b in zip([0.0, *round_ends], round_ends)],
        "turn_seconds": {t.item_id: [turn.seconds for turn in t.turns] for t in transcripts},
    }
    atomic_write_text(timings_path(out_path), json.dumps(sidecar, indent=1))
    write_parquet_atomic(rows, out_path)
    return summary


def run_task(backend: Any, task: dict[str, Any]) -> dict[str, Any]:
    """Run one task: a debate shard, or (``kind: prompted_judge``) a shard of prompted-judge verdicts."""
    if task.get("kind") == "prompted_judge":
        from labeling.prompted_stage import run_prompted_shard

        return run_prompted_shard(backend, task)
    return run_shard(backend, task)


def _actor_class() -> Any:
    import ray

    @ray.remote
    class DebateActor:
        """Holds one chat engine for its lifetime and debates shards with it."""

        def __init__(self, factory: str, kwargs: dict[str, Any], env: dict[str, str]) -> None:
            os.environ.update(env)
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            self.backend = load_factory(factory)(**kwargs)

        def run(self, task: dict[str, Any]) -> dict[str, Any]:
            return run_task(self.backend, task)

    return DebateActor


def _ray_temp_dir(spec: dict[str, Any]) -> str:
    """A short temp folder for Ray (its unix socket paths must stay under ~107 bytes)."""
    preferred = Path(spec["work_dir"]) / "ray"
    if len(str(preferred)) <= 48:
        preferred.mkdir(parents=True, exist_ok=True)
        return str(preferred)
    return tempfile.mkdtemp(prefix="w2s-ray-")


def _rates(totals: dict[str, Any], elapsed: float) -> dict[str, float]:
    elapsed = max(elapsed, 1e-9)
    return {"items_per_s": totals["items"] / elapsed, "tokens_per_s": totals["completion_tokens"] / elapsed}


def summary_line(totals: dict[str, Any]) -> str:
    """One human line: shards, items, failures, tokens, seconds, throughput."""
    return (
        f"debate: {totals['shards_run']} shards run ({totals['shards'] - totals['shards_run']} already done), "
        f"{totals['items']} items, {totals['failed']} failed, {totals['completion_tokens']} completion tokens "
        f"in {totals['seconds']:.1f} s: {totals['items_per_s']:.2f} items/s, {totals['tokens_per_s']:.1f} tokens/s"
    )


def execute_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Run every unfinished shard task of ``spec`` on Ray actors; returns totals.

    ``spec`` keys: ``tasks`` (list of shard tasks), ``backend`` ({factory, kwargs, env}),
    ``ray`` (RayConfig as a dict), ``work_dir``. Logs and prints a summary line at the end.
    """
    tasks = [t for t in spec["tasks"] if not Path(t["out_path"]).exists()]
    totals: dict[str, Any] = {
        "shards": len(spec["tasks"]), "shards_run": 0, "items": 0, "failed": 0,
        "prompt_tokens": 0, "completion_tokens": 0, "seconds": 0.0,
    }
    started = time.perf_counter()
    if tasks:
        _run_tasks(spec, tasks, totals, started)
    totals["seconds"] = time.perf_counter() - started
    totals.update(_rates(totals, totals["seconds"]))
    line = summary_line(totals)
    log.info("%s", line)
    print(line, file=sys.stderr, flush=True)
    return totals


def _run_tasks(spec: dict[str, Any], tasks: list[dict[str, Any]], totals: dict[str, Any], started: float) -> None:
    """Start (or join) Ray, run ``tasks`` on an actor pool, accumulate into ``totals``."""
    import ray
    from ray.util import ActorPool

    ray_cfg = spec["ray"]
    owns_ray = not ray.is_initialized()
    if owns_ray:
        if ray_cfg.get("address"):
            ray.init(address=ray_cfg["address"], log_to_driver=True)
        else:
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(
                num_cpus=ray_cfg.get("local_num_cpus") or available_cores(),
                include_dashboard=False,
                _temp_dir=_ray_temp_dir(spec),
                log_to_driver=True,
            )
    try:
        backend = spec["backend"]
        cpus = actor_cpus(ray_cfg["num_cpus_per_actor"], ray_cfg["num_actors"], ray_cfg.get("local_num_cpus"),
                          bool(ray_cfg.get("address")))
        actor_cls = _actor_class().options(num_cpus=cpus, num_gpus=ray_cfg["num_gpus_per_actor"])
        n_actors = min(ray_cfg["num_actors"], len(tasks))
        actors = [actor_cls.remote(backend["factory"], backend.get("kwargs", {}), backend.get("env", {})) for _ in range(n_actors)]
        pool = ActorPool(actors)
        total_items = sum(t["stop"] - t["start"] for t in tasks)
        with tqdm(total=total_items, desc="debate items", unit="item", file=sys.stderr) as bar:
            for result in pool.map_unordered(lambda actor, task: actor.run.remote(task), tasks):
                totals["shards_run"] += 1
                totals["items"] += result["n_items"]
                for key in ("failed", "prompt_tokens", "completion_tokens"):
                    totals[key] += result.get(key, 0)
                bar.update(result["n_items"])
                rates = _rates(totals, time.perf_counter() - started)
                bar.set_postfix(
                    items_s=f"{rates['items_per_s']:.2f}", tok_s=f"{rates['tokens_per_s']:.0f}", failed=totals["failed"]
                )
        for actor in actors:
            ray.kill(actor)
    finally:
        if owns_ray:
            ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the Ray child process: ``python -m labeling.ray_debate SPEC.json [RESULT.json]``."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spec = json.loads(Path(args[0]).read_text())
    totals = execute_spec(spec)
    if len(args) > 1:
        Path(args[1]).write_text(json.dumps(totals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
