"""The prefilled quote opening on the real in-process vLLM engine (packaged SmolLM2-135M, slow).

Uses the session `smollm2_backend` fixture from tests/conftest.py.
"""

from __future__ import annotations

import pytest

from debate import ChatRequest, DebateItem, SamplingConfig, VLLMChatBackend, get_protocol, run_protocol

PASSAGE = "Mitochondria are the powerhouse of the cell. They make ATP from glucose and oxygen."
MESSAGES = (
    {"role": "system", "content": f"Passage:\n{PASSAGE}"},
    {"role": "user", "content": "Quote the sentence of the passage that says what mitochondria make."},
)
GREEDY = SamplingConfig(temperature=0.0, top_p=1.0, max_tokens=12)


@pytest.mark.real
def test_vllm_continues_the_quote_opening(smollm2_backend: VLLMChatBackend) -> None:
    """The continuation is exactly what the model generates after the chat prompt plus ``<quote>``."""
    from vllm import SamplingParams

    plain, prefilled = smollm2_backend.chat([ChatRequest(MESSAGES, 0), ChatRequest(MESSAGES, 0, "<quote>")], GREEDY)
    assert prefilled.text.startswith("<quote>") and 0 < prefilled.completion_tokens <= GREEDY.max_tokens
    llm = smollm2_backend._llm
    tokenizer = llm.get_tokenizer()
    opening = len(tokenizer.encode("<quote>", add_special_tokens=False))
    assert prefilled.prompt_tokens == plain.prompt_tokens + opening  # an open assistant message, no end token
    prompt = tokenizer.apply_chat_template(list(MESSAGES), add_generation_prompt=True, tokenize=False) + "<quote>"
    [raw] = llm.generate([prompt], SamplingParams(temperature=0.0, max_tokens=GREEDY.max_tokens), use_tqdm=False)
    assert prefilled.text == "<quote>" + raw.outputs[0].text
    assert prefilled.completion_tokens == len(raw.outputs[0].token_ids)


@pytest.mark.real
def test_real_prefilled_debate_turns_open_with_a_checked_quote(smollm2_backend: VLLMChatBackend) -> None:
    item = DebateItem("real-q", "What do mitochondria make?", "ATP", evidence=PASSAGE)
    sampling = SamplingConfig(temperature=0.7, top_p=0.95, max_tokens=32)
    [transcript] = run_protocol([item], get_protocol("single_critique"), smollm2_backend, seed=0,
                                sampling=sampling, quote_prefill=True)
    for turn in transcript.turns:
        assert turn.text.startswith(("<v_quote>", "<u_quote>")) and turn.quotes >= 1
        assert 0 < turn.completion_tokens <= sampling.max_tokens


@pytest.mark.real
def test_real_quote_picks_are_whole_passage_sentences(smollm2_backend: VLLMChatBackend) -> None:
    """With ``quote_pick`` the engine's structured-outputs choice makes each turn open with one passage sentence."""
    from debate.quotes import passage_sentences

    item = DebateItem("real-pick", "What do mitochondria make?", "ATP", evidence=PASSAGE)
    sampling = SamplingConfig(temperature=0.7, top_p=0.95, max_tokens=16)
    [transcript] = run_protocol([item], get_protocol("single_critique"), smollm2_backend, seed=0,
                                sampling=sampling, quote_pick=True)
    assert transcript.failed is None and len(transcript.turns) == 2
    tokenizer = smollm2_backend._llm.get_tokenizer()
    for turn in transcript.turns:
        [sentence] = [s for s in passage_sentences(PASSAGE) if turn.text.startswith(f"<v_quote>{s}</v_quote>")]
        assert turn.verified_quotes >= 1
        picked = len(tokenizer.encode(sentence, add_special_tokens=False))
        assert picked - 2 <= turn.completion_tokens <= picked + 3 + sampling.max_tokens  # pick (BPE may differ) + argument
