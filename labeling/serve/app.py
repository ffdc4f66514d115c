"""The judge HTTP API: FastAPI app factory with auth, limits, micro-batching, debate and metrics."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import torch
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from labeling.serve.batching import BatcherClosed, MicroBatcher
from labeling.serve.debate_runner import DebateRunner, transcript_body
from labeling.serve.judge_loader import LoadedJudge
from labeling.serve.limits import BodySizeLimit
from labeling.serve.metrics import JudgeMetrics, MetricsMiddleware
from labeling.serve.redact import without_paths
from labeling.serve.schemas import ErrorResponse, JudgeResponse, JudgeResult, request_models
from labeling.serve.settings import ServerSettings
from labeling.serve.vllm_classify import ClassifyError

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
ERROR_CODES = (400, 401, 413, 422, 500, 502, 503)
ERRORS = {code: {"model": ErrorResponse} for code in ERROR_CODES}
# FastAPI files a model-backed response under the route's own media type, which for /metrics is
# text/plain; errors are always JSON, so that route names the JSON body explicitly instead.
JSON_ERRORS = {
    code: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    for code in ERROR_CODES
}
NOT_JSON = 415  # Unsupported Media Type (RFC 9110): only /v1/judge takes a body


def _is_json(content_type: str | None) -> bool:
    """FastAPI's rule for parsing a body as JSON: ``application/json`` or ``application/*+json``."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _require_json(request: Request) -> None:
    """415 naming the header to send, for a body not declared JSON (FastAPI would not parse it)."""
    content_type = request.headers.get("content-type")
    if not _is_json(content_type):
        got = f"got content-type {content_type[:100]!r}" if content_type else "no content-type header was sent"
        raise HTTPException(NOT_JSON, "the request body must be JSON, sent with the header "
                            f"content-type: application/json ({got})")


def _api_key_check(settings: ServerSettings):
    """A dependency that lets a request through only with a configured Bearer key (if any are set)."""
    bearer = HTTPBearer(auto_error=False, description="an API key from W2S_JUDGE_API_KEYS or the key file")
    keys = [k.encode() for k in settings.api_keys]

    async def check(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if not keys:
            return
        offered = (credentials.credentials if credentials else "").encode()
        # compare_digest against every key so timing does not reveal which key nearly matched
        matched = [hmac.compare_digest(offered, key) for key in keys]
        if not any(matched):
            raise HTTPException(401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"})

    return check


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":  # FastAPI's own message says neither what nor where
        where = error.get("loc", ("body", "?"))[-1]
        return f"the body is not valid JSON (character {where}: {error.get('ctx', {}).get('error', '')})"
    return error.get("msg", "")


def _validation_message(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors without the offending input echoed back (it may be megabytes)."""
    return [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": _message(e), "type": e.get("type", "")}
        for e in errors
    ]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_message(list(exc.errors()))
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return JSONResponse({"detail": f"invalid request: {summary}", "errors": errors}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal server error"}, status_code=500)


class JudgeService:
    """The state behind the routes: the judge, its micro-batcher, the optional debater, the metrics."""

    def __init__(self, judge: LoadedJudge, settings: ServerSettings, debate_backend: Any = None) -> None:
        self.judge, self.settings, self.debate_backend = judge, settings, debate_backend
        self.metrics = JudgeMetrics()
        self.batcher: MicroBatcher | None = None
        self.debate: DebateRunner | None = None
        self.ready = False

    def predict(self, texts: list[str]) -> np.ndarray:
        """Members x texts probabilities (the micro-batcher's forward pass)."""
        return self.judge.predict_members(texts, batch_size=self.settings.max_batch)

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """Start the batcher (and the debate threads), serve, then drain both."""
        torch.set_num_threads(self.settings.threads)
        self.batcher = MicroBatcher(self.predict, max_batch=self.settings.max_batch,
                                    max_wait_s=self.settings.max_wait_ms / 1000, on_batch=self.metrics.observe_batch)
        await self.batcher.start()
        if self.debate_backend is not None:
            self.debate = DebateRunner(self.judge, self.debate_backend, self.settings.debate_concurrency)
        self.ready = True
        try:
            yield
        finally:
            self.ready = False
            await self.batcher.stop()
            if self.debate is not None:
                self.debate.close()
            received = int(self.metrics.started._value.get())
            log.info("judge server stopped cleanly: %d requests received, %d answered", received, self.metrics.finished)

    async def healthz(self) -> dict[str, Any]:
        """Liveness and readiness."""
        if not self.ready:
            raise HTTPException(503, "not ready")
        return {"status": "ok"}

    async def models(self) -> dict[str, Any]:
        """The loaded judge and its provenance; paths on this machine are shown as their last component."""
        card = self.judge.describe()
        card["debate_enabled"] = self.debate is not None
        if self.debate is not None:
            card["debater"] = getattr(self.debate_backend, "model_id", None)
        return without_paths({"object": "list", "data": [card]})

    async def prometheus(self) -> PlainTextResponse:
        """Prometheus metrics."""
        self.metrics.queued.set(self.batcher.queued if self.batcher else 0)
        return PlainTextResponse(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def transcripts(self, items: list[Any]) -> list[Any]:
        """One debate transcript per item (502 when the debater fails)."""
        if self.debate is None:
            raise HTTPException(400, "debate is not enabled on this server (start it with a debater)")
        started = time.perf_counter()
        try:
            transcripts = await self.debate.transcripts([(i.question, i.answer) for i in items])
        except Exception:
            log.exception("debate backend failed")
            raise HTTPException(502, "the debate backend failed; try again later") from None
        self.metrics.debates.observe(time.perf_counter() - started)
        return transcripts

    async def score(self, texts: list[str]) -> np.ndarray:
        """Members x texts probabilities from the micro-batcher (503 while stopping, 502 from a pooling server)."""
        try:
            return await self.batcher.submit(texts)
        except BatcherClosed:
            raise HTTPException(503, "the judge is shutting down") from None
        except ClassifyError:
            log.exception("the judge's pooling server failed")
            raise HTTPException(502, "the judge's scoring backend failed; try again later") from None

    async def judge_items(self, body: Any) -> JudgeResponse:
        """Judge a request's items, after a debate when it asks for one."""
        items = body.items
        transcripts = await self.transcripts(items) if body.debate else [None] * len(items)
        texts = [self.judge.format(i.question, i.answer, t.render() if t is not None else (i.transcript or ""))
                 for i, t in zip(items, transcripts)]
        probs = await self.score(texts)
        self.metrics.items.labels(str(bool(body.debate)).lower()).inc(len(items))
        mean, threshold = probs.mean(axis=0), self.settings.threshold
        results = [
            JudgeResult(id=item.id, probability=float(mean[k]), label=int(mean[k] >= threshold),
                        member_probabilities=[float(p) for p in probs[:, k]],
                        transcript=transcript_body(transcripts[k]) if transcripts[k] is not None else None)
            for k, item in enumerate(items)
        ]
        return JudgeResponse(model=self.judge.judge_id, protocol=self.judge.protocol, threshold=threshold, results=results)


def create_app(judge: LoadedJudge, settings: ServerSettings | None = None, debate_backend: Any = None) -> FastAPI:
    """The judge API around a loaded judge; ``debate_backend`` (a ChatBackend) enables ``debate: true``."""
    settings = settings or ServerSettings()
    service = JudgeService(judge, settings, debate_backend)
    _, JudgeRequest = request_models(settings)
    app = FastAPI(
        title="w2s weak-judge API",
        version=API_VERSION,
        description="A trained weak judge: P(candidate answer is correct) for binary items, "
        "optionally after a debate by the strong model.",
        lifespan=service.lifespan,
        responses=ERRORS,
        # no /docs or /redoc (their pages load scripts from a CDN); /openapi.json is a keyed route below
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    authorized = [Depends(_api_key_check(settings))]
    app.get("/healthz", summary="liveness and readiness")(service.healthz)
    app.get("/v1/models", dependencies=authorized, summary="the loaded judge and its provenance")(service.models)
    app.get("/metrics", dependencies=authorized, response_class=PlainTextResponse, responses=JSON_ERRORS,
            summary="Prometheus metrics")(service.prometheus)

    async def openapi_schema() -> JSONResponse:
        return JSONResponse(app.openapi())

    app.get("/openapi.json", dependencies=authorized, include_in_schema=False)(openapi_schema)

    async def judge_items(body: Any) -> JudgeResponse:
        return await service.judge_items(body)

    # the body model is built at run time from the settings, so give FastAPI the class itself
    judge_items.__annotations__["body"] = JudgeRequest
    app.post("/v1/judge", dependencies=[*authorized, Depends(_require_json)], response_model=JudgeResponse,
             responses={NOT_JSON: {"model": ErrorResponse}}, summary="judge items")(judge_items)
    return app
