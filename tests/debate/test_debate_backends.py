"""Backends: the scripted fake and the vLLM adapter (driven by a stand-in engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from debate import ChatBackend, ChatRequest, SamplingConfig, ScriptedBackend, VLLMChatBackend

REQUESTS = [
    ChatRequest(
        messages=({"role": "system", "content": "be brief"}, {"role": "user", "content": "q one"}),
        seed=11,
    ),
    ChatRequest(messages=({"role": "user", "content": "q two here"},), seed=12),
]


def test_sampling_config_to_dict() -> None:
    assert SamplingConfig().to_dict() == {"temperature": 0.7, "top_p": 0.95, "max_tokens": 96}


def test_scripted_default_reply_is_deterministic_and_request_dependent() -> None:
    backend = ScriptedBackend()
    first = backend.chat(REQUESTS, SamplingConfig())
    second = ScriptedBackend().chat(REQUESTS, SamplingConfig())
    assert first == second
    assert first[0].text != first[1].text
    assert [r.prompt_tokens for r in first] == [4, 3]
    assert all(r.completion_tokens == len(r.text.split()) for r in first)
    assert backend.calls == [REQUESTS]
    assert isinstance(backend, ChatBackend)


@dataclass
class FakeSamplingParams:
    temperature: float
    top_p: float
    max_tokens: int
    seed: int


@dataclass
class FakeLLM:
    """Answers like vllm.LLM.chat: one RequestOutput-like object per conversation."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def chat(self, messages: list, sampling_params: list, use_tqdm: bool, **options: Any) -> list:
        self.calls.append({"messages": messages, "params": sampling_params, "tqdm": use_tqdm, "options": options})
        return [
            SimpleNamespace(
                prompt_token_ids=list(range(10 + i)),
                outputs=[SimpleNamespace(text=f" out {i} ", token_ids=[1] * (i + 2))],
            )
            for i, _ in enumerate(messages)
        ]


def test_vllm_backend_makes_one_call_with_per_request_seeds() -> None:
    engine = FakeLLM()
    backend = VLLMChatBackend.from_engine(engine, "tiny", sampling_params_cls=FakeSamplingParams)
    sampling = SamplingConfig(temperature=0.2, top_p=0.5, max_tokens=7)
    results = backend.chat(REQUESTS, sampling)

    assert len(engine.calls) == 1
    call = engine.calls[0]
    assert call["tqdm"] is False
    assert call["messages"] == [list(r.messages) for r in REQUESTS]
    assert call["params"] == [
        FakeSamplingParams(0.2, 0.5, 7, 11),
        FakeSamplingParams(0.2, 0.5, 7, 12),
    ]
    assert [(r.text, r.prompt_tokens, r.completion_tokens) for r in results] == [
        (" out 0 ", 10, 2),
        (" out 1 ", 11, 3),
    ]
    assert backend.model_id == "tiny"
    assert backend.chat([], sampling) == [] and len(engine.calls) == 1


def test_vllm_backend_close_is_idempotent_and_final() -> None:
    backend = VLLMChatBackend.from_engine(FakeLLM(), "tiny", sampling_params_cls=FakeSamplingParams)
    backend.close()
    backend.close()
    with pytest.raises(RuntimeError, match="closed"):
        backend.chat(REQUESTS, SamplingConfig())


def test_importing_debate_does_not_import_vllm() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, debate; assert 'vllm' not in sys.modules, 'vllm imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
