"""item_text rebuilds each dataset's row text from (question, answer): the judge endpoint relies on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.data.registry import item_text, load_rows


@pytest.mark.parametrize(
    ("name", "split", "min_share"),
    [("sciq", "validation", 1.0), ("boolq", "validation", 1.0), ("cosmos_qa", "validation", 1.0),
     ("anthropic_hh", "test", 0.95)],
)
def test_item_text_matches_the_registry(shared_data: Path, name: str, split: str, min_share: float) -> None:
    rows = load_rows(name, source=str(shared_data / {"anthropic_hh": "hh_rlhf"}.get(name, name)), split=split, limit=200)
    same = [item_text(name, r["question"], r["answer"]) == r["text"] for r in rows]
    assert sum(same) / len(same) >= min_share  # HH replies keep their own leading whitespace


def test_unknown_datasets_use_the_question_answer_form() -> None:
    assert item_text("my_items", "Is water wet?", "yes") == "Q: Is water wet? A: yes"
