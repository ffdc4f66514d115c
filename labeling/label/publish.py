"""A ``w2s label`` folder as a dataset others can load: ``dataset/labels.parquet`` and a dataset card.

One row per (item, debate seed): the item, the rendered transcript, why it failed (if it did) and
the trained judge's P(the candidate answer is correct). ``datasets.load_dataset("parquet",
data_dir=OUT/"dataset")`` reads it; ``OUT/README.md`` is a dataset card (license of the source
data, how the labels were made, the schema), so the folder can be pushed to a hub as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from debate import Transcript

from labeling.label.judge_labels import read_seed_transcripts
from labeling.store import atomic_write_parquet, atomic_write_text

DATASET_DIR = "dataset"
DATASET_FILE = "labels.parquet"
# The source datasets' licenses as the hub spells them (see ../shared/data/*/SOURCES.md); user files: unknown.
SOURCE_LICENSES = {"sciq": "cc-by-nc-3.0", "boolq": "cc-by-sa-3.0", "boolq_hidden_passage": "cc-by-sa-3.0",
                   "cosmos_qa": "cc-by-4.0", "anthropic_hh": "mit"}
COLUMNS = {
    "id": "the item's id",
    "seed": "debate seed",
    "question": "the question (as in the items)",
    "answer": "the candidate answer the debate is about",
    "transcript": "the rendered transcript the judge read (null when the debate failed)",
    "failed": "why the debate failed (null when it did not)",
    "judge_prob": "the trained judge's P(the candidate answer is correct) (null without --judge or on failure)",
    "gold_label": "the items' own label, when they carry one (1 = correct; null where an item has none)",
}


def dataset_rows(out: Path, items: pd.DataFrame, seeds: list[int]) -> pd.DataFrame:
    """One row per (item, seed) with the transcript, its failure and the judge's label (see ``COLUMNS``)."""
    ids = items["id"].astype(str).tolist()
    frames = []
    for seed in seeds:
        transcripts = [Transcript.from_record(r) for r in read_seed_transcripts(out, seed, ids).to_dict("records")]
        labels_path = out / "labels" / f"seed{seed}.parquet"
        probs = (pd.read_parquet(labels_path).set_index("id")["prob"].reindex(ids).tolist()
                 if labels_path.is_file() else [None] * len(ids))
        frame = pd.DataFrame({
            "id": ids, "seed": seed, "question": items["question"].astype(str).tolist(),
            "answer": items["answer"].astype(str).tolist(),
            "transcript": [None if t.failed else t.render() for t in transcripts],
            "failed": [t.failed for t in transcripts], "judge_prob": pd.Series(probs, dtype="float64"),
        })
        gold = pd.to_numeric(items["label"], errors="coerce") if "label" in items else None
        if gold is not None and gold.isin([0, 1]).any():  # items without a label carry -1
            frame["gold_label"] = gold.where(gold.isin([0, 1])).astype("Int64").tolist()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def dataset_card(job: dict[str, Any], summary: dict[str, Any], rows: pd.DataFrame) -> str:
    """The README.md of a label folder: YAML metadata for a hub, then provenance, counts and the schema."""
    license_id = SOURCE_LICENSES.get(str(job.get("dataset")), "unknown")
    front = "\n".join(["---", f"license: {license_id}", "configs:", "- config_name: default",
                       f"  data_files: {DATASET_DIR}/{DATASET_FILE}", "---", ""])
    made = {k: job.get(k) for k in ("input", "dataset", "protocol", "backend", "model", "sampling", "word_limit",
                                      "quote_span_words", "quote_pick", "prompt_version") if k in job}
    totals = summary.get("totals", {})
    schema = "\n".join(f"| `{name}` | {COLUMNS[name]} |" for name in rows.columns)
    source = (f"The items come from `{job.get('dataset')}` ({job.get('input')}), license `{license_id}`."
              if license_id != "unknown" else
              "The items come from the user's own file; its license is the license of that file.")
    return f"""{front}
# Debate labels made by `w2s label`

Weak labels from debates: strong-model debaters argued whether the candidate answer of each item is
correct, and a weak trained judge read each transcript. {source}

- rows: {len(rows)} ({summary.get("items")} items x {len(summary.get("seeds", []))} debate seeds);
  failed debates: {totals.get("failed", 0)} (their `transcript` and `judge_prob` are null)
- load: `datasets.load_dataset("parquet", data_dir="<this folder>/{DATASET_DIR}", split="train")`
- made with (the folder's `job.json`): `{json.dumps(made, sort_keys=True)}`
- judge labels (the folder's `summary.json`): {json.dumps(summary.get("labels"), sort_keys=True) if summary.get("labels") else "none (transcripts only)"}

| column | meaning |
|---|---|
{schema}

The judge never saw a gold label or (in hidden-passage runs) the passage; `gold_label` is the
items' own column, copied for evaluation only.
"""


def publish_labels(out: Path, items: pd.DataFrame, seeds: list[int], summary: dict[str, Any]) -> Path:
    """Write ``dataset/labels.parquet`` and the dataset card ``README.md`` into ``out``; returns the parquet path."""
    rows = dataset_rows(out, items, seeds)
    path = out / DATASET_DIR / DATASET_FILE
    atomic_write_parquet(rows, path)
    job = json.loads((out / "job.json").read_text())
    atomic_write_text(out / "README.md", dataset_card(job, summary, rows))
    return path
