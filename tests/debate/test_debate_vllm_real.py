"""A real debate with in-process vLLM and the SmolLM2-135M-Instruct checkpoint (slow).

Uses the session `smollm2_backend` fixture from tests/conftest.py. vLLM starts its engine-core /
worker processes with spawn; under `python -m pytest` that is safe without extra guards.
"""

from __future__ import annotations

import pytest

from debate import DebateItem, SamplingConfig, VLLMChatBackend, get_protocol, run_protocol

ITEMS = [
    DebateItem("real-0", "What gas do plants take in for photosynthesis?", "carbon dioxide"),
    DebateItem("real-1", "At sea level, at what temperature does water boil?", "50 Celsius"),
    DebateItem("real-2", "Which planet is closest to the Sun?", "Mercury"),
    DebateItem("real-3", "Which organ pumps blood around the body?", "the liver"),
]
SAMPLING = SamplingConfig(temperature=0.7, top_p=0.95, max_tokens=48)


@pytest.mark.real
def test_real_debate_is_complete_and_reproducible(smollm2_backend: VLLMChatBackend) -> None:
    debate = get_protocol("debate")
    first = run_protocol(ITEMS, debate, smollm2_backend, seed=0, sampling=SAMPLING)
    again = run_protocol(ITEMS, debate, smollm2_backend, seed=0, sampling=SAMPLING)

    assert [t.item_id for t in first] == [item.item_id for item in ITEMS]
    for transcript in first:
        assert transcript.model_id == "smollm2-135m-instruct"
        assert [turn.speaker for turn in transcript.turns] == ["A", "B", "A"]
        for turn in transcript.turns:
            assert turn.text.strip()
            assert turn.prompt_tokens > 0
            assert 0 < turn.completion_tokens <= SAMPLING.max_tokens
            assert turn.seconds > 0
        prompt_sizes = [turn.prompt_tokens for turn in transcript.turns]
        assert prompt_sizes == sorted(prompt_sizes) and prompt_sizes[0] < prompt_sizes[2]
    assert [[u.text for u in t.turns] for t in first] == [[u.text for u in t.turns] for t in again]
