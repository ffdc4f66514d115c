"""The one shard-job engine: plan shard tasks, run them on Ray actors that each own one engine, read them back.

A ``ShardTask`` is one slice (``start``/``stop``) of an items file, the shard file its runner
writes atomically (``out_path``), the runner's own ``params``, and its ``ShardKind``: a name for
logs and the runner ``module:function`` an actor calls as ``fn(backend, task)``. A stage registers
a kind by declaring one (transcripts: ``labeling.stages.debate_shards.DEBATE_SHARDS``; prompted
verdicts: ``labeling.stages.prompted.PROMPTED_SHARDS``), so the executor imports no stage.
``plan_shards`` makes tasks, ``execute_spec`` runs them, ``read_shards`` reads a finished folder back.

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
from dataclasses import asdict, dataclass, field
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm.auto import tqdm

from labeling.config import RayConfig
from labeling.exec.threads import actor_cpus, available_cores
from labeling.exec.netns import isolated_command, isolated_env, wants_isolation
from labeling.exec.signals import exit_on_sigterm, stop_child

if TYPE_CHECKING:
    from labeling.exec.backends import BackendSpec

log = logging.getLogger(__name__)

SHARD_GLOB = "shard-*.parquet"


@dataclass(frozen=True)
class ShardKind:
    """What a shard task does: a name for logs, and the runner ``module:function`` an actor calls."""

    name: str
    runner: str


@dataclass(frozen=True)
class ShardTask:
    """One shard of work: items ``start:stop`` of ``items_path`` -> ``out_path``, by ``kind``'s runner."""

    kind: ShardKind
    items_path: str
    start: int
    stop: int
    out_path: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        """How many items the shard holds."""
        return self.stop - self.start

    @property
    def done(self) -> bool:
        """True once the shard file exists (it is only ever renamed into place whole)."""
        return Path(self.out_path).exists()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the spec file of the isolated child process)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ShardTask":
        """The task ``to_dict`` wrote."""
        return cls(**{**data, "kind": ShardKind(**data["kind"])})


def plan_shards(
    kind: ShardKind,
    folder: Path,
    n_items: int,
    shard_size: int,
    params: Mapping[str, Any],
    *,
    ids: Sequence[str] | None = None,
    per_item: Mapping[str, Mapping[str, Any]] | None = None,
    items_path: Path | None = None,
) -> list[ShardTask]:
    """One task per ``shard_size`` slice of ``folder/items.parquet`` (or ``items_path``), writing
    ``folder/shard-NNNNN.parquet``.

    ``per_item`` maps a parameter name to {item id -> value}; each task gets the values of its own
    items (``ids`` gives the items' order), e.g. market-making's weak picks.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    if per_item and ids is None:
        raise ValueError("per_item values need the items' ids")
    tasks = []
    for start in range(0, n_items, shard_size):
        stop = min(start + shard_size, n_items)
        own = {key: {i: values[i] for i in ids[start:stop]} for key, values in (per_item or {}).items()}  # type: ignore[index]
        tasks.append(ShardTask(
            kind=kind, items_path=str(items_path or folder / "items.parquet"), start=start, stop=stop,
            out_path=str(folder / f"shard-{start // shard_size:05d}.parquet"), params={**params, **own},
        ))
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


def run_task(backend: Any, task: ShardTask) -> dict[str, Any]:
    """Run one shard task with its kind's runner (``module:function``, called as ``fn(backend, task)``)."""
    return load_factory(task.kind.runner)(backend, task)


def _actor_class() -> Any:
    import ray

    @ray.remote
    class DebateActor:
        """Holds one chat engine for its lifetime and debates shards with it."""

        def __init__(self, factory: str, kwargs: dict[str, Any], env: dict[str, str]) -> None:
            os.environ.update(env)
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            self.backend = load_factory(factory)(**kwargs)

        def run(self, task: ShardTask) -> dict[str, Any]:
            return run_task(self.backend, task)

    return DebateActor


def _ray_temp_dir(spec: dict[str, Any]) -> str:
    """A short temp folder for Ray (its unix socket paths must stay under ~107 bytes)."""
    preferred = Path(spec["work_dir"]).resolve() / "ray"  # Ray wants an absolute temp folder
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

    ``spec`` keys: ``tasks`` (ShardTask dicts), ``backend`` ({factory, kwargs, env}),
    ``ray`` (RayConfig as a dict), ``work_dir``. Logs and prints a summary line at the end.
    """
    tasks = [task for task in map(ShardTask.from_dict, spec["tasks"]) if not task.done]
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


def _run_tasks(spec: dict[str, Any], tasks: list[ShardTask], totals: dict[str, Any], started: float) -> None:
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
        total_items = sum(t.n_items for t in tasks)
        with tqdm(total=total_items, desc=f"{tasks[0].kind.name} items", unit="item", file=sys.stderr) as bar:
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
        child = subprocess.Popen(argv, env=isolated_env())
        try:
            returncode = child.wait()
        except BaseException:  # SIGTERM (as SystemExit) or Ctrl-C here: the child must not debate on alone
            stop_child(child)
            raise
        if returncode != 0:
            raise RuntimeError(f"the Ray shard engine failed with exit code {returncode} (log above)")


def run_on_ray(tasks: list[ShardTask], backend: "BackendSpec", ray: RayConfig, work_dir: str | Path) -> None:
    """Run shard tasks on the configured Ray actors, each building its engine from ``backend``."""
    spec = {"tasks": [t.to_dict() for t in tasks], "backend": backend.to_dict(), "ray": ray.model_dump(mode="json"), "work_dir": str(work_dir)}
    run_spec(spec, wants_isolation(ray.private_network, ray.address))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the Ray child process: ``python -m labeling.exec.shards SPEC.json [RESULT.json]``."""
    args = sys.argv[1:] if argv is None else argv
    exit_on_sigterm()  # a stopped parent stops us: `finally` shuts Ray (and its engines) down
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spec = json.loads(Path(args[0]).read_text())
    totals = execute_spec(spec)
    if len(args) > 1:
        Path(args[1]).write_text(json.dumps(totals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
