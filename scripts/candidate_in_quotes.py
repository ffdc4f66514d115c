"""How often a transcript stage's verified quotes hold the item's candidate answer, by gold label (not a test).

Reads a finished transcripts stage (``runs/artifacts/transcripts-<protocol>-s<seed>-<hash>/``) and the data
stage of the same run (``runs/artifacts/data-<hash>/``, for the gold labels: debaters never had them) and
prints, for items whose candidate is correct and for distractors, the share of transcripts with the
candidate inside a verified quote, anywhere in the transcript, and in the hidden passage, and the accuracy
of the rule "the candidate is quoted, so it is correct". Mentions are matched on normalized text
(``debate.quotes.normalize``), quote markers removed first. Example::

    .venv/bin/python scripts/candidate_in_quotes.py runs/artifacts/transcripts-debate-s0-6c90492b32 \\
        runs/artifacts/data-1ca928e665
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

from debate.quotes import normalize

MARKERS = re.compile(r"</?(?:v_quote|u_quote|quote)>")


def contains(text: str, answer: str) -> bool:
    """True when the normalized ``answer`` occurs as whole words in the normalized ``text``."""
    return f" {normalize(answer)} " in f" {normalize(MARKERS.sub(' ', text))} "


def item_rows(stage: Path, data: Path) -> pd.DataFrame:
    """One row per transcript: gold label and where the candidate appears."""
    labels = pd.concat(pd.read_parquet(path) for path in sorted(data.glob("*.parquet"))).set_index("id")["label"]
    items = pd.read_parquet(stage / "items.parquet")
    items = items.set_index("id") if "id" in items else items
    shards = pd.concat(pd.read_parquet(path) for path in sorted(stage.glob("shard-*.parquet")))
    rows = []
    for record in shards.itertuples():
        item = items.loc[record.item_id]
        texts = [turn["text"] for turn in record.turns]
        quotes = [q for text in texts for q in re.findall(r"<v_quote>(.*?)</v_quote>", text, flags=re.DOTALL)]
        rows.append({
            "label": int(labels.loc[record.item_id]),
            "candidate_in_a_verified_quote": any(contains(q, item.answer) for q in quotes),
            "candidate_in_transcript": contains(" ".join(texts), item.answer),
            "candidate_in_passage": contains(str(item.evidence), item.answer),
        })
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """Print the shares per gold label and the rule's accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("transcripts", type=Path, help="a finished transcripts stage folder")
    parser.add_argument("data", type=Path, help="the run's data stage folder (gold labels)")
    args = parser.parse_args(argv)
    frame = item_rows(args.transcripts, args.data)
    print(f"{len(frame)} transcripts")
    shares = frame.groupby("label").mean().rename(index={0: "distractor (label 0)", 1: "correct (label 1)"})
    print(shares.round(3).to_string())
    rule = (frame["candidate_in_a_verified_quote"].astype(int) == frame["label"]).mean()
    print(f"rule 'the candidate is quoted, so it is correct': {rule:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
