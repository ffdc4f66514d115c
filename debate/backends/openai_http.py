"""A chat backend for any OpenAI-compatible server (vLLM's server, Ray Serve LLM, hosted APIs).

Requests of a batch go out concurrently (at most `max_concurrency` in flight). Transient
failures -- timeouts, connection errors, HTTP 429 and 5xx -- are retried with capped,
jittered exponential backoff (a server's Retry-After wins, capped too). Everything else
(other 4xx, a 200 whose body is not a usable completion) fails at once. A request that
finally fails comes back as a ChatResult with `error` set; `chat` never raises for one item.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import email.utils
import logging
import math
import time
from typing import Any, Sequence

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from debate.backends.base import ChatRequest, ChatResult, SamplingConfig

logger = logging.getLogger(__name__)

REASON_CHARS = 200


class RequestFailed(Exception):
    """A request that failed in a way resending cannot fix (never retried)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason

    def describe(self) -> str:
        """The "<kind>: <reason>" form stored in ChatResult.error."""
        return f"{self.kind}: {self.reason}"


class TransientFailure(RequestFailed):
    """A failure worth retrying; `retry_after` is the server's requested wait in seconds, if any."""

    def __init__(self, kind: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(kind, reason)
        self.retry_after = retry_after


def _short(text: str) -> str:
    """One line of at most REASON_CHARS characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= REASON_CHARS else flat[: REASON_CHARS - 3] + "..."


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def parse_completion(response: httpx.Response) -> ChatResult:
    """Turn one HTTP response into a ChatResult, or raise TransientFailure / RequestFailed."""
    status = response.status_code
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise TransientFailure(f"http_{status}", _short(response.text) or "(empty body)", retry_after)
    if not 200 <= status < 300:
        raise RequestFailed(f"http_{status}", _short(response.text) or "(empty body)")
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise RequestFailed("bad_response", "body is not JSON: " + _short(response.text)) from None
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise RequestFailed("bad_response", "no choices[0].message.content in the body") from None
    if not isinstance(content, str):
        raise RequestFailed("bad_response", f"choices[0].message.content is {type(content).__name__}")
    usage = body.get("usage") if isinstance(body, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    return ChatResult(
        text=content,
        prompt_tokens=_token_count(usage.get("prompt_tokens")),
        completion_tokens=_token_count(usage.get("completion_tokens")),
    )


def _token_count(value: Any) -> int:
    """A usage count as a non-negative int; 0 when the server did not report it."""
    return value if isinstance(value, int) and value >= 0 else 0


def with_prefill(result: ChatResult, prefill: str) -> ChatResult:
    """A successful result's text with the request's prefill in front (failures stay empty)."""
    if not prefill or result.error is not None:
        return result
    return dataclasses.replace(result, text=prefill + result.text)


def failed_result(error: str) -> ChatResult:
    """The recorded form of a request that finally failed."""
    return ChatResult(text="", prompt_tokens=0, completion_tokens=0, error=error)


class OpenAIChatBackend:
    """Batch chat completion against `{base_url}/v1/chat/completions`.

    `base_url` may end in "/v1" or not. `chat` is synchronous: it runs its own event loop
    (on a private thread when the caller already runs one). After `max_attempts` tries of a
    transient failure the item fails with error "retries_exhausted: <last failure> (<n> attempts)".
    `last_attempts` holds the number of HTTP attempts per request of the latest `chat` call.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_concurrency: int = 8,
        timeout: float = 60.0,
        max_attempts: int = 6,
        backoff_initial: float = 0.5,
        backoff_max: float = 20.0,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if timeout <= 0 or backoff_initial < 0 or backoff_max < 0:
            raise ValueError("timeout must be > 0 and backoffs >= 0")
        root = base_url.rstrip("/")
        if root.endswith("/v1"):
            root = root[: -len("/v1")]
        self.url = f"{root}/v1/chat/completions"
        self.model_id = model
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_max = backoff_max
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
        )
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._closed = False
        self.last_attempts: list[int] = []

    def chat(self, requests: Sequence[ChatRequest], sampling: SamplingConfig) -> list[ChatResult]:
        """Complete every request concurrently; result i answers request i (failures carry `error`)."""
        if self._closed:
            raise RuntimeError("OpenAIChatBackend is closed")
        batch = list(requests)
        if not batch:
            self.last_attempts = []
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._chat_batch(batch, sampling))
        # Called from inside a running loop (a notebook, an async app): use a private thread.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._chat_batch(batch, sampling)).result()

    def close(self) -> None:
        """Mark the backend closed (each `chat` call owns and closes its own HTTP client)."""
        self._closed = True

    def payload(self, request: ChatRequest, sampling: SamplingConfig) -> dict[str, Any]:
        """The JSON body sent for one request.

        A request with a prefill adds it as a final assistant message plus vLLM's extra body
        fields ``continue_final_message: true`` and ``add_generation_prompt: false``, so vLLM's
        server continues that message and returns only the continuation (the backend puts the
        prefill in front). Other servers may ignore those fields and answer with a fresh
        assistant message (the turn's text is then the prefill followed by that message), or
        reject unknown fields with a 4xx (the request then fails). A request with ``choices``
        adds vLLM's ``structured_outputs: {"choice": [...]}`` the same way.
        """
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": [dict(message) for message in request.messages],
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "seed": request.seed,
        }
        if request.prefill:
            body["messages"].append({"role": "assistant", "content": request.prefill})
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        if request.choices:
            body["structured_outputs"] = {"choice": list(request.choices)}
        return body

    async def _chat_batch(
        self, batch: list[ChatRequest], sampling: SamplingConfig
    ) -> list[ChatResult]:
        semaphore = asyncio.Semaphore(self.max_concurrency)
        attempts = [0] * len(batch)
        limits = httpx.Limits(
            max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency
        )
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout), limits=limits, headers=self._headers
        ) as client:
            results = await asyncio.gather(
                *(
                    self._complete(client, semaphore, self.payload(request, sampling), attempts, i)
                    for i, request in enumerate(batch)
                )
            )
        self.last_attempts = attempts
        return [with_prefill(result, request.prefill) for result, request in zip(results, batch)]

    async def _complete(
        self,
        client: httpx.AsyncClient,
        semaphore: asyncio.Semaphore,
        payload: dict[str, Any],
        attempts: list[int],
        index: int,
    ) -> ChatResult:
        """One request with retries; every outcome becomes a ChatResult."""

        async def attempt() -> ChatResult:
            attempts[index] += 1
            return await self._post_once(client, semaphore, payload)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientFailure),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except TransientFailure as exc:
            return failed_result(f"retries_exhausted: {exc.describe()} ({attempts[index]} attempts)")
        except RequestFailed as exc:
            return failed_result(exc.describe())
        except Exception as exc:  # a bug or an unforeseen client error: record it, never guess
            logger.exception("unexpected error for request %d", index)
            return failed_result(f"client_error: {_short(f'{type(exc).__name__}: {exc}')}")

    async def _post_once(
        self, client: httpx.AsyncClient, semaphore: asyncio.Semaphore, payload: dict[str, Any]
    ) -> ChatResult:
        """One HTTP attempt; holds a concurrency slot only while the request is in flight."""
        async with semaphore:
            try:
                response = await client.post(self.url, json=payload)
            except httpx.TimeoutException as exc:
                raise TransientFailure("timeout", f"{type(exc).__name__} after {self.timeout:g} s") from exc
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise TransientFailure("connection", _short(f"{type(exc).__name__}: {exc}")) from exc
            except httpx.RequestError as exc:  # bad URL scheme, proxy or decoding errors
                raise RequestFailed("request_error", _short(f"{type(exc).__name__}: {exc}")) from exc
        return parse_completion(response)

    def _wait(self, retry_state: RetryCallState) -> float:
        """Seconds before the next try: the server's Retry-After if given, else jittered backoff."""
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, TransientFailure) and failure.retry_after is not None:
            return min(failure.retry_after, self.backoff_max)
        return self._backoff(retry_state)

    def _log_retry(self, retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        logger.info(
            "retrying %s after attempt %d (%s) in %.2f s",
            self.url, retry_state.attempt_number, failure, wait,
        )
