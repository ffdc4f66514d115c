"""A small synchronous Python client of the judge API (httpx)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

CLIENT_KEY_ENV = "W2S_JUDGE_API_KEY"


class JudgeClientError(RuntimeError):
    """The server answered with an error status; ``status`` and ``detail`` say which."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"judge server answered {status}: {detail}")
        self.status = status
        self.detail = detail


class JudgeClient:
    """Calls a running ``w2s serve-judge``; the key defaults to ``$W2S_JUDGE_API_KEY``."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 120.0) -> None:
        key = api_key if api_key is not None else os.environ.get(CLIENT_KEY_ENV)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    def __enter__(self) -> "JudgeClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
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
