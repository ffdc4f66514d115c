"""The one function that formats what a judge reads: the item text plus an optional transcript.

Training, labeling and the judge endpoint all call ``judge_text`` so a judge always sees
its input exactly as it was trained on it. The gold label is never an argument.

Two layouts (``debate.judge_input``): ``item_first`` (the item, then the transcript) and
``item_both_ends`` (the item, the transcript, then the item again). A decoder classifier reads the
hidden state of the last token; with ``item_first`` that token ends the transcript, with
``item_both_ends`` it ends the candidate answer, read after (and able to attend to) the debate.
"""

from __future__ import annotations

from debate.quotes import has_markers

TRANSCRIPT_HEADING = "### Debate transcript"
RESTATED_HEADING = "### The item judged"
JUDGE_INPUTS = ("item_first", "item_both_ends")
QUOTE_LEGEND = (
    "(Quotes in <v_quote> tags were checked: they appear word for word in a passage you cannot see. "
    "Quotes in <u_quote> tags were not found in it.)"
)


def judge_text(text: str, transcript: str = "", layout: str = "item_first") -> str:
    """Item text (Burns format) followed by the rendered transcript, if there is one.

    The item comes first so truncation from the right only ever shortens the transcript (or, with
    ``item_both_ends``, first the restated item). A transcript with checked quotes is preceded by a
    line saying what the quote markers mean. Without a transcript the text is the item alone.
    """
    if layout not in JUDGE_INPUTS:
        raise ValueError(f"judge input layout must be one of {JUDGE_INPUTS}, got {layout!r}")
    transcript = transcript.strip()
    if not transcript:
        return text
    legend = f"{QUOTE_LEGEND}\n" if has_markers(transcript) else ""
    body = f"{text}\n\n{TRANSCRIPT_HEADING}\n{legend}{transcript}"
    return f"{body}\n\n{RESTATED_HEADING}\n{text}" if layout == "item_both_ends" else body
