"""Run debate shards on Ray actors, each owning one chat engine (one vLLM engine per GPU).

The work is a list of shard tasks (protocol, debate seed, a slice of the items); an
``ActorPool`` hands each idle actor one shard at a time, so at most one shard per actor
is in flight (backpressure). Each shard's transcripts are written atomically to their
own parquet file; a finished shard file is never redone, so a rerun after a crash
resumes without losing or duplicating an (item, seed).

``python -m labeling.ray_debate SPEC.json`` runs a spec in a separate process; the CLI
starts it inside a private network namespace when a local Ray needs one (see netns).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from labeling.artifacts import atomic_write_parquet

log = logging.getLogger("labeling.ray_debate")


def load_factory(dotted: str) -> Any:
    """Import ``module:attribute`` (the backend class or factory named in a spec)."""
    module_name, _, attribute = dotted.partition(":")
    if not attribute:
        raise ValueError(f"backend factory {dotted!r} must look like 'package.module:callable'")
    return getattr(importlib.import_module(module_name), attribute)


def run_shard(backend: Any, task: dict[str, Any]) -> dict[str, Any]:
    """Debate one shard with ``backend`` and write its transcripts; returns a summary.

    Skips the work when the shard file already exists (it is only ever renamed into
    place complete).
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
    started = time.perf_counter()

    def report_turn(turn_index: int, n_turns: int) -> None:
        log.info(
            "%s: turn %d/%d done for %d items (%.0f s)",
            out_path.name, turn_index + 1, n_turns, len(items), time.perf_counter() - started,
        )

    transcripts: list[Transcript] = run_protocol(
        items,
        replace(get_protocol(task["protocol"]), word_limit=int(task["word_limit"])),
        backend,
        seed=int(task["seed"]),
        sampling=SamplingConfig(**task["sampling"]),
        on_turn=report_turn,
    )
    seconds = time.perf_counter() - started
    records = [t.to_record() for t in transcripts]
    atomic_write_parquet(pd.DataFrame.from_records(records), out_path)
    tokens = sum(turn.completion_tokens for t in transcripts for turn in t.turns)
    return {"shard": out_path.name, "n_items": len(items), "completion_tokens": tokens, "seconds": seconds, "skipped": False}


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
            return run_shard(self.backend, task)

    return DebateActor


def _ray_temp_dir(spec: dict[str, Any]) -> str:
    """A short temp folder for Ray (its unix socket paths must stay under ~107 bytes)."""
    preferred = Path(spec["work_dir"]) / "ray"
    if len(str(preferred)) <= 48:
        preferred.mkdir(parents=True, exist_ok=True)
        return str(preferred)
    return tempfile.mkdtemp(prefix="w2s-ray-")


def execute_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Run every unfinished shard task of ``spec`` on Ray actors; returns totals.

    ``spec`` keys: ``tasks`` (list of shard tasks), ``backend`` ({factory, kwargs, env}),
    ``ray`` (RayConfig as a dict), ``work_dir``.
    """
    import ray
    from ray.util import ActorPool

    tasks = [t for t in spec["tasks"] if not Path(t["out_path"]).exists()]
    totals = {"shards": len(spec["tasks"]), "shards_run": 0, "items": 0, "completion_tokens": 0, "seconds": 0.0}
    if not tasks:
        return totals
    ray_cfg = spec["ray"]
    started = time.perf_counter()
    owns_ray = not ray.is_initialized()
    if owns_ray:
        if ray_cfg.get("address"):
            ray.init(address=ray_cfg["address"], log_to_driver=True)
        else:
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(
                num_cpus=ray_cfg.get("local_num_cpus") or os.cpu_count(),
                include_dashboard=False,
                _temp_dir=_ray_temp_dir(spec),
                log_to_driver=True,
            )
    try:
        backend = spec["backend"]
        actor_cls = _actor_class().options(
            num_cpus=ray_cfg["num_cpus_per_actor"], num_gpus=ray_cfg["num_gpus_per_actor"]
        )
        n_actors = min(ray_cfg["num_actors"], len(tasks))
        actors = [actor_cls.remote(backend["factory"], backend.get("kwargs", {}), backend.get("env", {})) for _ in range(n_actors)]
        pool = ActorPool(actors)
        total_items = sum(t["stop"] - t["start"] for t in tasks)
        with tqdm(total=total_items, desc="debate items", unit="item", file=sys.stderr) as bar:
            for result in pool.map_unordered(lambda actor, task: actor.run.remote(task), tasks):
                totals["shards_run"] += 1
                totals["items"] += result["n_items"]
                totals["completion_tokens"] += result.get("completion_tokens", 0)
                bar.update(result["n_items"])
                elapsed = time.perf_counter() - started
                bar.set_postfix(tok_s=f"{totals['completion_tokens'] / max(elapsed, 1e-9):.0f}")
        for actor in actors:
            ray.kill(actor)
    finally:
        if owns_ray:
            ray.shutdown()
    totals["seconds"] = time.perf_counter() - started
    return totals


def main(argv: list[str] | None = None) -> int:
    """Entry point of the Ray child process: ``python -m labeling.ray_debate SPEC.json [RESULT.json]``."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spec = json.loads(Path(args[0]).read_text())
    totals = execute_spec(spec)
    if len(args) > 1:
        Path(args[1]).write_text(json.dumps(totals))
    log.info("debate shards done: %s", totals)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
