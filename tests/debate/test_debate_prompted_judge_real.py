"""The prompted judge on in-process vLLM with SmolLM2-135M-Instruct (slow).

Checks that vLLM's structured-outputs `choice` constraint plus logprobs gives every item
a probability strictly between 0 and 1, from one batched call.
"""

from __future__ import annotations

import math

import pytest

from debate import PromptedJudge, VLLMChatBackend

TEXTS = [
    "Q: What gas do plants take in for photosynthesis? A: carbon dioxide",
    "Q: At sea level, at what temperature does water boil? A: 50 Celsius",
    "Q: Which planet is closest to the Sun? A: Mercury",
    "Q: Which organ pumps blood around the body? A: the liver",
]
TRANSCRIPTS = [
    "",
    "Debater A (arguing the answer is incorrect): Water boils at 100 Celsius at sea level.",
    "",
    "Consultant (arguing the answer is correct): The liver filters blood, so it pumps it.",
]


@pytest.mark.real
def test_real_prompted_judge_gives_soft_verdicts(smollm2_backend: VLLMChatBackend) -> None:
    judge = PromptedJudge(smollm2_backend)
    scores = smollm2_backend.choice_logprobs(judge.requests(TEXTS, TRANSCRIPTS), judge.choices)
    for score in scores:
        assert set(score) == {"Yes", "No"}
        # The grammar masks everything else, so the two choices hold all the mass.
        assert all(math.isfinite(v) and v <= 0 for v in score.values())
        assert math.isclose(sum(math.exp(v) for v in score.values()), 1.0, rel_tol=1e-3)
    probabilities = judge.predict_proba(TEXTS, TRANSCRIPTS)
    assert len(probabilities) == 4
    assert all(0.0 < p < 1.0 for p in probabilities), probabilities
    assert judge.predict_proba(TEXTS, TRANSCRIPTS) == pytest.approx(probabilities, abs=1e-6)
