"""Chat backends: the batch-first contract, a scripted fake, in-process vLLM, OpenAI-compatible HTTP."""

from debate.backends.base import ChatBackend, ChatRequest, ChatResult, SamplingConfig
from debate.backends.openai_http import OpenAIChatBackend
from debate.backends.scripted import ScriptedBackend
from debate.backends.vllm_local import VLLMChatBackend

__all__ = [
    "ChatBackend",
    "ChatRequest",
    "ChatResult",
    "OpenAIChatBackend",
    "SamplingConfig",
    "ScriptedBackend",
    "VLLMChatBackend",
]
