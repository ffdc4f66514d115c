"""The one function that formats what a judge reads: the item text plus an optional transcript.

Training, labeling and the judge endpoint all call ``judge_text`` so a judge always sees
its input exactly as it was trained on it. The gold label is never an argument.
"""

from __future__ import annotations

TRANSCRIPT_HEADING = "### Debate transcript"


def judge_text(text: str, transcript: str = "") -> str:
    """Item text (Burns format) followed by the rendered transcript, if there is one.

    The item comes first so truncation from the right only ever shortens the transcript.
    """
    transcript = transcript.strip()
    if not transcript:
        return text
    return f"{text}\n\n{TRANSCRIPT_HEADING}\n{transcript}"
