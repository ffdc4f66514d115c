"""The judge API on Ray Serve: the same FastAPI app in several replicas behind Serve's HTTP proxy.

Every replica loads the judge itself and builds its app with :func:`labeling.serve.app.create_app`,
so API keys, size limits, error bodies and the OpenAPI schema are those of the uvicorn server.
Each replica micro-batches its own requests and keeps its own Prometheus counters (``/metrics``
answers for the replica that took the request). Serve's proxy listens on ``host:port`` and spreads
requests over the replicas.

The settings, API keys included, travel to the replicas inside the pickled deployment, that is
through the Ray cluster's own store: only run this on a cluster nobody else can reach.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labeling.serve.app import create_app
from labeling.serve.judge_loader import load_judge
from labeling.serve.settings import ServerSettings, ensure_safe_binding

if TYPE_CHECKING:
    from fastapi import FastAPI
    from ray.serve import Application

log = logging.getLogger(__name__)

APP_NAME = "w2s-judge"
# set before the replica imports tqdm/tokenizers (both read these at import time)
REPLICA_ENV = {"TQDM_DISABLE": "1", "TOKENIZERS_PARALLELISM": "false"}


@dataclass(frozen=True)
class JudgeSource:
    """Where each replica finds its judge: the arguments of :func:`load_judge`."""

    path: str
    protocol: str | None = None
    training_seed: int = 0
    dtype: str = "auto"


@dataclass(frozen=True)
class ReplicaOptions:
    """How many replicas, what each reserves, and how much work Serve hands each at once."""

    num_replicas: int = 2
    num_cpus: float = 1.0
    max_ongoing_requests: int = 64
    graceful_shutdown_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.num_replicas < 1:
            raise ValueError(f"num_replicas must be >= 1, got {self.num_replicas}")
        if self.num_cpus < 0:
            raise ValueError(f"num_cpus must be >= 0, got {self.num_cpus}")
        if self.max_ongoing_requests < 1:
            raise ValueError(f"max_ongoing_requests must be >= 1, got {self.max_ongoing_requests}")


def build_judge_app(source: JudgeSource, settings: ServerSettings) -> "FastAPI":
    """Load the judge and wrap it in the judge API (runs once in every replica)."""
    judge = load_judge(source.path, protocol=source.protocol, training_seed=source.training_seed, dtype=source.dtype)
    log.info("replica loaded judge %s", judge.judge_id)
    return create_app(judge, settings)


def judge_application(source: JudgeSource, settings: ServerSettings, options: ReplicaOptions) -> "Application":
    """A Serve application: ``options.num_replicas`` copies of the judge API, each built in its replica."""
    from ray import serve

    def build() -> "FastAPI":  # a builder function: Serve calls it inside each replica
        return build_judge_app(source, settings)

    ingress = serve.ingress(build)()
    deployment = serve.deployment(
        ingress,
        name=APP_NAME,
        num_replicas=options.num_replicas,
        max_ongoing_requests=options.max_ongoing_requests,
        graceful_shutdown_timeout_s=options.graceful_shutdown_timeout_s,
        max_constructor_retry_count=2,  # a judge that does not load fails the deploy quickly
        ray_actor_options={"num_cpus": options.num_cpus, "runtime_env": {"env_vars": dict(REPLICA_ENV)}},
    )
    return deployment.bind()


def _proxy_address() -> tuple[str | None, int]:
    """Host and port of the running Serve instance's HTTP proxy."""
    from ray.serve.context import _get_global_client

    config = _get_global_client().http_config
    return config.host, config.port


def deploy_judge(
    source: JudgeSource,
    settings: ServerSettings,
    options: ReplicaOptions | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> str:
    """Start Serve's proxy on ``host:port``, deploy the judge on its replicas, return the base URL.

    Needs a connected Ray (``ray.init``); returns once every replica is up. Refuses a non-loopback
    ``host`` without API keys, and a Serve instance that is already listening somewhere else.
    """
    ensure_safe_binding(host, settings.api_keys)
    from ray import serve

    options = options or ReplicaOptions()
    serve.start(proxy_location="HeadOnly", http_options={"host": host, "port": port})
    if _proxy_address() != (host, port):
        raise RuntimeError(
            f"Ray Serve is already running with its proxy on {_proxy_address()}, not {(host, port)}; "
            "serve.shutdown() it first"
        )
    serve.run(judge_application(source, settings, options), name=APP_NAME, route_prefix="/", blocking=False)
    log.info("judge %s on %d Ray Serve replicas at http://%s:%d", source.path, options.num_replicas, host, port)
    return f"http://{host}:{port}"


def replica_states() -> dict[str, Any]:
    """Replica counts by state of the judge deployment (e.g. ``{"RUNNING": 2}``)."""
    from ray import serve

    app = serve.status().applications[APP_NAME]
    return dict(app.deployments[APP_NAME].replica_states)
