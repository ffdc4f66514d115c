"""The one shard-job engine: plan shard tasks, run them on Ray actors that each own one engine, read them back.

A shard task is a dict: ``runner`` (``module:function``, called in the actor as
``fn(backend, task)``), ``kind`` (for logs), ``items_path``, ``start``/``stop`` (the slice of the
items file) and ``out_path`` (the shard file the runner writes atomically), plus the runner's own
parameters. ``plan_shards`` makes them, ``execute_spec`` runs them, ``read_shards`` reads a
finished folder back. The executor imports no stage: what a shard does is named by its runner
(transcripts: ``labeling.stages.debate_shards``; prompted verdicts: ``labeling.stages.prompted``).

An ``ActorPool`` hands each idle actor one shard at a time, so at most one shard per actor is
in flight (backpressure). A finished shard file is never redone, so a rerun after a crash
resumes without losing or duplicating an item.

``python -m labeling.exec.shards SPEC.json`` runs a spec in a separate process; the stages start
it inside a private network namespace when a local Ray needs one (see ``netns``).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm.auto import tqdm

from labeling.config import RayConfig
from labeling.exec.threads import actor_cpus, available_cores
from labeling.exec.netns import isolated_command, isolated_env, wants_isolation

if TYPE_CHECKING:
    from labeling.exec.backends import BackendSpec

log = logging.getLogger(__name__)

SHARD_GLOB = "shard-*.parquet"


def plan_shards(
    runner: str,
    kind: str,
    folder: Path,
    n_items: int,
    shard_size: int,
    params: Mapping[str, Any],
    *,
    ids: Sequence[str] | None = None,
    per_item: Mapping[str, Mapping[str, Any]] | None = None,
    items_path: Path | None = None,
) -> list[dict[str, Any]]:
    """One task per ``shard_size`` slice of ``folder/items.parquet`` (or ``items_path``), writing
    ``folder/shard-NNNNN.parquet``.

    ``per_item`` maps a task key to {item id -> value}; each task gets the values of its own
    items (``ids`` gives the items' order), e.g. market-making's weak picks.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    tasks = []
    for start in range(0, n_items, shard_size):
        stop = min(start + shard_size, n_items)
        task = {
            "runner": runner,
            "kind": kind,
            "items_path": str(items_path or folder / "items.parquet"),
            "start": start,
            "stop": stop,
            "out_path": str(folder / f"shard-{start // shard_size:05d}.parquet"),
            **params,
        }
        for key, values in (per_item or {}).items():
            if ids is None:
                raise ValueError("per_item values need the items' ids")
            task[key] = {i: values[i] for i in ids[start:stop]}
        tasks.append(task)
    return tasks


def read_shards(folder: Path) -> pd.DataFrame:
    """Every row of a folder's shard files, in shard order (the one reader of shard output)."""
    shards = sorted(Path(folder).glob(SHARD_GLOB))
    if not shards:
        raise FileNotFoundError(f"{folder} holds no {SHARD_GLOB} files")
    return pd.concat([pd.read_parquet(p) for p in shards], ignore_index=True)


def load_factory(dotted: str) -> Any:
    """Import ``module:attribute`` (the backend class or factory named in a spec)."""
    module_name, _, attribute = dotted.partition(":")
    if not attribute:
        raise ValueError(f"backend factory {dotted!r} must look like 'package.module:callable'")
    return getattr(importlib.import_module(module_name), attribute)


def run_task(backend: Any, task: dict[str, Any]) -> dict[str, Any]:
    """Run one shard task with the runner it names (``module:function``, called as ``fn(backend, task)``)."""
    return load_factory(task["runner"])(backend, task)


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


def run_spec(spec: dict[str, Any], isolate: bool) -> None:
    """Execute a spec here, or in a child process inside a private network namespace."""
    if not isolate:
        execute_spec(spec)
        return
    with tempfile.TemporaryDirectory(prefix="w2s-spec-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        argv = isolated_command([sys.executable, "-m", "labeling.exec.shards", str(spec_path)])
        log.info("starting the Ray shard engine in a private network namespace")
        result = subprocess.run(argv, env=isolated_env())
        if result.returncode != 0:
            raise RuntimeError(f"the Ray shard engine failed with exit code {result.returncode} (log above)")


def run_on_ray(tasks: list[dict[str, Any]], backend: "BackendSpec", ray: RayConfig, work_dir: str | Path) -> None:
    """Run shard tasks on the configured Ray actors, each building its engine from ``backend``."""
    spec = {"tasks": tasks, "backend": backend.to_dict(), "ray": ray.model_dump(mode="json"), "work_dir": str(work_dir)}
    run_spec(spec, wants_isolation(ray.private_network, ray.address))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the Ray child process: ``python -m labeling.exec.shards SPEC.json [RESULT.json]``."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spec = json.loads(Path(args[0]).read_text())
    totals = execute_spec(spec)
    if len(args) > 1:
        Path(args[1]).write_text(json.dumps(totals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
