"""Exact resume of ``w2s label``: kill -9 a real run (Ray + scripted debater) at random points, rerun.

A clean reference run writes every shard once. Then one output folder goes through several
trials: start ``w2s label`` in its own session, kill every process of that session with
SIGKILL at a random moment (a random time after start, or a random time after the trial's
first new shard), and check what is on disk. A last rerun finishes the job. Every
(item, seed) must be there exactly once and every shard byte-identical to the reference.
Set W2S_KILL_SEED to replay a trial schedule; the test prints the seed it used.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.real

REPO = Path(__file__).resolve().parents[2]
N_ITEMS, SEEDS, SHARD_SIZE = 40, 2, 5
N_SHARDS = SEEDS * (N_ITEMS // SHARD_SIZE)
TRIALS = 8
FAIL_MARKER = "UNANSWERABLE"
ROUND_DELAY_S = 0.15  # per round-synchronous batch, so a shard takes ~0.5 s and kills land inside the work


def write_items(path: Path) -> Path:
    rows = [
        {"id": f"q{i:02d}", "question": f"Which gas do plants take in, variant {i}?" + (f" {FAIL_MARKER}" if i == 7 else ""),
         "answer": "carbon dioxide" if i % 2 else "oxygen", "label": i % 2}
        for i in range(N_ITEMS)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def label_args(items: Path, out: Path) -> list[str]:
    kwargs = {"delay_s": ROUND_DELAY_S, "fail_marker": FAIL_MARKER}
    return ["label", "--input", str(items), "--seeds", str(SEEDS), "--shard-size", str(SHARD_SIZE),
            "--out", str(out), "--backend", "scripted", "--set", "backend.kwargs=" + json.dumps(kwargs),
            "--local-num-cpus", "2", "--num-cpus-per-actor", "1"]


def session_pids(sid: int) -> list[int]:
    """Processes whose session id is ``sid`` (the label run, Ray's daemons and workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[3]) == sid:  # state ppid pgrp session ...
            pids.append(int(entry.name))
    return pids


def kill_session(proc: subprocess.Popen) -> None:
    """SIGKILL the run's process group, then any process left in its session (Ray workers have their own groups)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    deadline = time.monotonic() + 20
    while (left := session_pids(proc.pid)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    assert not session_pids(proc.pid), "processes of a killed run survived"


def shard_names(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.glob("transcripts/seed*/shard-*.parquet")}


def shard_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("transcripts/seed*/shard-*.parquet"))}


def test_kill_9_at_random_points_then_rerun_gives_the_reference_shards(tmp_path, ray_session) -> None:
    from labeling.label.job import main as label_main

    items = write_items(tmp_path / "items.jsonl")
    reference_dir = tmp_path / "reference"
    assert label_main(label_args(items, reference_dir)) == 0  # in-process, on the session's Ray
    reference = shard_files(reference_dir)
    assert len(reference) == N_SHARDS

    seed = int(os.environ.get("W2S_KILL_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    out = tmp_path / "killed"
    short_tmp = Path(tempfile.mkdtemp(prefix="w2sk", dir="/tmp"))  # Ray's socket paths must stay short
    env = {**os.environ, "TMPDIR": str(short_tmp), "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "labeling.label.job", *label_args(items, out)]
    outcomes: list[str] = []
    try:
        for trial in range(TRIALS):
            before = shard_names(out)
            proc = subprocess.Popen(argv, cwd=REPO, env=env, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started = time.monotonic()
            if trial % 2 == 0:
                delay = rng.uniform(0.2, 10.0)
                while proc.poll() is None and time.monotonic() - started < delay:
                    time.sleep(0.02)
                when = f"{delay:.2f} s after start"
            else:
                while proc.poll() is None and time.monotonic() - started < 60:
                    if shard_names(out) - before:
                        break
                    time.sleep(0.02)
                delay = rng.uniform(0.0, 0.8)
                time.sleep(delay)
                when = f"{delay:.2f} s after this trial's first shard"
            finished = proc.poll() is not None
            kill_session(proc)
            now = shard_files(out)
            torn = len(list(out.glob("transcripts/seed*/.*.tmp")))  # a write the kill interrupted
            outcomes.append(f"trial {trial}: {'finished before the kill' if finished else 'killed ' + when}, "
                            f"{len(set(now) - before)} new shards, {len(now)}/{N_SHARDS} done, {torn} torn temp files")
            for name, data in now.items():  # whatever was finished is final and exact
                assert data == reference[name], f"trial {trial}: {name} differs from the reference"
        final = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert final.returncode == 0, final.stderr[-3000:]
    finally:
        shutil.rmtree(short_tmp, ignore_errors=True)
    print(f"\nW2S_KILL_SEED={seed}\n" + "\n".join(outcomes))

    assert shard_files(out) == reference
    frame = pd.concat([pd.read_parquet(out / name) for name in reference], ignore_index=True)
    pairs = list(zip(frame["item_id"], frame["seed"]))
    assert len(pairs) == len(set(pairs)) == N_ITEMS * SEEDS
    failed = frame[frame["failed"].notna()]
    assert sorted(failed["item_id"]) == ["q07", "q07"] and failed["failed"].str.contains("scripted_failure").all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["transcripts"] == N_ITEMS * SEEDS and summary["totals"]["failed"] == SEEDS
    assert not list(out.glob("transcripts/**/.*.tmp"))
