"""Time one training step and one prediction batch of a real checkpoint on CPU (not a test).

Grid: full vs truncated model, SciQ-length (~60 tokens) vs judge-length (~300 tokens) texts,
torch threads, bf16 autocast vs fp32. Prints examples/s for each cell. Example:

    .venv/bin/python scripts/bench_training.py --model .cache/models/smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from training.batching import pad_batch
from training.losses import soft_cross_entropy
from training.models import ModelSpec, load_classifier
from training.runtime import autocast, torch_threads

SCIQ_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "sciq" / "train.json"


def corpus_text() -> str:
    """Plain English to cut texts from: SciQ support paragraphs when present, else filler."""
    if SCIQ_TRAIN.is_file():
        rows = json.loads(SCIQ_TRAIN.read_text())
        return " ".join(row["support"] for row in rows[:400] if row.get("support"))
    return "The quick brown fox jumps over the lazy dog while the judge reads the debate. " * 2000


def texts_of_length(tokenizer, n_texts: int, n_tokens: int) -> list[list[int]]:
    """``n_texts`` different token-id sequences of exactly ``n_tokens`` tokens."""
    ids = tokenizer(corpus_text(), add_special_tokens=False)["input_ids"]
    if len(ids) < n_texts * n_tokens:
        ids = ids * (n_texts * n_tokens // max(1, len(ids)) + 1)
    return [ids[i * n_tokens : (i + 1) * n_tokens] for i in range(n_texts)]


def time_it(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_cell(model, seqs, pad_id: int, bf16: bool, repeats: int) -> tuple[float, float]:
    """(train examples/s, predict examples/s) for one batch of ``seqs``."""
    device = torch.device("cpu")
    batch = pad_batch(seqs, pad_id, device)
    labels = torch.full((len(seqs),), 0.7)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)

    def train_step() -> None:
        model.train()
        with autocast(device, bf16):
            logits = model(**batch).logits
        soft_cross_entropy(logits.float(), labels).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def predict_batch() -> None:
        model.eval()
        with torch.inference_mode(), autocast(device, bf16):
            model(**batch)

    train_s = time_it(train_step, repeats)
    predict_s = time_it(predict_batch, repeats)
    return len(seqs) / train_s, len(seqs) / predict_s


def main() -> None:
    """Parse arguments, run the grid, print one line per cell (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=".cache/models/smollm2-135m-instruct")
    parser.add_argument("--layers", type=int, nargs="+", default=[0, 8], help="0 = all layers")
    parser.add_argument("--lengths", type=int, nargs="+", default=[60, 300])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"], choices=["bf16", "fp32"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    results = []
    print(f"{'layers':>6} {'tokens':>6} {'thr':>3} {'prec':>4} {'train ex/s':>10} {'pred ex/s':>10}")
    for layers in args.layers:
        torch.manual_seed(0)
        spec = ModelSpec(args.model, num_hidden_layers=layers or None)
        model, tokenizer = load_classifier(spec)
        for length in args.lengths:
            seqs = texts_of_length(tokenizer, args.batch_size, length)
            for threads in args.threads:
                for precision in args.precisions:
                    with torch_threads(threads):
                        train_eps, pred_eps = bench_cell(
                            model, seqs, model.config.pad_token_id, precision == "bf16", args.repeats
                        )
                    row = {
                        "layers": model.config.num_hidden_layers,
                        "tokens": length,
                        "threads": threads,
                        "precision": precision,
                        "batch_size": args.batch_size,
                        "train_examples_per_s": round(train_eps, 2),
                        "predict_examples_per_s": round(pred_eps, 2),
                    }
                    results.append(row)
                    print(
                        f"{row['layers']:>6} {length:>6} {threads:>3} {precision:>4} "
                        f"{train_eps:>10.2f} {pred_eps:>10.2f}",
                        flush=True,
                    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
