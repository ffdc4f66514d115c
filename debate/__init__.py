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
from debate.protocols import PROTOCOLS, DebateItem, Protocol, TurnSpec, get_protocol
from debate.runner import run_protocol, turn_seed
from debate.transcript import Transcript, Turn, render_turns, transcript_arrow_schema

__all__ = [
    "PROMPT_VERSION",
    "PROTOCOLS",
    "ChatBackend",
    "ChatRequest",
    "ChatResult",
    "DebateItem",
    "Protocol",
    "SamplingConfig",
    "ScriptedBackend",
    "Transcript",
    "Turn",
    "TurnSpec",
    "VLLMChatBackend",
    "build_messages",
    "get_protocol",
    "load_prompt",
    "render_turns",
    "run_protocol",
    "transcript_arrow_schema",
    "turn_seed",
]
