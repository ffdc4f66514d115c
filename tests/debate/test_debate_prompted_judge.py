"""The prompted weak judge: its prompt, probabilities from choice logprobs, label blindness,
and VLLMChatBackend.choice_logprobs driven by a stand-in engine."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from debate import (
    ChoiceScorer,
    PromptedJudge,
    ScriptedBackend,
    VLLMChatBackend,
    judge_messages,
)
from debate.backends.vllm_local import first_token_choice_logprobs
from debate.prompted_judge import softmax_choices

TEXTS = [f"Q: What is {i} plus {i}? A: {2 * i + i % 2}" for i in range(6)]
TRANSCRIPTS = ["", "Debater A (arguing the answer is correct): It adds up."] * 3


def test_judge_prompt_golden() -> None:
    assert judge_messages("Q: Is ice cold? A: yes") == ({
        "role": "user",
        "content": "Decide whether the proposed answer in the item below is correct.\n\n"
                   "Q: Is ice cold? A: yes\n\n"
                   "Is the proposed answer correct? Reply with Yes or No.",
    },)
    assert judge_messages("Q: Is ice cold? A: yes", " Consultant (arguing ...): Brr. \n") == ({
        "role": "user",
        "content": "Decide whether the proposed answer in the item below is correct.\n\n"
                   "Q: Is ice cold? A: yes\n\n"
                   "Arguments about the item:\n\n"
                   "Consultant (arguing ...): Brr.\n\n"
                   "Is the proposed answer correct? Reply with Yes or No.",
    },)


def test_probabilities_sum_to_one_and_come_from_one_batch_call() -> None:
    backend = ScriptedBackend()
    judge = PromptedJudge(backend)
    probabilities = judge.choice_probabilities(TEXTS, TRANSCRIPTS)
    assert len(backend.choice_calls) == 1 and backend.calls == []
    requests, choices = backend.choice_calls[0]
    assert choices == ("Yes", "No") and len(requests) == len(TEXTS)
    for p in probabilities:
        assert set(p) == {"Yes", "No"}
        assert math.isclose(sum(p.values()), 1.0) and all(0 < v < 1 for v in p.values())
    assert judge.predict_proba(TEXTS, TRANSCRIPTS) == [p["Yes"] for p in probabilities]
    assert len({round(p["Yes"], 9) for p in probabilities}) > 1  # inputs matter
    assert isinstance(backend, ChoiceScorer)


def test_probability_is_the_softmax_over_the_choices() -> None:
    backend = ScriptedBackend(choice_scores=lambda r, c: {"Yes": -1.0, "No": -3.0})
    (p,) = PromptedJudge(backend).predict_proba(["Q: x A: y"])
    assert math.isclose(p, 1 / (1 + math.exp(-2.0)))
    assert softmax_choices({"Yes": -math.inf, "No": -0.5}, ("Yes", "No")) == {"Yes": 0.0, "No": 1.0}
    with pytest.raises(ValueError, match="finite"):
        softmax_choices({"Yes": -math.inf}, ("Yes", "No"))


def test_judge_requests_do_not_depend_on_labels_or_neighbours() -> None:
    rows = [
        {"text": t, "transcript": s, "label": i % 2}
        for i, (t, s) in enumerate(zip(TEXTS, TRANSCRIPTS))
    ]
    relabelled = [dict(r, label=1 - r["label"]) for r in rows]

    def probabilities(batch: list[dict]) -> dict[str, float]:
        judge = PromptedJudge(ScriptedBackend())
        probs = judge.predict_proba([r["text"] for r in batch], [r["transcript"] for r in batch])
        return {r["text"] + r["transcript"]: p for r, p in zip(batch, probs)}

    baseline = probabilities(rows)
    assert probabilities(relabelled) == baseline
    assert probabilities(list(reversed(rows))) == baseline
    assert probabilities(rows[2:3]) == {k: v for k, v in baseline.items() if k.startswith(TEXTS[2])}


def test_judge_input_checks() -> None:
    judge = PromptedJudge(ScriptedBackend())
    assert judge.predict_proba([]) == []
    with pytest.raises(ValueError, match="transcripts"):
        judge.predict_proba(TEXTS, TRANSCRIPTS[:2])
    with pytest.raises(ValueError):
        PromptedJudge(ScriptedBackend(), choices=("A", "B", "C"))


def test_first_token_choice_logprobs_groups_prefix_tokens() -> None:
    candidates = [("Yes", math.log(0.5)), ("Y", math.log(0.1)), ("No", math.log(0.3)),
                  ("Maybe", -0.1), ("", -0.2), ("N", -math.inf)]
    scores = first_token_choice_logprobs(candidates, ("Yes", "No"))
    assert math.isclose(scores["Yes"], math.log(0.6))
    assert math.isclose(scores["No"], math.log(0.3))
    assert first_token_choice_logprobs([("No", -1.0)], ("Yes", "No"))["Yes"] == -math.inf


@dataclass
class FakeParams:
    structured_outputs: Any
    logprobs: int
    max_tokens: int
    temperature: float
    seed: int


@dataclass
class FakeStructured:
    choice: list[str]


@dataclass
class FakeChoiceLLM:
    """Answers like vllm.LLM.chat with one masked logprob position per conversation."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def chat(self, messages: list, sampling_params: list, use_tqdm: bool) -> list:
        self.calls.append({"messages": messages, "params": sampling_params})
        outputs = []
        for i, _ in enumerate(messages):
            position = {
                11: SimpleNamespace(logprob=math.log(0.2 + 0.1 * i), decoded_token="Yes"),
                12: SimpleNamespace(logprob=math.log(0.8 - 0.1 * i), decoded_token="No"),
                13: SimpleNamespace(logprob=-math.inf, decoded_token="Maybe"),
            }
            outputs.append(SimpleNamespace(outputs=[SimpleNamespace(logprobs=[position])]))
        return outputs


def test_vllm_choice_logprobs_uses_structured_outputs_in_one_call() -> None:
    engine = FakeChoiceLLM()
    backend = VLLMChatBackend.from_engine(
        engine, "tiny", sampling_params_cls=FakeParams, structured_outputs_cls=FakeStructured
    )
    judge = PromptedJudge(backend)
    probs = judge.predict_proba(TEXTS[:3])
    assert len(engine.calls) == 1
    params = engine.calls[0]["params"]
    assert params[0] == FakeParams(FakeStructured(["Yes", "No"]), 20, 1, 0.0, 0)
    assert engine.calls[0]["messages"] == [list(judge_messages(t)) for t in TEXTS[:3]]
    assert [round(p, 9) for p in probs] == [0.2, 0.3, 0.4]
    with pytest.raises(ValueError, match="different characters"):
        backend.choice_logprobs(judge.requests(TEXTS[:1]), ("Yes", "Yeah"))
    assert backend.choice_logprobs([], ("Yes", "No")) == []
