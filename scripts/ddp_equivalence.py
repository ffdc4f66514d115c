"""One model trained by one process vs by N data-parallel Ray Train workers (gloo on CPU): how close, how fast.

    .venv/bin/python scripts/ddp_equivalence.py --model packaged:smollm2-135m-instruct --layers 4 --items 64

Trains the same model (SciQ items from ../shared/data/sciq, fp32, same seed, same global batch) once
in this process and once with --workers Ray Train workers, for each loss, and prints the largest
per-step loss difference, the largest difference of test predictions after reload, and both wall
times. Starts a local Ray inside a private network namespace where the machine needs one.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="packaged:smollm2-135m-instruct")
    parser.add_argument("--layers", type=int, default=4, help="keep the first N layers (default 4)")
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--losses", nargs="+", default=["xent", "logconf"])
    args = parser.parse_args()

    from labeling.exec.netns import can_isolate, enter_private_netns, inside_private_netns

    if not inside_private_netns() and can_isolate():
        enter_private_netns()
    import ray
    from training import ModelSpec, TrainConfig, predict_proba, train_classifier

    from labeling.data.registry import load_rows
    from labeling.exec.ray_train import train_data_parallel
    from labeling.store import resolve_model

    rows = load_rows("sciq", source=Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sciq", split="train")
    texts, labels = list(rows["text"][: args.items]), [float(x) for x in rows["label"][: args.items]]
    held_out = list(rows["text"][args.items : args.items + 32])
    spec = ModelSpec(resolve_model(args.model), num_hidden_layers=args.layers)
    base = TrainConfig(epochs=1, lr=1e-4, batch_size=8, max_length=128, seed=0, bf16=False, threads=1, device="cpu")
    ray.init(num_cpus=args.workers, include_dashboard=False)
    print(f"{args.model} cut to {args.layers} layers, {args.items} SciQ items, batch 8, fp32, {args.workers} gloo workers")
    try:
        for loss in args.losses:
            cfg = replace(base, loss=loss)
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                alone = train_classifier(spec, texts, labels, cfg, Path(tmp) / "alone", desc=f"one process {loss}")
                one_s = time.perf_counter() - started
                started = time.perf_counter()
                shared = train_data_parallel(spec, texts, labels, cfg, Path(tmp) / "ddp", workers=args.workers,
                                             desc=f"{args.workers} workers {loss}")
                many_s = time.perf_counter() - started
                one = json.loads((alone / "train_log.json").read_text())["loss_per_step"]
                many = json.loads((shared / "train_log.json").read_text())["loss_per_step"]
                p_one = predict_proba(alone, held_out, bf16=False)
                p_many = predict_proba(shared, held_out, bf16=False)
            print(f"{loss}: {len(one)} steps, max |loss difference| {max(abs(a - b) for a, b in zip(one, many)):.2e}, "
                  f"max |P(label 1) difference| on {len(held_out)} held-out items {np.max(np.abs(p_one - p_many)):.2e}; "
                  f"wall {one_s:.1f} s in one process, {many_s:.1f} s with {args.workers} workers (incl. their start)")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
