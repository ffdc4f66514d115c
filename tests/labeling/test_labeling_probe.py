"""The transcript-information diagnostic on made-up transcripts (no models, no Ray): what it reads and finds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labeling.data.judge_input import TRANSCRIPT_HEADING
from labeling.experiment.probe import (
    CANDIDATE_MARK,
    ITEM_ONLY,
    MARKED,
    WITH_TRANSCRIPT,
    fit_and_score,
    mark_candidate,
    probe_inputs,
)
from labeling.stages.transcripts import TranscriptSet

FILLER = [f"filler{i}" for i in range(200)]


def echo_split(name: str, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, str]]:
    """Items whose transcript repeats the candidate answer when it is correct and a distractor when it is not."""
    rows, transcripts = [], {}
    for i in range(n):
        label = int(rng.integers(0, 2))
        answer, distractor = (f"answer{k}" for k in rng.choice(1000, 2, replace=False))
        item_id = f"{name}-{i}"
        rows.append({"id": item_id, "question": "q", "answer": answer, "label": label,
                     "text": f"Q: {' '.join(rng.choice(FILLER, 8))} A: {answer}"})
        said = answer if label else distractor
        transcripts[item_id] = f"Debater A (arguing the answer is correct): {' '.join(rng.choice(FILLER, 20))} it is {said}"
    return pd.DataFrame(rows), transcripts


def transcript_set(texts: dict[str, str], failed: dict[str, str] | None = None) -> TranscriptSet:
    return TranscriptSet(stage=None, texts=texts, stances={}, failed=failed or {}, completion_tokens=(), quote_stats={})


def test_mark_candidate_marks_whole_word_mentions_in_any_case() -> None:
    text = "Red blood cells carry it; red-blood cells too; bloodred is not it."
    assert mark_candidate(text, "red blood") == f"{CANDIDATE_MARK} cells carry it; {CANDIDATE_MARK} cells too; bloodred is not it."
    assert mark_candidate(text, "?!") == text


def test_the_inputs_are_the_judge_inputs_and_the_marked_transcript() -> None:
    split = pd.DataFrame({"id": ["a"], "answer": ["mitochondria"], "text": ["Q: what makes ATP? A: mitochondria"]})
    inputs = probe_inputs(split, transcript_set({"a": "B: Mitochondria? No."}))
    assert inputs[ITEM_ONLY] == ["Q: what makes ATP? A: mitochondria"]
    assert inputs[WITH_TRANSCRIPT] == [f"Q: what makes ATP? A: mitochondria\n\n{TRANSCRIPT_HEADING}\nB: Mitochondria? No."]
    assert inputs[MARKED] == [f"Q: what makes ATP? A: mitochondria\n\n{TRANSCRIPT_HEADING}\nB: {CANDIDATE_MARK}? No."]


def test_only_the_marked_input_finds_a_transcript_that_echoes_the_correct_answer() -> None:
    rng = np.random.default_rng(0)
    (weak_train, train_t), (test, test_t) = echo_split("w", 200, rng), echo_split("t", 300, rng)
    failed = {"w-0": "backend error", "w-1": "backend error"}
    probs, fit_items = fit_and_score({"weak_train": weak_train, "test": test}, transcript_set(train_t | test_t, failed), [0, 1])
    assert fit_items == 198  # failed transcripts are skipped, as for the judge
    labels = test["label"].to_numpy()
    accuracy = {name: float(np.mean((p > 0.5) == labels)) for name, p in probs.items()}
    assert all(p.shape == (2, 300) for p in probs.values())
    assert accuracy[MARKED] > 0.9
    assert accuracy[WITH_TRANSCRIPT] == pytest.approx(0.5, abs=0.1)  # a bag of words cannot match per-item answers
    assert accuracy[ITEM_ONLY] == pytest.approx(0.5, abs=0.1)


def test_nothing_is_fitted_when_the_usable_items_hold_one_class() -> None:
    rng = np.random.default_rng(1)
    weak_train, texts = echo_split("w", 20, rng)
    failed = {i: "error" for i, label in zip(weak_train["id"], weak_train["label"]) if label == 1}
    probs, fit_items = fit_and_score({"weak_train": weak_train, "test": weak_train}, transcript_set(texts, failed), [0])
    assert probs is None and fit_items == 20 - len(failed)
