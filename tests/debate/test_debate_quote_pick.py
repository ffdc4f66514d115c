"""The constrained quote pick: each turn of an item with a passage opens with a passage sentence the model picks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

import pytest

from debate import ChatRequest, DebateItem, SamplingConfig, ScriptedBackend, get_protocol, run_protocol
from debate.backends.openai_http import OpenAIChatBackend
from debate.backends.vllm_local import VLLMChatBackend
from debate.quote_pick import QUOTE_PICK_MAX_TOKENS
from debate.quotes import QUOTE_OPEN, passage_sentences

from test_debate_backends import FakeLLM

SAMPLING = SamplingConfig(temperature=0.0, top_p=1.0, max_tokens=32)
PASSAGE = "Mitochondria are the powerhouse of the cell. They make ATP from glucose and oxygen! Short one."
SENTENCES = ("Mitochondria are the powerhouse of the cell.", "They make ATP from glucose and oxygen!")
WITH_PASSAGE = DebateItem(item_id="p1", question="What makes ATP?", answer="mitochondria", evidence=PASSAGE)
PLAIN = DebateItem(item_id="q1", question="What makes ATP?", answer="ribosomes")


def prefer_atp(request: ChatRequest, choices: Sequence[str]) -> dict[str, float]:
    """Choice scores of a fake model that always picks the sentence about ATP."""
    return {choice: 0.0 if "ATP" in choice else -5.0 for choice in choices}


def argue(request: ChatRequest) -> str:
    return " So the answer holds."


def test_passage_sentences_split_keep_order_and_drop_fragments() -> None:
    assert passage_sentences(PASSAGE) == SENTENCES
    assert passage_sentences("Same four words here. Same four words here.\nA new line starts here") == (
        "Same four words here.", "A new line starts here")
    assert passage_sentences("Tiny. Bits.") == ("Tiny.", "Bits.")  # nothing long enough: keep every piece
    assert passage_sentences("  ") == ()


def test_each_turn_opens_with_the_picked_sentence_as_a_verified_quote() -> None:
    backend = ScriptedBackend(reply=argue, choice_scores=prefer_atp)
    [transcript] = run_protocol([WITH_PASSAGE], get_protocol("debate"), backend, seed=0, sampling=SAMPLING,
                                quote_pick=True)
    assert transcript.failed is None and len(transcript.turns) == 3
    for turn in transcript.turns:
        assert turn.text == "<v_quote>They make ATP from glucose and oxygen!</v_quote> So the answer holds."
        assert (turn.quotes, turn.verified_quotes, turn.verified_words) == (1, 1, 7)
    picks, arguments = backend.calls[0], backend.calls[1]
    assert [(r.prefill, r.choices) for r in picks] == [(QUOTE_OPEN, SENTENCES)]
    assert backend.samplings[0].max_tokens == QUOTE_PICK_MAX_TOKENS and backend.samplings[1] == SAMPLING
    assert arguments[0].prefill == "<quote>They make ATP from glucose and oxygen!</quote>"
    assert arguments[0].choices == () and arguments[0].messages == picks[0].messages
    assert "<v_quote>They make ATP" in backend.calls[2][0].messages[1]["content"]  # the next speaker reads it


def test_items_without_a_passage_get_one_plain_request() -> None:
    backend = ScriptedBackend(reply=argue, choice_scores=prefer_atp)
    _, plain = run_protocol([WITH_PASSAGE, PLAIN], get_protocol("single_critique"), backend, seed=0,
                            sampling=SAMPLING, quote_pick=True)
    assert [[bool(r.choices) for r in call] for call in backend.calls] == [[True], [False, False]] * 2
    assert [t.text for t in plain.turns] == [" So the answer holds.".strip()] * 2


def test_a_failed_pick_fails_its_item_only() -> None:
    backend = ScriptedBackend(reply=argue, choice_scores=prefer_atp,
                              fail=lambda r: "http_500: down" if r.choices and r.seed % 2 == 0 else None)
    items = [DebateItem(item_id=f"p{i}", question="Q?", answer="a", evidence=PASSAGE) for i in range(6)]
    transcripts = run_protocol(items, get_protocol("single_critique"), backend, seed=0, sampling=SAMPLING,
                               quote_pick=True)
    failed = [t for t in transcripts if t.failed]
    assert failed and len(failed) < len(items)
    assert all("http_500: down" in t.failed for t in failed)
    assert all(len(t.turns) == 2 for t in transcripts if not t.failed)


def test_quote_pick_and_prefill_do_not_combine() -> None:
    with pytest.raises(ValueError, match="quote_prefill"):
        run_protocol([WITH_PASSAGE], get_protocol("debate"), ScriptedBackend(), seed=0, sampling=SAMPLING,
                     quote_pick=True, quote_prefill=True)


def test_tokens_of_both_requests_are_counted() -> None:
    backend = ScriptedBackend(reply=argue, choice_scores=prefer_atp)
    [transcript] = run_protocol([WITH_PASSAGE], get_protocol("consultancy"), backend, seed=0, sampling=SAMPLING,
                                quote_pick=True)
    turn = transcript.turns[0]
    assert turn.completion_tokens == len(SENTENCES[1].split()) + len(argue(None).split())  # type: ignore[arg-type]


@dataclass
class FakeStructured:
    choice: list[str]


@dataclass
class FakeParams:
    temperature: float
    top_p: float
    max_tokens: int
    seed: int
    structured_outputs: Any = None


def test_vllm_backend_sends_choices_as_structured_outputs() -> None:
    engine = FakeLLM()
    backend = VLLMChatBackend.from_engine(engine, "tiny", sampling_params_cls=FakeParams,
                                          structured_outputs_cls=FakeStructured)
    user = ({"role": "user", "content": "q"},)
    backend.chat([ChatRequest(user, 1, "<quote>", SENTENCES), ChatRequest(user, 2)], SAMPLING)
    plain, prefilled = engine.calls
    assert plain["params"][0].structured_outputs is None
    assert prefilled["params"][0].structured_outputs == FakeStructured(choice=list(SENTENCES))


def test_openai_payload_carries_the_choices() -> None:
    backend = OpenAIChatBackend("http://127.0.0.1:9", "m")
    user = ({"role": "user", "content": "q"},)
    body = backend.payload(ChatRequest(user, 1, "<quote>", SENTENCES), SAMPLING)
    assert body["structured_outputs"] == {"choice": list(SENTENCES)}
    assert "structured_outputs" not in backend.payload(ChatRequest(user, 1), SAMPLING)
    json.dumps(body)
