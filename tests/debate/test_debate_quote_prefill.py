"""The prefilled quote opening: speaker turns of items with a passage start with ``<quote>`` for the model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from debate import ChatRequest, DebateItem, SamplingConfig, ScriptedBackend, get_protocol, run_protocol
from debate.backends.openai_http import OpenAIChatBackend
from debate.backends.vllm_local import VLLMChatBackend
from debate.quotes import QUOTE_PREFILL, close_open_quotes

from test_debate_backends import FakeLLM, FakeSamplingParams  # the shared vLLM fake

SAMPLING = SamplingConfig(temperature=0.0, top_p=1.0, max_tokens=32)
PASSAGE = "Mitochondria are the powerhouse of the cell. They make ATP from glucose and oxygen."
WITH_PASSAGE = DebateItem(item_id="p1", question="What makes ATP?", answer="mitochondria", evidence=PASSAGE)
PLAIN = DebateItem(item_id="q1", question="What makes ATP?", answer="ribosomes")


def copying_reply(request: ChatRequest) -> str:
    """A continuation that copies passage words and never closes the quote a prefill opened."""
    if request.prefill:
        return " They make ATP from glucose and oxygen. So the answer holds."
    return "An argument without quotes."


def test_close_open_quotes_closes_at_the_first_sentence_end() -> None:
    assert close_open_quotes("<quote>They make ATP. So A wins.") == "<quote>They make ATP.</quote> So A wins."
    assert close_open_quotes("<quote>\nThey make ATP\nSo A") == "<quote>\nThey make ATP</quote>\nSo A"
    assert close_open_quotes("<quote>no sentence end") == "<quote>no sentence end</quote>"
    assert close_open_quotes("<quote>kept</quote> as is. <quote>x? y") == "<quote>kept</quote> as is. <quote>x?</quote> y"
    assert close_open_quotes("<quote>3.5 grams! yes") == "<quote>3.5 grams!</quote> yes"
    assert close_open_quotes("<v_quote>forged.") == "<quote>forged.</quote>"  # markers reset first
    assert close_open_quotes("no quote. at all") == "no quote. at all"


def test_scripted_backend_continues_the_prefill() -> None:
    request = ChatRequest(messages=({"role": "user", "content": "two words"},), seed=1, prefill="<quote>")
    [result] = ScriptedBackend(reply=lambda r: "a b c").chat([request], SAMPLING)
    assert result.text == "<quote>a b c"
    assert (result.prompt_tokens, result.completion_tokens) == (3, 3)  # the prefill is prompt, not completion
    plain = ChatRequest(messages=request.messages, seed=1)
    assert ScriptedBackend().chat([plain], SAMPLING) == ScriptedBackend().chat([plain], SAMPLING)
    assert ScriptedBackend().chat([request], SAMPLING)[0].text.startswith("<quote>Scripted argument")


def test_prefilled_turns_start_with_a_verified_quote() -> None:
    backend = ScriptedBackend(reply=copying_reply)
    [transcript] = run_protocol([WITH_PASSAGE], get_protocol("debate"), backend, seed=0, sampling=SAMPLING,
                                quote_prefill=True)
    assert all(r.prefill == QUOTE_PREFILL for call in backend.calls for r in call)
    for turn in transcript.turns:
        assert turn.text == "<v_quote> They make ATP from glucose and oxygen.</v_quote> So the answer holds."
        assert (turn.quotes, turn.verified_quotes, turn.verified_words) == (1, 1, 7)
        assert turn.completion_tokens == len(copying_reply(ChatRequest((), 0, "<quote>")).split())
    later_prompt = backend.calls[1][0].messages[1]["content"]
    assert "<v_quote> They make ATP" in later_prompt  # the next speaker reads the checked quote


def test_no_prefill_without_a_passage_or_with_the_option_off() -> None:
    backend = ScriptedBackend(reply=copying_reply)
    mixed = run_protocol([WITH_PASSAGE, PLAIN], get_protocol("single_critique"), backend, seed=0,
                         sampling=SAMPLING, quote_prefill=True)
    assert [[r.prefill for r in call] for call in backend.calls] == [["<quote>", ""], ["<quote>", ""]]
    assert [t.text for t in mixed[1].turns] == ["An argument without quotes."] * 2
    off = ScriptedBackend(reply=copying_reply)
    [transcript] = run_protocol([WITH_PASSAGE], get_protocol("single_critique"), off, seed=0, sampling=SAMPLING)
    assert all(r.prefill == "" for call in off.calls for r in call)
    assert all(t.quotes == 0 for t in transcript.turns)


def test_prefill_leaves_the_request_seeds_and_messages_alone() -> None:
    on, off = ScriptedBackend(reply=copying_reply), ScriptedBackend(reply=copying_reply)
    run_protocol([WITH_PASSAGE], get_protocol("single_critique"), on, seed=3, sampling=SAMPLING, quote_prefill=True)
    run_protocol([WITH_PASSAGE], get_protocol("single_critique"), off, seed=3, sampling=SAMPLING)
    assert [r.seed for r in on.calls[0]] == [r.seed for r in off.calls[0]]
    assert on.calls[0][0].messages == off.calls[0][0].messages



def test_vllm_backend_continues_prefilled_requests_in_their_own_call() -> None:
    engine = FakeLLM()  # answers " out <k> " to the k-th conversation of each call
    backend = VLLMChatBackend.from_engine(engine, "tiny", sampling_params_cls=FakeSamplingParams)
    user = ({"role": "user", "content": "q"},)
    requests = [ChatRequest(user, 1, "<quote>"), ChatRequest(user, 2), ChatRequest(user, 3, "<quote>")]
    results = backend.chat(requests, SAMPLING)
    plain, prefilled = engine.calls
    assert [r.text.strip() for r in results] == ["<quote> out 0", "out 0", "<quote> out 1"]
    assert [r.completion_tokens for r in results] == [2, 2, 3]  # generated tokens only, not the prefill
    assert [p.seed for p in plain["params"]] == [2] and plain["options"] == {}
    assert [p.seed for p in prefilled["params"]] == [1, 3]
    assert prefilled["options"] == {"add_generation_prompt": False, "continue_final_message": True}
    assert all(m[-1] == {"role": "assistant", "content": "<quote>"} for m in prefilled["messages"])


def test_openai_payload_asks_vllm_to_continue_the_prefill() -> None:
    backend = OpenAIChatBackend("http://127.0.0.1:9", "m")
    user = ({"role": "user", "content": "q"},)
    body = backend.payload(ChatRequest(user, 1, "<quote>"), SAMPLING)
    assert body["messages"][-1] == {"role": "assistant", "content": "<quote>"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    plain = backend.payload(ChatRequest(user, 1), SAMPLING)
    assert "continue_final_message" not in plain and len(plain["messages"]) == 1
    json.dumps(body)


def test_openai_backend_puts_the_prefill_before_the_continuation(monkeypatch: pytest.MonkeyPatch) -> None:
    from debate.backends import openai_http
    from debate.backends.base import ChatResult

    async def fake_complete(self: Any, client: Any, semaphore: Any, payload: dict, attempts: list, index: int) -> ChatResult:
        if payload["seed"] == 2:
            return openai_http.failed_result("http_400: no")
        return ChatResult(text=" copied words", prompt_tokens=4, completion_tokens=2)

    monkeypatch.setattr(OpenAIChatBackend, "_complete", fake_complete)
    user = ({"role": "user", "content": "q"},)
    requests = [ChatRequest(user, 1, "<quote>"), ChatRequest(user, 2, "<quote>"), ChatRequest(user, 3)]
    results = OpenAIChatBackend("http://127.0.0.1:9", "m").chat(requests, SAMPLING)
    assert [r.text for r in results] == ["<quote> copied words", "", " copied words"]
    assert results[1].error == "http_400: no"
