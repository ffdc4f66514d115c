"""Debate protocols, prompts, transcripts and chat backends (knows nothing of training)."""

from debate.backends import (
    ChatBackend,
    ChatRequest,
    ChatResult,
    SamplingConfig,
    ScriptedBackend,
    VLLMChatBackend,
)
from debate.prompts import PROMPT_VERSION, build_messages, load_prompt
from debate.prompted_judge import ChoiceScorer, PromptedJudge, judge_messages
from debate.protocols import (
    PROTOCOLS,
    DebateItem,
    Protocol,
    TurnSpec,
    consultancy,
    get_protocol,
    market_making,
    sequential_debate,
    simultaneous_debate,
)
from debate.runner import run_protocol, turn_seed
from debate.transcript import Transcript, Turn, render_turns, transcript_arrow_schema

__all__ = [
    "PROMPT_VERSION",
    "PROTOCOLS",
    "ChatBackend",
    "ChatRequest",
    "ChatResult",
    "ChoiceScorer",
    "DebateItem",
    "PromptedJudge",
    "Protocol",
    "SamplingConfig",
    "ScriptedBackend",
    "Transcript",
    "Turn",
    "TurnSpec",
    "VLLMChatBackend",
    "build_messages",
    "consultancy",
    "get_protocol",
    "judge_messages",
    "load_prompt",
    "market_making",
    "render_turns",
    "run_protocol",
    "sequential_debate",
    "simultaneous_debate",
    "transcript_arrow_schema",
    "turn_seed",
]
