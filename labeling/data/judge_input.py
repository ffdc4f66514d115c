"""The one function that formats what a judge reads: the item text plus an optional transcript.

Training, labeling and the judge endpoint all call ``judge_text`` so a judge always sees
its input exactly as it was trained on it. The gold label is never an argument.

Three layouts (``debate.judge_input``): ``item_first`` (the item, then the transcript),
``item_both_ends`` (the item, the transcript, then the item again) and ``item_both_ends_marked``
(the same, with every mention of the candidate answer inside the transcript wrapped in
``<candidate>`` tags). A decoder classifier reads the hidden state of the last token; with
``item_first`` that token ends the transcript, with ``item_both_ends`` it ends the candidate
answer, read after (and able to attend to) the debate. Marking is computed from what the judge
reads anyway (the candidate and the transcript), never from the passage or the label.
"""

from __future__ import annotations

import re

from debate.quotes import has_markers

TRANSCRIPT_HEADING = "### Debate transcript"
RESTATED_HEADING = "### The item judged"
JUDGE_INPUTS = ("item_first", "item_both_ends", "item_both_ends_marked")
CANDIDATE_LEGEND = "(Mentions of the proposed answer are wrapped in <candidate> tags.)"
QUOTE_LEGEND = (
    "(Quotes in <v_quote> tags were checked: they appear word for word in a passage you cannot see. "
    "Quotes in <u_quote> tags were not found in it.)"
)


def candidate_pattern(answer: str) -> re.Pattern[str] | None:
    """A case-blind pattern for the candidate answer's words in order (any non-word run between them)."""
    words = re.findall(r"\w+", answer)
    if not words:
        return None
    return re.compile(r"\b" + r"\W+".join(re.escape(word) for word in words) + r"\b", re.IGNORECASE)


def wrap_candidate(transcript: str, answer: str) -> str:
    """``transcript`` with each mention of ``answer`` wrapped in ``<candidate>`` tags."""
    pattern = candidate_pattern(answer)
    if pattern is None:
        return transcript
    return pattern.sub(lambda m: f"<candidate>{m.group(0)}</candidate>", transcript)


def judge_text(text: str, transcript: str = "", layout: str = "item_first", answer: str = "") -> str:
    """Item text (Burns format) followed by the rendered transcript, if there is one.

    The item comes first so truncation from the right (``item_first``) only ever shortens the
    transcript; the other layouts are cut from the left (``truncation_side``), which keeps the
    restated item the classifier reads last. A transcript with checked quotes is preceded by a
    line saying what the quote markers mean. Without a transcript the text is the item alone.
    ``answer`` (the item's candidate answer) is needed by ``item_both_ends_marked`` only.
    """
    if layout not in JUDGE_INPUTS:
        raise ValueError(f"judge input layout must be one of {JUDGE_INPUTS}, got {layout!r}")
    transcript = transcript.strip()
    if not transcript:
        return text
    legend = f"{QUOTE_LEGEND}\n" if has_markers(transcript) else ""
    if layout == "item_both_ends_marked":
        if not answer.strip():
            raise ValueError("judge input layout item_both_ends_marked needs the item's candidate answer")
        transcript, legend = wrap_candidate(transcript, answer), f"{legend}{CANDIDATE_LEGEND}\n"
    body = f"{text}\n\n{TRANSCRIPT_HEADING}\n{legend}{transcript}"
    return body if layout == "item_first" else f"{body}\n\n{RESTATED_HEADING}\n{text}"


def truncation_side(layout: str) -> str:
    """The end a too-long judge input loses: ``left`` when the item is restated at the end.

    The classifier reads the last token, so with ``item_both_ends`` the restated item must survive;
    cutting from the left drops the first copy of the item and the transcript's start instead.
    """
    if layout not in JUDGE_INPUTS:
        raise ValueError(f"judge input layout must be one of {JUDGE_INPUTS}, got {layout!r}")
    return "right" if layout == "item_first" else "left"
