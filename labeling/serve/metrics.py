"""Prometheus metrics of one judge app (own registry, so several apps can live in one process)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class JudgeMetrics:
    """Request counts and latency per route and status, batch sizes, forward time, queue depth."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "w2s_judge_http_requests", "HTTP requests by route and status", ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "w2s_judge_http_request_seconds", "HTTP request latency by route", ["route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.started = Counter("w2s_judge_http_requests_started", "HTTP requests received", registry=self.registry)
        self.finished = 0  # plain count of answered requests, for the shutdown log line
        self.in_flight = Gauge("w2s_judge_http_in_flight", "HTTP requests being handled", registry=self.registry)
        self.items = Counter("w2s_judge_items", "items judged", ["debate"], registry=self.registry)
        self.batch_size = Histogram(
            "w2s_judge_batch_texts", "texts per forward pass", buckets=BATCH_BUCKETS, registry=self.registry
        )
        self.forward = Histogram(
            "w2s_judge_forward_seconds", "seconds per forward pass", buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.queued = Gauge("w2s_judge_queued_texts", "texts waiting for a forward pass", registry=self.registry)
        self.debates = Histogram(
            "w2s_judge_debate_seconds", "seconds per debate call (whole request)",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        """Record one forward pass (called by the micro-batcher)."""
        self.batch_size.observe(size)
        self.forward.observe(seconds)


class MetricsMiddleware:
    """Count and time every HTTP request under its route template (not the raw path)."""

    def __init__(self, app: ASGIApp, metrics: JudgeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.started.inc()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.finished += 1
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(route, scope.get("method", ""), str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
