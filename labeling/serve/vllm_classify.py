"""A judge member scored by a vLLM pooling server (``--runner pooling``, ``POST /classify``).

The judge's own checkpoint is served by vLLM; this endpoint keeps formatting, auth, limits and
batching. Texts are tokenized here with the judge's tokenizer and truncated exactly as in
training (``training.batching.tokenize_texts``: special tokens, first ``max_length`` tokens), and
the token ids are sent, so vLLM's own truncation never applies. P(correct) is the probability
vLLM returns for class 1.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


class ClassifyError(RuntimeError):
    """The pooling server failed or answered something that is not a two-class verdict per input."""


class VLLMClassifyClient:
    """Calls ``/classify`` of one vLLM pooling server for one judge member."""

    def __init__(self, base_url: str, model: str | None = None, *, timeout_s: float = 60.0) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)
        self.model = model or self._served_model()

    def _served_model(self) -> str:
        """The one model the server serves (its ``/v1/models``)."""
        data = self._get_json("/v1/models").get("data") or []
        if len(data) != 1:
            raise ClassifyError(f"{self.base_url} serves {len(data)} models; name one with the model argument")
        return str(data[0]["id"])

    def _get_json(self, path: str) -> dict[str, Any]:
        import httpx

        try:
            response = self._http.get(path)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ClassifyError(f"{self.base_url}{path}: {exc}") from None

    def predict(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """P(class 1) for each token-id sequence, in order (float64)."""
        import httpx

        if not token_ids:
            return np.empty(0)
        try:
            response = self._http.post("/classify", json={"model": self.model, "input": [list(t) for t in token_ids]})
        except httpx.HTTPError as exc:
            raise ClassifyError(f"{self.base_url}/classify: {exc}") from None
        if response.status_code != 200:
            raise ClassifyError(f"{self.base_url}/classify answered {response.status_code}: {response.text[:300]}")
        try:
            data = sorted(response.json()["data"], key=lambda d: d["index"])
            probs = [float(d["probs"][1]) for d in data if len(d["probs"]) == 2]
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ClassifyError(f"{self.base_url}/classify: unexpected answer ({exc})") from None
        if len(probs) != len(token_ids):
            raise ClassifyError(f"{self.base_url}/classify gave {len(probs)} two-class verdicts for {len(token_ids)} inputs")
        return np.asarray(probs, dtype=np.float64)

    def describe(self) -> dict[str, str]:
        """Provenance for /v1/models."""
        return {"backend": "vllm-pooling", "url": self.base_url, "model": self.model}

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()
