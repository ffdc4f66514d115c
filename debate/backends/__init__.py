"""Chat backends: the batch-first contract, a scripted fake, and in-process vLLM."""

from debate.backends.base import ChatBackend, ChatRequest, ChatResult, SamplingConfig
from debate.backends.scripted import ScriptedBackend
from debate.backends.vllm_local import VLLMChatBackend

__all__ = [
    "ChatBackend",
    "ChatRequest",
    "ChatResult",
    "SamplingConfig",
    "ScriptedBackend",
    "VLLMChatBackend",
]
