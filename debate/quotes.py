"""Quotes of a hidden passage: checked before anyone else reads a turn, marked verified or unverified.

Debaters who read a passage the judge never sees quote it inside ``<quote>…</quote>``. A quote
is verified when its normalized text is a substring of the normalized passage (curly quotes
straightened, punctuation removed, lower-cased, whitespace collapsed: the rule of the QuALITY
debate code). Verified quotes become ``<v_quote>…</v_quote>``, the others ``<u_quote>…</u_quote>``.
Markers a debater wrote itself are reset to plain quotes first, so nobody can self-certify.

Small models rarely write tags (measured: SmolLM2-135M wrote none in 700 turns, yet 59% of its
transcripts copied a run of at least 5 passage words), so ``span_words=k`` also marks every
untagged run of at least ``k`` consecutive words found verbatim in the passage as a verified
quote: the information the model copies reaches the judge as checked evidence, and the tag rule
still applies to models that follow it.

A prefilled quote opening (``QUOTE_PREFILL``) is the other route for small models: the reply is
started for the model with ``<quote>`` and it continues from there, so every such turn opens with
a quote; ``close_open_quotes`` closes a tag the model left open before the turn is checked.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

VERIFIED, UNVERIFIED = "v_quote", "u_quote"
JUDGE_VIEWS = ("full", "no_quotes", "verified_only")

_CURLY = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ANY_MARKER = re.compile(r"<\s*(/?)\s*(?:v_quote|u_quote|quote)\s*>", re.IGNORECASE)
_TAGGED = re.compile(r"<quote>(.*?)(?:</quote>|$)", re.DOTALL)
_MARKED = re.compile(r"<(v_quote|u_quote)>(.*?)</\1>", re.DOTALL)
_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s|$)|\n")

QUOTE_OPEN, QUOTE_CLOSE = "<quote>", "</quote>"
QUOTE_PREFILL = QUOTE_OPEN  # what a prefilled speaker turn starts with


@dataclass(frozen=True)
class QuoteCheck:
    """A turn after checking: its marked text and counts of quotes, verified quotes and verified words."""

    text: str
    quotes: int
    verified: int
    verified_words: int


def normalize(text: str) -> str:
    """Straighten curly quotes, drop punctuation, lower-case, collapse whitespace."""
    return " ".join(text.translate(_CURLY).translate(_PUNCTUATION).lower().split())


def reset_markers(text: str) -> str:
    """Turn every quote marker a speaker wrote (verified, unverified or plain) into a plain ``<quote>`` tag."""
    return _ANY_MARKER.sub(lambda m: f"<{m.group(1)}quote>", text)


def is_verified(quote: str, normalized_passage: str) -> bool:
    """True when the normalized quote is non-empty and a substring of the normalized passage."""
    needle = normalize(quote)
    return bool(needle) and f" {needle} " in f" {normalized_passage} "


def _first_sentence_end(text: str, start: int, end: int) -> int:
    """Where the first sentence of ``text[start:end]`` ends (after its final punctuation, before a
    line break); ``end`` when it has none. Leading whitespace does not count as a sentence."""
    segment = text[start:end]
    content = start + len(segment) - len(segment.lstrip())
    match = _SENTENCE_END.search(text, content, end)
    if match is None:
        return end
    return match.start() if match.group() == "\n" else match.end()


def close_open_quotes(text: str) -> str:
    """Close every ``<quote>`` not closed before the next ``<quote>`` or the turn's end, at the end
    of the quote's first sentence (or before the next opening / at the end of the turn if the
    quote holds no sentence end).

    Used on turns whose ``<quote>`` opening was prefilled: a small model continues the opening
    with a quote and often never writes ``</quote>``. Left open, the tag would run to the end of
    the turn (the ``<quote>…$`` rule of ``verify_turn``), so the whole argument would become one
    quote, fail the check as a whole, and vanish from the ``no_quotes`` and ``verified_only``
    judge views. A quote is one sentence of the passage far more often than a whole argument, so
    the first sentence end (``.``, ``!`` or ``?`` before whitespace, or a line break) is where the
    closing goes; what follows stays argument. The rule never looks at the passage (closing where
    the passage stops matching would make any quote verified by construction): the checker alone
    decides what is verified. Markers are reset first, as ``verify_turn`` does.
    """
    text = reset_markers(text)
    pieces, position = [], 0
    while (opening := text.find(QUOTE_OPEN, position)) >= 0:
        start = opening + len(QUOTE_OPEN)
        following = text.find(QUOTE_OPEN, start)
        end = following if following >= 0 else len(text)
        closing = text.find(QUOTE_CLOSE, start, end)
        if closing >= 0:
            cut, closer = closing + len(QUOTE_CLOSE), ""
        else:
            cut, closer = _first_sentence_end(text, start, end), QUOTE_CLOSE
        pieces.append(text[position:cut] + closer)
        position = cut
    pieces.append(text[position:])
    return "".join(pieces)


def _mark_spans(segment: str, passage_words: list[str], padded_passage: str, k: int) -> tuple[str, int, int]:
    """Wrap runs of >= k words of ``segment`` found verbatim in the passage in verified markers."""
    tokens = [(normalize(m.group()), m.start(), m.end()) for m in _WORD.finditer(segment)]
    tokens = [t for t in tokens if t[0]]
    grams = {tuple(passage_words[i : i + k]) for i in range(len(passage_words) - k + 1)}
    pieces, last, spans, words, i = [], 0, 0, 0, 0
    while i + k <= len(tokens):
        if tuple(t[0] for t in tokens[i : i + k]) not in grams:
            i += 1
            continue
        j = i + k
        while j < len(tokens) and f" {' '.join(t[0] for t in tokens[i : j + 1])} " in padded_passage:
            j += 1
        start, end = tokens[i][1], tokens[j - 1][2]
        pieces += [segment[last:start], f"<{VERIFIED}>{segment[start:end]}</{VERIFIED}>"]
        last, spans, words, i = end, spans + 1, words + (j - i), j
    pieces.append(segment[last:])
    return "".join(pieces), spans, words


def verify_turn(text: str, passage: str, span_words: int | None = None) -> QuoteCheck:
    """Check every quote of one turn against ``passage`` and mark it; optionally mark verbatim spans too."""
    if span_words is not None and span_words < 1:
        raise ValueError(f"span_words must be >= 1, got {span_words}")
    normalized_passage = normalize(passage)
    text = reset_markers(text)
    quotes = verified = verified_words = 0
    pieces, last = [], 0
    passage_words = normalized_passage.split()
    padded = f" {normalized_passage} "
    for match in _TAGGED.finditer(text):
        outside = text[last : match.start()]
        if span_words:
            outside, n, w = _mark_spans(outside, passage_words, padded, span_words)
            quotes, verified, verified_words = quotes + n, verified + n, verified_words + w
        inner = match.group(1)
        ok = is_verified(inner, normalized_passage)
        quotes += 1
        verified += ok
        verified_words += len(normalize(inner).split()) if ok else 0
        pieces += [outside, f"<{VERIFIED if ok else UNVERIFIED}>{inner}</{VERIFIED if ok else UNVERIFIED}>"]
        last = match.end()
    tail = text[last:]
    if span_words:
        tail, n, w = _mark_spans(tail, passage_words, padded, span_words)
        quotes, verified, verified_words = quotes + n, verified + n, verified_words + w
    pieces.append(tail)
    return QuoteCheck("".join(pieces), quotes, verified, verified_words)


def judge_view(text: str, view: str = "full") -> str:
    """A checked turn as the judge sees it: in full, with every quote removed, or only its verified quotes."""
    if view == "full":
        return text
    if view == "no_quotes":
        return " ".join(_MARKED.sub(" ", text).split())
    if view == "verified_only":
        return " … ".join(f"<{VERIFIED}>{m.group(2)}</{VERIFIED}>" for m in _MARKED.finditer(text) if m.group(1) == VERIFIED)
    raise ValueError(f"judge view must be one of {JUDGE_VIEWS}, got {view!r}")


def has_markers(text: str) -> bool:
    """True when a text holds checked quotes (so a reader must be told what the markers mean)."""
    return f"<{VERIFIED}>" in text or f"<{UNVERIFIED}>" in text


def passage_sentences(passage: str, min_words: int = 4) -> tuple[str, ...]:
    """The passage's sentences (split after ``.``, ``!``, ``?`` or at line breaks), in order, once each.

    Sentences shorter than ``min_words`` words are left out unless no sentence is that long (then
    every non-empty piece is kept), so a non-empty passage always gives at least one sentence.
    These are the choices of a constrained quote pick (``debate.quote_pick``).
    """
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(passage):
        pieces.append(" ".join(passage[start : match.end()].split()))
        start = match.end()
    pieces.append(" ".join(passage[start:].split()))
    pieces = list(dict.fromkeys(piece for piece in pieces if piece))
    long_enough = [piece for piece in pieces if len(piece.split()) >= min_words]
    return tuple(long_enough or pieces)
