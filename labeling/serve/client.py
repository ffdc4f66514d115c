"""A small synchronous Python client of the judge API (httpx)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

import httpx

CLIENT_KEY_ENV = "W2S_JUDGE_API_KEY"


class JudgeClientError(RuntimeError):
    """The server answered with an error status; ``status`` and ``detail`` say which."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"judge server answered {status}: {detail}")
        self.status = status
        self.detail = detail


class JudgeUnreachableError(ConnectionError):
    """No answer from the server: nothing listens at the URL, or it did not answer within the timeout."""


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash; a ValueError saying what a judge URL looks like otherwise."""
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"judge URL {base_url!r} must start with http:// or https:// and name a host, "
                         f"e.g. http://127.0.0.1:8000")
    return base_url.rstrip("/")


class JudgeClient:
    """Calls a running ``w2s serve-judge``; the key defaults to ``$W2S_JUDGE_API_KEY``."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 120.0) -> None:
        key = api_key if api_key is not None else os.environ.get(CLIENT_KEY_ENV)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.base_url = check_base_url(base_url)
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def __enter__(self) -> "JudgeClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise JudgeUnreachableError(
                f"the judge server at {self.base_url} did not answer within {self.timeout:g} s "
                f"(a debate or a large batch can take longer: raise --timeout)") from None
        except httpx.TransportError as exc:
            raise JudgeUnreachableError(
                f"cannot reach a judge server at {self.base_url} ({exc}): is `w2s serve-judge` running "
                f"there? check --url") from None
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail", response.text))
            except ValueError:
                detail = response.text
            raise JudgeClientError(response.status_code, detail)
        return response.json()

    def judge(self, items: Iterable[Mapping[str, Any]], debate: bool = False) -> dict[str, Any]:
        """Judge items ``{question, answer, transcript?, id?}``; returns the response (``results`` in order)."""
        return self._call("POST", "/v1/judge", json={"items": [dict(i) for i in items], "debate": debate})

    def models(self) -> dict[str, Any]:
        """What the server has loaded, with provenance."""
        return self._call("GET", "/v1/models")

    def health(self) -> bool:
        """True when the server answers /healthz with 200."""
        try:
            return self._http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False
