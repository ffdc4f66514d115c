"""How long a run's judge inputs are in tokens, and how many its judge's max_length cuts (not a test).

Reads a finished transcripts stage and the data stage of the same run, formats every split's judge inputs
exactly as training does (``labeling.stages.trained.transcript_view``) in the given layout, tokenizes them
with the weak model's tokenizer and prints, per split, the median, 90th percentile and longest input and
the share over ``--max-length``. Example (the quickstart's run)::

    .venv/bin/python scripts/judge_input_lengths.py runs/artifacts/transcripts-debate-s0-7f042fdc4f \\
        runs/artifacts/data-75f4e401cb --layout item_both_ends --max-length 384
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from transformers import AutoTokenizer

from labeling.data.judge_input import JUDGE_INPUTS
from labeling.data.splits import SPLIT_NAMES
from labeling.store.model_refs import resolve_model
from labeling.stages.trained import transcript_view
from labeling.stages.transcripts import TranscriptSet
from labeling.store.stages import StageDir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("transcripts", type=Path, help="a finished transcripts stage folder")
    parser.add_argument("data", type=Path, help="the data stage folder of the same run")
    parser.add_argument("--layout", choices=JUDGE_INPUTS, default="item_both_ends")
    parser.add_argument("--max-length", type=int, default=384)
    parser.add_argument("--model", default="packaged:smollm2-135m-instruct", help="whose tokenizer counts")
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(args.model))
    transcripts = TranscriptSet.read(StageDir(args.transcripts, "transcripts", {}), judge_input=args.layout)
    for split in SPLIT_NAMES:
        frame = pd.read_parquet(args.data / f"{split}.parquet")
        view = transcript_view(frame, transcripts.texts, args.layout)
        lengths = np.array([len(ids) for ids in tokenizer(view.texts)["input_ids"]])
        print(f"{split:12s} {len(lengths):5d} inputs: median {np.median(lengths):.0f} tokens, "
              f"90th percentile {np.percentile(lengths, 90):.0f}, longest {lengths.max()}, "
              f"over {args.max_length}: {100 * np.mean(lengths > args.max_length):.1f}%")


if __name__ == "__main__":
    main()
