"""Each dataset's records formatted as binary items, the Burns texts plain models read, and the evidence.

A formatter turns one record into ``(question, answer, label, text, evidence)``: one candidate
answer (correct or a seeded distractor), its label, the Burns et al. text of question and
candidate (what no-transcript models and judges read), and ``evidence``, a passage only debaters
may read ("" when the dataset has none). Evidence is never part of ``text``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from labeling.data.records import Record, Where, int_field, text_field

NONE_OF_THE_ABOVE = "None of the above choices ."
ASSISTANT_TURN = "\n\nAssistant:"
QUALITY_OPTION = re.compile(r"\(([A-D])\)\s*")

Formatted = tuple[str, str, int, str, str]  # question, answer, label, text, evidence


def item_text(dataset: str, question: str, answer: str) -> str:
    """The Burns-style text of (question, candidate answer) for ``dataset``: what plain models read.

    One function for the registry, the judge endpoint and user item files, so a judge is
    always asked in the format it was trained on. Unknown names (user files) use the SciQ form.
    """
    if dataset in ("boolq", "boolq_hidden_passage", "cosmos_qa", "amazon_polarity"):
        return f"{question}\nAnswer: {answer}"
    if dataset == "anthropic_hh":
        return f"{question} {answer}" if answer else question
    return f"Q: {question} A: {answer}"


def _format_sciq(rec: Record, coin: float, pick: int, where: Where) -> Formatted:
    question = text_field(rec, "question", where)
    correct = text_field(rec, "correct_answer", where)
    distractors = [text_field(rec, f"distractor{i}", where) for i in (1, 2, 3)]
    # A distractor equal to the correct answer (14 SciQ train rows) would be a mislabeled negative.
    wrong = [d for d in distractors if d.strip().casefold() != correct.strip().casefold()]
    if not wrong:
        raise where.error("every distractor equals 'correct_answer'")
    label = int(coin < 0.5)
    answer = correct if label else wrong[pick % len(wrong)]
    support = rec.get("support")
    evidence = support.strip() if isinstance(support, str) else ""
    return question, answer, label, item_text("sciq", question, answer), evidence


def _format_boolq(rec: Record, coin: float, pick: int, where: Where) -> Formatted:
    if not isinstance(rec.get("answer"), bool):
        raise where.error(f"field 'answer' must be a boolean, got {rec.get('answer')!r}")
    question = (f"Passage: {text_field(rec, 'passage', where)}\n"
                f"Question: {text_field(rec, 'question', where)}")
    return question, "yes", int(rec["answer"]), item_text("boolq", question, "yes"), ""


def _format_boolq_hidden(rec: Record, coin: float, pick: int, where: Where) -> Formatted:
    """BoolQ with its passage hidden: the judge sees only the question; the passage is the debaters' evidence."""
    if not isinstance(rec.get("answer"), bool):
        raise where.error(f"field 'answer' must be a boolean, got {rec.get('answer')!r}")
    question = f"Question: {text_field(rec, 'question', where)}"
    passage = text_field(rec, "passage", where)
    return question, "yes", int(rec["answer"]), item_text("boolq", question, "yes"), passage


def _format_cosmos(rec: Record, coin: float, pick: int, where: Where) -> Formatted:
    options = [text_field(rec, f"answer{i}", where) for i in range(4)]
    true_answer = options[int_field(rec, "label", where, range(4))]
    others = [o for o in options if o != true_answer]
    if not others:
        raise where.error("all four answer options are identical")
    # Burns' rule: a true answer of "None of the above" makes the item a forced negative.
    label = 0 if true_answer.strip() == NONE_OF_THE_ABOVE else int(coin < 0.5)
    answer = true_answer if label else others[pick % len(others)]
    question = (f"Context: {text_field(rec, 'context', where)}\n"
                f"Question: {text_field(rec, 'question', where)}")
    return question, answer, label, item_text("cosmos_qa", question, answer), ""


def _format_hh(rec: Record, coin: float, pick: int, where: Where) -> Formatted:
    label = int(coin < 0.5)
    field = "chosen" if label else "rejected"
    dialogue = text_field(rec, field, where)
    text_field(rec, "rejected" if label else "chosen", where)  # the pair must be complete
    cut = dialogue.rfind(ASSISTANT_TURN)
    if cut < 0:
        raise where.error(f"field {field!r} has no {ASSISTANT_TURN!r} turn")
    cut += len(ASSISTANT_TURN)
    # The final reply may be empty (4 chosen dialogues of harmless-base test are): kept as "".
    return dialogue[:cut], dialogue[cut:].lstrip(), label, dialogue, ""


def _format_amazon(rec: Record, coin: float, pick: int, where: Where) -> Formatted:
    title = text_field(rec, "title", where, allow_empty=True)  # some reviews have no title
    content = text_field(rec, "content", where)
    label = int_field(rec, "label", where, range(2))
    question = f"Review title: {title}\nReview: {content}\nIs this review positive?"
    return question, "yes", label, item_text("amazon_polarity", question, "yes"), ""


def _boolq_from_superglue(rec: Record, where: Where) -> Record:
    """SuperGLUE BoolQ record -> hub `google/boolq` shape (bool answer, passage without title)."""
    label = rec.get("label")
    if isinstance(label, str) and label.strip().lower() in ("true", "false"):
        label = label.strip().lower() == "true"
    if not isinstance(label, bool):
        raise where.error(f"field 'label' must be 'true' or 'false', got {label!r}")
    passage = text_field(rec, "passage", where)
    _title, sep, body = passage.partition(" -- ")
    return {"question": rec.get("question"), "passage": body if sep else passage, "answer": label}

def _quality_questions(rec: Record, where: Where) -> list[Record]:
    """One L-Eval QuALITY article line -> one record per question: article, question, 4 options, gold index."""
    article = text_field(rec, "input", where)
    instructions, outputs = rec.get("instructions"), rec.get("outputs")
    if not isinstance(instructions, list) or not isinstance(outputs, list) or len(instructions) != len(outputs):
        raise where.error("fields 'instructions' and 'outputs' must be lists of the same length")
    questions = []
    for number, (instruction, output) in enumerate(zip(instructions, outputs)):
        parts = QUALITY_OPTION.split(str(instruction))
        letters, options = parts[1::2], [o.strip() for o in parts[2::2]]
        gold = QUALITY_OPTION.match(str(output).strip())
        if letters != list("ABCD") or gold is None:
            raise where.error(f"question {number}: expected options (A)-(D) and a gold '(X) ...' answer")
        questions.append({"article": article, "question": parts[0].strip(), "options": options,
                          "gold": "ABCD".index(gold.group(1)), "key": f"{where.row}/q{number}"})
    return questions


def _quality_from_hub(rec: Record, where: Where) -> Record:
    """A ``tasksource/QuALITY`` hub record (one question, 1-based ``gold_label``) -> the local question shape."""
    gold = int_field(rec, "gold_label", where, range(1, 5))
    return {"article": rec.get("article"), "question": rec.get("question"), "options": rec.get("options"),
            "gold": gold - 1, "key": text_field(rec, "question_unique_id", where)}


def _format_quality(rec: Record, coin: float, pick: int, where: Where) -> Formatted:
    """A QuALITY question binarized like Burns' SciQ: the gold option or a seeded distractor; the article is evidence."""
    options = rec.get("options")
    if not isinstance(options, list) or len(options) != 4:
        raise where.error("field 'options' must list 4 answer options")
    gold = int_field(rec, "gold", where, range(4))
    wrong = [o for k, o in enumerate(options) if k != gold and o.strip() != options[gold].strip()]
    if not wrong:
        raise where.error("every option equals the gold answer")
    question = text_field(rec, "question", where)
    label = int(coin < 0.5)
    answer = options[gold] if label else wrong[pick % len(wrong)]
    return question, answer, label, item_text("quality", question, answer), text_field(rec, "article", where)


Formatter = Callable[[Record, float, int, Where], Formatted]
Adapter = Callable[[Record, Where], Record]
Exploder = Callable[[Record, Where], list[Record]]


@dataclass(frozen=True)
class RecordFormat:
    """How one dataset's records become items: the formatter, the field keying the seeded draws,
    an adapter for local files shaped differently from the hub, and an exploder for files holding
    several items per line (QuALITY: one article, many questions)."""

    formatter: Formatter
    key_field: str | None = None
    local_adapter: Adapter | None = None
    exploder: Exploder | None = None  # local files only
    hub_adapter: Adapter | None = None


FORMATS: dict[str, RecordFormat] = {
    "sciq": RecordFormat(_format_sciq),
    "boolq": RecordFormat(_format_boolq, local_adapter=_boolq_from_superglue),
    "boolq_hidden_passage": RecordFormat(_format_boolq_hidden, local_adapter=_boolq_from_superglue),
    "cosmos_qa": RecordFormat(_format_cosmos, key_field="id"),
    "anthropic_hh": RecordFormat(_format_hh),
    "amazon_polarity": RecordFormat(_format_amazon),
    "quality": RecordFormat(_format_quality, key_field="key", exploder=_quality_questions, hub_adapter=_quality_from_hub),
}
