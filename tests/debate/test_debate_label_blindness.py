"""Debaters never see gold labels: prompts depend only on question, answer, stance, turns."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from debate import (
    DebateItem,
    SamplingConfig,
    ScriptedBackend,
    get_protocol,
    load_prompt,
    run_protocol,
)

SAMPLING = SamplingConfig()


def row_to_item(row: dict) -> DebateItem:
    """What a caller does with a dataset row: keep only the fields a debater may see."""
    return DebateItem(item_id=row["id"], question=row["question"], answer=row["answer"])


def requests_for(item_id: str, items: list[DebateItem], seed: int = 0) -> list:
    backend = ScriptedBackend(reply=lambda request: f"reply-{request.seed}")
    run_protocol(items, get_protocol("debate"), backend, seed=seed, sampling=SAMPLING)
    index = [item.item_id for item in items].index(item_id)
    return [batch[index] for batch in backend.calls]


def test_debate_item_has_no_label_field() -> None:
    assert [f.name for f in dataclasses.fields(DebateItem)] == ["item_id", "question", "answer", "evidence"]
    with pytest.raises(TypeError):
        DebateItem(item_id="x", question="q", answer="a", label=1)  # type: ignore[call-arg]


def test_templates_do_not_mention_gold_labels() -> None:
    names = ["system"] + [t.instruction for t in get_protocol("debate").turns]
    for name in names:
        text = load_prompt(name).lower()
        for word in ("label", "gold", "ground truth", "ground-truth"):
            assert word not in text, (name, word)


def test_prompts_do_not_depend_on_labels_or_batch_neighbours() -> None:
    target = {"id": "t-1", "question": "What do bees make?", "answer": "honey", "label": 1}
    flipped = dict(target, label=0)
    neighbours_true = [
        {"id": f"n-{i}", "question": f"Q{i}?", "answer": f"A{i}", "label": 1} for i in range(3)
    ]
    neighbours_false = [dict(row, label=0) for row in neighbours_true]
    baseline = requests_for("t-1", [row_to_item(target)])
    batches = [
        [target] + neighbours_true,
        neighbours_false + [flipped],
        neighbours_true[:1] + [flipped] + neighbours_false[1:],
    ]
    for rows in batches:
        assert requests_for("t-1", [row_to_item(r) for r in rows]) == baseline


def test_answer_text_is_the_only_thing_distinguishing_paired_candidates() -> None:
    # Burns-style pairs: the same question with the correct answer and with a distractor.
    right = DebateItem("pair-0", "What is the chemical symbol of gold?", "Au")
    wrong = DebateItem("pair-0", "What is the chemical symbol of gold?", "Ag")
    for r, w in zip(requests_for("pair-0", [right]), requests_for("pair-0", [wrong])):
        assert r.seed == w.seed
        swapped = tuple(
            {"role": m["role"], "content": m["content"].replace("answer: Au", "answer: Ag")}
            for m in r.messages
        )
        assert swapped == w.messages


def test_stance_assignment_is_uncorrelated_with_gold() -> None:
    rng = random.Random(0)
    debate = get_protocol("debate")
    n = 1000
    a_argues_gold = 0
    for i in range(n):
        label = rng.random() < 0.5
        # ids that leak the label, as some dataset exports have, must not bias stances
        item_id = f"sciq-{i}-{'true' if label else 'false'}"
        a_stance_is_correct = debate.assign_stances(item_id, 0)["A"] == "correct"
        a_argues_gold += a_stance_is_correct == label
    assert abs(a_argues_gold - n / 2) <= 4 * math.sqrt(n * 0.25)
