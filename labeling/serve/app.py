"""The judge HTTP API: FastAPI app factory with auth, limits, micro-batching, debate and metrics."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from labeling.serve.batching import BatcherClosed, MicroBatcher
from labeling.serve.judge_loader import LoadedJudge
from labeling.serve.limits import BodySizeLimit
from labeling.serve.metrics import JudgeMetrics, MetricsMiddleware
from labeling.serve.schemas import DebateTranscript, ErrorResponse, JudgeResponse, JudgeResult, request_models
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


def _validation_message(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors without the offending input echoed back (it may be megabytes)."""
    return [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
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


def _item_key(question: str, answer: str) -> str:
    """A stable item id for a served debate (stances and seeds are derived from it)."""
    return "served-" + hashlib.sha256(f"{question}\x00{answer}".encode()).hexdigest()[:16]


class DebateRunner:
    """Runs the judge's protocol on request items with the strong model, off the event loop."""

    def __init__(self, judge: LoadedJudge, backend: Any, concurrency: int) -> None:
        from debate import SamplingConfig, get_protocol

        defaults = judge.debate
        if defaults is None:
            raise ValueError(f"judge {judge.judge_id} was trained without transcripts; it cannot judge debates")
        protocol = get_protocol(defaults.protocol)
        if defaults.word_limit is not None:
            protocol = replace(protocol, word_limit=int(defaults.word_limit))
        self.protocol = protocol
        self.seed = defaults.seed
        self.sampling = SamplingConfig(**defaults.sampling) if defaults.sampling else SamplingConfig()
        self.backend = backend
        self.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="debate")

    def _run(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        from debate import DebateItem, run_protocol

        unique = {_item_key(q, a): DebateItem(_item_key(q, a), q, a) for q, a in pairs}
        transcripts = run_protocol(
            list(unique.values()), self.protocol, self.backend, seed=self.seed, sampling=self.sampling
        )
        return {t.item_id: t for t in transcripts}

    async def transcripts(self, pairs: list[tuple[str, str]]) -> list[Any]:
        """One transcript per (question, answer) pair, in order (identical pairs share one debate)."""
        loop = asyncio.get_running_loop()
        by_id = await loop.run_in_executor(self.executor, self._run, pairs)
        return [by_id[_item_key(q, a)] for q, a in pairs]

    def close(self) -> None:
        """Wait for running debates and release the threads."""
        self.executor.shutdown(wait=True)


def _transcript_body(transcript: Any) -> DebateTranscript:
    return DebateTranscript(
        protocol=transcript.protocol,
        seed=transcript.seed,
        model_id=transcript.model_id,
        prompt_version=transcript.prompt_version,
        stances=dict(transcript.stances),
        turns=[{"speaker": t.speaker, "stance": t.stance, "text": t.text} for t in transcript.turns],
        text=transcript.render(),
    )


def create_app(judge: LoadedJudge, settings: ServerSettings | None = None, debate_backend: Any = None) -> FastAPI:
    """The judge API around a loaded judge; ``debate_backend`` (a ChatBackend) enables ``debate: true``."""
    settings = settings or ServerSettings()
    metrics = JudgeMetrics()
    _, JudgeRequest = request_models(settings)
    state: dict[str, Any] = {}

    def predict(texts: list[str]) -> np.ndarray:
        return judge.predict_members(texts, batch_size=settings.max_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        import torch

        torch.set_num_threads(settings.threads)
        batcher = MicroBatcher(
            predict, max_batch=settings.max_batch, max_wait_s=settings.max_wait_ms / 1000, on_batch=metrics.observe_batch
        )
        await batcher.start()
        state["batcher"] = batcher
        state["debate"] = DebateRunner(judge, debate_backend, settings.debate_concurrency) if debate_backend else None
        state["ready"] = True
        try:
            yield
        finally:
            state["ready"] = False
            await batcher.stop()
            if state["debate"] is not None:
                state["debate"].close()
            received = int(metrics.started._value.get())
            log.info("judge server stopped cleanly: %d requests received, %d answered", received, metrics.finished)

    app = FastAPI(
        title="w2s weak-judge API",
        version=API_VERSION,
        description="A trained weak judge: P(candidate answer is correct) for binary items, "
        "optionally after a debate by the strong model.",
        lifespan=lifespan,
        responses=ERRORS,
    )
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    authorized = [Depends(_api_key_check(settings))]

    @app.get("/healthz", summary="liveness and readiness")
    async def healthz() -> dict[str, Any]:
        if not state.get("ready"):
            raise HTTPException(503, "not ready")
        return {"status": "ok"}

    @app.get("/v1/models", dependencies=authorized, summary="the loaded judge and its provenance")
    async def models() -> dict[str, Any]:
        card = judge.describe()
        card["debate_enabled"] = state.get("debate") is not None
        if state.get("debate") is not None:
            card["debater"] = getattr(debate_backend, "model_id", None)
        return {"object": "list", "data": [card]}

    @app.get(
        "/metrics",
        dependencies=authorized,
        response_class=PlainTextResponse,
        responses=JSON_ERRORS,
        summary="Prometheus metrics",
    )
    async def prometheus() -> PlainTextResponse:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        batcher = state.get("batcher")
        metrics.queued.set(batcher.queued if batcher else 0)
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def judge_items(body: Any) -> JudgeResponse:
        items = body.items
        transcripts: list[Any] = [None] * len(items)
        if body.debate:
            runner: DebateRunner | None = state.get("debate")
            if runner is None:
                raise HTTPException(400, "debate is not enabled on this server (start it with a debater)")
            started = time.perf_counter()
            try:
                transcripts = await runner.transcripts([(i.question, i.answer) for i in items])
            except Exception:
                log.exception("debate backend failed")
                raise HTTPException(502, "the debate backend failed; try again later") from None
            metrics.debates.observe(time.perf_counter() - started)
        texts = [
            judge.format(i.question, i.answer, t.render() if t is not None else (i.transcript or ""))
            for i, t in zip(items, transcripts)
        ]
        try:
            probs = await state["batcher"].submit(texts)
        except BatcherClosed:
            raise HTTPException(503, "the judge is shutting down") from None
        except ClassifyError:
            log.exception("the judge's pooling server failed")
            raise HTTPException(502, "the judge's scoring backend failed; try again later") from None
        metrics.items.labels(str(bool(body.debate)).lower()).inc(len(items))
        mean = probs.mean(axis=0)
        results = [
            JudgeResult(
                id=item.id,
                probability=float(mean[k]),
                label=int(mean[k] >= settings.threshold),
                member_probabilities=[float(p) for p in probs[:, k]],
                transcript=_transcript_body(transcripts[k]) if transcripts[k] is not None else None,
            )
            for k, item in enumerate(items)
        ]
        return JudgeResponse(model=judge.judge_id, protocol=judge.protocol, threshold=settings.threshold, results=results)

    # the body model is built at run time from the settings, so give FastAPI the class itself
    judge_items.__annotations__["body"] = JudgeRequest
    app.post("/v1/judge", dependencies=authorized, response_model=JudgeResponse, summary="judge items")(judge_items)

    return app
