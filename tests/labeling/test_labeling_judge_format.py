"""The judge's input: item first, transcript after, and never the gold label."""

from __future__ import annotations

import pandas as pd

import pytest

from labeling.data.judge_input import RESTATED_HEADING, TRANSCRIPT_HEADING, judge_text
from labeling.stages.trained import plain_view, transcript_view


def split(labels: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"x/{i}" for i in range(len(labels))],
            "question": ["What do plants absorb?"] * len(labels),
            "answer": ["carbon dioxide"] * len(labels),
            "label": labels,
            "text": [f"Q: What do plants absorb? A: carbon dioxide #{i}" for i in range(len(labels))],
        }
    )


def test_without_transcript_the_judge_reads_the_plain_text() -> None:
    assert judge_text("Q: a A: b") == "Q: a A: b"
    assert judge_text("Q: a A: b", "   ") == "Q: a A: b"


def test_item_comes_before_the_transcript() -> None:
    text = judge_text("Q: a A: b", "Debater A: yes")
    assert text.startswith("Q: a A: b\n\n" + TRANSCRIPT_HEADING)
    assert text.endswith("Debater A: yes")


def test_judge_inputs_do_not_depend_on_the_gold_label() -> None:
    transcripts = {f"x/{i}": f"Debater A (arguing the answer is correct): point {i}" for i in range(4)}
    one, flipped = split([1, 0, 1, 0]), split([0, 1, 0, 1])
    assert transcript_view(one, transcripts) == transcript_view(flipped, transcripts)
    assert plain_view(one) == plain_view(flipped)
    for text in transcript_view(one, transcripts).texts:
        assert "label" not in text.lower()


def test_checked_quotes_come_with_a_legend_and_plain_transcripts_without() -> None:
    from labeling.data.judge_input import QUOTE_LEGEND, judge_text

    marked = judge_text("Q: q A: a", "Debater A (arguing the answer is correct): <v_quote>x y</v_quote>")
    assert QUOTE_LEGEND in marked and marked.index(QUOTE_LEGEND) > marked.index("Q: q A: a")
    assert QUOTE_LEGEND not in judge_text("Q: q A: a", "Debater A (arguing the answer is correct): plain")


def test_item_both_ends_restates_the_item_after_the_transcript() -> None:
    text = judge_text("Q: a A: b", "Debater A: yes", "item_both_ends")
    assert text == f"Q: a A: b\n\n{TRANSCRIPT_HEADING}\nDebater A: yes\n\n{RESTATED_HEADING}\nQ: a A: b"
    assert text.startswith(judge_text("Q: a A: b", "Debater A: yes"))
    assert judge_text("Q: a A: b", "", "item_both_ends") == "Q: a A: b"  # no transcript: the plain item
    transcripts = {f"x/{i}": "Debater B: no" for i in range(2)}
    view = transcript_view(split([1, 0]), transcripts, "item_both_ends")
    assert all(t.endswith(f"{RESTATED_HEADING}\nQ: What do plants absorb? A: carbon dioxide #{i}")
               for i, t in enumerate(view.texts))
    with pytest.raises(ValueError, match="layout"):
        judge_text("Q: a A: b", "x", "item_last")


def test_item_both_ends_marked_wraps_the_candidates_mentions() -> None:
    from labeling.data.judge_input import CANDIDATE_LEGEND

    transcript = "Debater A: <v_quote>Carbon  dioxide enters leaves.</v_quote> carbon-dioxide, not carbon."
    text = judge_text("Q: What do plants absorb? A: carbon dioxide", transcript, "item_both_ends_marked",
                      "carbon dioxide")
    assert text.count("</candidate>") == 2 and "<candidate>Carbon  dioxide</candidate>" in text
    assert "<candidate>carbon-dioxide</candidate>, not carbon." in text and CANDIDATE_LEGEND in text
    assert text.endswith(f"{RESTATED_HEADING}\nQ: What do plants absorb? A: carbon dioxide")
    assert text.startswith("Q: What do plants absorb? A: carbon dioxide\n\n")  # the item itself is not marked
    with pytest.raises(ValueError, match="candidate answer"):
        judge_text("Q: a A: b", "x", "item_both_ends_marked")
    transcripts = {f"x/{i}": "Debater B: carbon dioxide is wrong" for i in range(2)}
    view = transcript_view(split([1, 0]), transcripts, "item_both_ends_marked")
    assert all("<candidate>carbon dioxide</candidate> is wrong" in t for t in view.texts)


def test_a_restated_item_is_kept_when_an_input_is_too_long() -> None:
    from labeling.data.judge_input import truncation_side

    assert truncation_side("item_first") == "right"  # the item leads: cut the transcript's end
    assert truncation_side("item_both_ends") == truncation_side("item_both_ends_marked") == "left"
    with pytest.raises(ValueError, match="layout"):
        truncation_side("item_last")
