"""The one function that formats what a judge reads: the item text plus an optional transcript.

Training, labeling and the judge endpoint all call ``judge_text`` so a judge always sees
its input exactly as it was trained on it. The gold label is never an argument.
"""

from __future__ import annotations

from debate.quotes import has_markers

TRANSCRIPT_HEADING = "### Debate transcript"
QUOTE_LEGEND = (
    "(Quotes in <v_quote> tags were checked: they appear word for word in a passage you cannot see. "
    "Quotes in <u_quote> tags were not found in it.)"
)


def judge_text(text: str, transcript: str = "") -> str:
    """Item text (Burns format) followed by the rendered transcript, if there is one.

    The item comes first so truncation from the right only ever shortens the transcript. A
    transcript with checked quotes is preceded by a line saying what the quote markers mean.
    """
    transcript = transcript.strip()
    if not transcript:
        return text
    legend = f"{QUOTE_LEGEND}\n" if has_markers(transcript) else ""
    return f"{text}\n\n{TRANSCRIPT_HEADING}\n{legend}{transcript}"
