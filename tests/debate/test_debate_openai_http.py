"""OpenAIChatBackend against a loopback fake OpenAI-compatible server that injects failures.

The fake reads "case=<name> key=<key>" from the last message and logs every attempt, so the
tests count retries from the server's side.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from debate import ChatRequest, DebateItem, SamplingConfig, get_protocol, run_protocol
from debate.backends.base import ChatBackend
from debate.backends.openai_http import OpenAIChatBackend, parse_retry_after

DIRECTIVE = re.compile(r"case=(?P<case>[\w-]+) key=(?P<key>\S+)")
SAMPLING = SamplingConfig(temperature=0.3, top_p=0.9, max_tokens=17)
CLIENT_TIMEOUT = 1.0
HANG_SECONDS = 2.0
BACKOFF_MAX = 0.4


@dataclass
class Attempt:
    """One request as the fake server saw it."""

    key: str
    status: int
    arrived: float
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class ServerLog:
    """Every attempt plus the in-flight high-water mark (guarded by `lock`)."""

    attempts: list[Attempt] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def for_key(self, key: str) -> list[Attempt]:
        """The attempts for one key in arrival order."""
        with self.lock:
            return [a for a in self.attempts if a.key == key]


def completion(text: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """A minimal chat.completion body."""
    return {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }


def fake_reply(case: str, key: str, number: int, body: dict[str, Any]) -> tuple[int, dict, bytes]:
    """(status, headers, payload) for attempt `number` of `key`; transient cases fail once."""
    first = number == 1
    if case == "timeout-once" and first:
        time.sleep(HANG_SECONDS)  # the client has given up by now
    elif case == "429-once" and first:
        return 429, {}, b'{"error": "slow down"}'
    elif case == "429-retry-after-once" and first:
        return 429, {"Retry-After": "1"}, b'{"error": "slow down"}'
    elif case == "500-once" and first:
        return 500, {}, b"internal error"
    elif case == "always-503":
        return 503, {}, b"Service Unavailable"
    elif case == "400":
        return 400, {}, b'{"error": "unknown field"}'
    elif case == "garbage":
        return 200, {}, b"<html>not json"
    elif case == "no-choices":
        return 200, {}, b'{"usage": {"prompt_tokens": 1}}'
    elif case == "null-content":
        payload = completion("", 1, 0)
        payload["choices"][0]["message"]["content"] = None
        return 200, {}, json.dumps(payload).encode()
    elif case.startswith("sleep"):  # sleep<ms>
        time.sleep(int(case[5:]) / 1000)
    text = f"echo {key} seed={body['seed']}"
    prompt_tokens = 1000 + len(key)
    return 200, {}, json.dumps(completion(text, prompt_tokens, len(text))).encode()


class FakeOpenAIServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (free port) speaking the chat-completions route."""

    def __init__(self) -> None:
        self.log = ServerLog()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        """Root URL of the server."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        log = self.log

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                with log.lock:
                    log.in_flight += 1
                    log.max_in_flight = max(log.max_in_flight, log.in_flight)
                try:
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    match = DIRECTIVE.search(body["messages"][-1]["content"])
                    case, key = (match["case"], match["key"]) if match else ("ok", "-")
                    with log.lock:
                        number = 1 + sum(a.key == key for a in log.attempts)
                        attempt = Attempt(key, 0, time.monotonic(), body, dict(self.headers))
                        log.attempts.append(attempt)
                    if self.path == "/v1/chat/completions":
                        status, headers, payload = fake_reply(case, key, number, body)
                    else:
                        status, headers, payload = 404, {}, b"no such route"
                    attempt.status = status
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client timed out and closed the connection
                finally:
                    with log.lock:
                        log.in_flight -= 1

        return Handler


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def request(case: str, key: str, seed: int) -> ChatRequest:
    """A request whose last message tells the fake what to do."""
    return ChatRequest(
        messages=({"role": "system", "content": "be brief"}, {"role": "user", "content": f"case={case} key={key}"}),
        seed=seed,
    )


def backend_for(server: FakeOpenAIServer, **overrides: Any) -> OpenAIChatBackend:
    """A backend with tiny backoffs and a short timeout."""
    settings: dict[str, Any] = dict(
        max_concurrency=4, timeout=CLIENT_TIMEOUT, max_attempts=4, backoff_initial=0.01, backoff_max=BACKOFF_MAX
    )
    settings.update(overrides)
    return OpenAIChatBackend(server.base_url, "fake-model", **settings)


# case -> (attempts the server must see, error prefix or None for success)
EXPECTED = {
    "ok": (1, None),
    "timeout-once": (2, None),
    "429-once": (2, None),
    "429-retry-after-once": (2, None),
    "500-once": (2, None),
    "400": (1, "http_400: "),
    "garbage": (1, "bad_response: body is not JSON"),
    "no-choices": (1, "bad_response: no choices[0].message.content"),
    "null-content": (1, "bad_response: choices[0].message.content is NoneType"),
    "always-503": (4, "retries_exhausted: http_503: Service Unavailable (4 attempts)"),
}


def test_retries_only_transient_failures_and_records_the_rest(server: FakeOpenAIServer) -> None:
    backend = backend_for(server)
    assert isinstance(backend, ChatBackend)
    cases = list(EXPECTED)
    requests = [request(case, f"k{i}-{case}", seed=100 + i) for i, case in enumerate(cases)]

    results = backend.chat(requests, SAMPLING)

    assert len(results) == len(requests)
    for i, (case, result) in enumerate(zip(cases, results)):
        key = f"k{i}-{case}"
        attempts, error = EXPECTED[case]
        assert len(server.log.for_key(key)) == attempts, case
        assert backend.last_attempts[i] == attempts, case
        if error is None:
            assert result.error is None, case
            assert result.text == f"echo {key} seed={100 + i}"
            assert (result.prompt_tokens, result.completion_tokens) == (1000 + len(key), len(result.text))
        else:
            assert result.error is not None and result.error.startswith(error), (case, result.error)
            assert (result.text, result.prompt_tokens, result.completion_tokens) == ("", 0, 0)
    assert "unknown field" in results[cases.index("400")].error


def test_retry_after_is_honoured_but_capped(server: FakeOpenAIServer) -> None:
    backend = backend_for(server)
    backend.chat([request("429-retry-after-once", "ra", 1), request("429-once", "plain", 2)], SAMPLING)
    ra_first, ra_second = server.log.for_key("ra")
    plain_first, plain_second = server.log.for_key("plain")
    ra_gap = ra_second.arrived - ra_first.arrived
    plain_gap = plain_second.arrived - plain_first.arrived
    # Retry-After: 1 is capped at backoff_max; the plain 429 waits ~0.01-0.02 s.
    assert BACKOFF_MAX * 0.9 <= ra_gap < 1.0
    assert plain_gap < ra_gap


def test_results_keep_request_order_when_answers_arrive_out_of_order(server: FakeOpenAIServer) -> None:
    delays = [300, 10, 200, 0, 100, 50]
    requests = [request(f"sleep{ms}", f"o{i}", seed=i) for i, ms in enumerate(delays)]
    results = backend_for(server, max_concurrency=6).chat(requests, SAMPLING)
    assert [r.text for r in results] == [f"echo o{i} seed={i}" for i in range(len(delays))]
    assert server.log.max_in_flight > 1  # they really overlapped, so answers finished out of order


@pytest.mark.parametrize("limit", [1, 3])
def test_concurrency_never_exceeds_the_limit(server: FakeOpenAIServer, limit: int) -> None:
    requests = [request("sleep60", f"c{i}", seed=i) for i in range(12)]
    results = backend_for(server, max_concurrency=limit, timeout=10).chat(requests, SAMPLING)
    assert all(r.error is None for r in results)
    assert server.log.max_in_flight == limit


def test_payload_carries_model_messages_sampling_seed_and_key(server: FakeOpenAIServer) -> None:
    backend = OpenAIChatBackend(server.base_url + "/v1/", "fake-model", api_key="sk-test", max_concurrency=2)
    requests = [request("ok", f"p{i}", seed=seed) for i, seed in enumerate([7, 2**31 + 5])]
    backend.chat(requests, SAMPLING)
    for sent, req in zip(requests, [server.log.for_key("p0")[0], server.log.for_key("p1")[0]]):
        assert req.body == {
            "model": "fake-model",
            "messages": [dict(m) for m in sent.messages],
            "temperature": SAMPLING.temperature,
            "top_p": SAMPLING.top_p,
            "max_tokens": SAMPLING.max_tokens,
            "seed": sent.seed,
        }
        assert req.headers["Authorization"] == "Bearer sk-test"


def test_connection_refused_is_retried_then_recorded() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    backend = OpenAIChatBackend(f"http://127.0.0.1:{port}", "m", max_attempts=3, backoff_initial=0.01, timeout=2)
    [result] = backend.chat([request("ok", "x", 1)], SAMPLING)
    assert backend.last_attempts == [3]
    assert result.error is not None and result.error.startswith("retries_exhausted: connection: ConnectError")


def test_wrong_route_404_is_not_retried(server: FakeOpenAIServer) -> None:
    backend = OpenAIChatBackend(server.base_url + "/nope", "m", backoff_initial=0.01)
    [result] = backend.chat([request("ok", "r", 1)], SAMPLING)
    assert len(server.log.for_key("r")) == 1 and result.error.startswith("http_404")


def test_chat_runs_from_a_plain_thread_and_inside_a_running_loop(server: FakeOpenAIServer) -> None:
    backend = backend_for(server)
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(backend.chat([request("ok", "t1", 1)], SAMPLING)))
    worker.start()
    worker.join(timeout=30)

    async def from_async() -> list[Any]:
        return backend.chat([request("ok", "t2", 2)], SAMPLING)

    inside = asyncio.run(from_async())
    assert out[0][0].text == "echo t1 seed=1" and inside[0].text == "echo t2 seed=2"
    assert backend.chat([], SAMPLING) == []
    backend.close()
    with pytest.raises(RuntimeError):
        backend.chat([request("ok", "t3", 3)], SAMPLING)


def test_run_protocol_over_http_fills_every_turn(server: FakeOpenAIServer) -> None:
    items = [DebateItem(f"i{n}", "Which planet is closest to the Sun?", "Mercury") for n in range(3)]
    transcripts = run_protocol(items, get_protocol("debate"), backend_for(server), seed=0, sampling=SAMPLING)
    assert [t.model_id for t in transcripts] == ["fake-model"] * 3
    assert all(turn.text.startswith("echo - seed=") and turn.prompt_tokens == 1001 for t in transcripts for turn in t.turns)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), (" 0.25 ", 0.25), ("-4", 0.0), ("soon", None), ("", None), (None, None), ("nan", None)],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
