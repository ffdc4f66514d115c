"""Full fine-tuning vs LoRA vs head-only on the same SciQ items (not a test): time, checkpoint size, accuracy.

Trains the packaged SmolLM2-135M-Instruct (or --model) as a binary classifier on the first
--train SciQ train items and scores the first --test validation items, once per mode, and prints a
markdown table. Example:

    .venv/bin/python scripts/lora_vs_full.py --source ../shared/data/sciq --train 256 --test 200
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from labeling.data import load_rows
from labeling.exec.hardware import training_precision
from labeling.store.model_refs import resolve_model
from training import LoraSettings, ModelSpec, TrainConfig, checkpoint_bytes, predict_proba, train_classifier


def modes(epochs: float, batch_size: int, max_length: int, bf16: bool) -> dict[str, TrainConfig]:
    """The three training modes compared, with the learning rates each is usually run at."""
    common = {"epochs": epochs, "batch_size": batch_size, "max_length": max_length, "bf16": bf16, "seed": 0}
    return {
        "full": TrainConfig(lr=2e-5, **common),
        "lora r=8 (all linear)": TrainConfig(lr=5e-4, lora=LoraSettings(r=8), **common),
        "head only": TrainConfig(lr=1e-3, trainable="head", **{**common, "epochs": 50 * epochs}),
    }


def main() -> None:
    """Train each mode, predict the test items, print the table (and --json rows)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="packaged:smollm2-135m-instruct")
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "sciq"))
    parser.add_argument("--train", type=int, default=256)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()

    train = load_rows("sciq", source=args.source, split="train", limit=args.train)
    test = load_rows("sciq", source=args.source, split="validation", limit=args.test)
    gold = np.asarray(test["label"]) == 1
    spec = ModelSpec(resolve_model(args.model))
    bf16 = training_precision("auto").bf16
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in modes(args.epochs, args.batch_size, args.max_length, bf16).items():
            started = time.perf_counter()
            out = train_classifier(spec, list(train["text"]), [float(x) for x in train["label"]], cfg,
                                   Path(tmp) / name.split()[0], desc=name)
            seconds = time.perf_counter() - started
            probs = predict_proba(out, list(test["text"]), max_length=args.max_length, bf16=bf16, desc=f"predict {name}")
            log = json.loads((out / "train_log.json").read_text())
            rows.append({"mode": name, "train_s": round(seconds, 1), "checkpoint_mb": checkpoint_bytes(out) / 2**20,
                         "trainable_params": log["trainable_parameters"], "total_params": log["total_parameters"],
                         "test_accuracy": float(np.mean((probs > 0.5) == gold)), "bf16": bf16})
    print(f"{args.train} SciQ train items, {args.test} validation items, {args.epochs:g} epochs "
          f"(head only: {50 * args.epochs:g} passes over cached features), bf16={bf16}\n")
    print("| mode | trainable params | train time (s) | checkpoint (MB) | test accuracy |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['trainable_params']:,} of {r['total_params']:,} | {r['train_s']:.0f} "
              f"| {r['checkpoint_mb']:.1f} | {100 * r['test_accuracy']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
