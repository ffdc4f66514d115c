"""The configuration of ``w2s serve-judge``: the same loading as ``w2s run`` (YAML + flags + ``--set``).

``limits`` is derived from ``ServerSettings`` (which owns the defaults and the checks); API keys
never live in a config file: they come from ``$W2S_JUDGE_API_KEYS`` or ``http.api_key_file``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from labeling.config import Auto, PositiveInt, Shorthand, StrictSection, int_or_auto, section_from
from labeling.serve.settings import ServerSettings

ServerLimits = section_from(
    ServerSettings, "ServerLimits", "Request sizes and micro-batching of the judge server (ServerSettings).",
    exclude=("api_keys", "threads"),
    module=__name__,
    descriptions={
        "max_body_bytes": "larger requests get 413", "max_items": "items per request (more: 422)",
        "max_batch": "texts per forward pass (1 = no batching)", "max_wait_ms": "how long a batch waits to fill",
        "threshold": "P(correct) at or above which an answer is called correct",
        "debate_concurrency": "debates the server runs at once",
    },
)


class ServedJudge(StrictSection):
    """Which judge to serve, and how it runs."""

    path: str = Field(..., description="a judge stage folder or a results folder with manifest.json")
    protocol: str | None = Field(default=None, description="which protocol's judges to serve from a results folder")
    training_seed: int = Field(0, description="which training seed's judges (results folder)")
    threads: PositiveInt | Auto = Field("auto", description="torch threads; auto = the cores this process may use")
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto", description="auto = as trained where the hardware runs it natively, else fp32"
    )
    classify_urls: list[str] = Field(
        default_factory=list, description="score with vLLM pooling servers serving the judge's model/ (one per member)"
    )


class HttpSettings(StrictSection):
    """Where and how uvicorn listens."""

    host: str = Field("127.0.0.1", description="bind address (non-loopback needs API keys)")
    port: int = Field(8000, description="TCP port, 1..65535")
    api_key_file: str | None = Field(default=None, description="file with one API key per line (mode 600)")
    graceful_timeout: float = Field(30.0, ge=0, description="seconds in-flight requests get on SIGTERM")
    limit_concurrency: PositiveInt = Field(512, description="open connections before 503s")

    @field_validator("port")
    @classmethod
    def _tcp_port(cls, port: int) -> int:
        # 0 (let the OS pick) is refused too: the server would log and advertise a port it is not on
        if not 1 <= port <= 65535:
            raise ValueError("must be a TCP port in 1..65535 (0, an OS-picked port, is not supported)")
        return port


class DebaterSettings(StrictSection):
    """The strong model that argues when a request asks for a debate (optional)."""

    url: str | None = Field(default=None, description="OpenAI-compatible base URL (key: $W2S_DEBATER_API_KEY)")
    model: str | None = Field(default=None, description="model name to request from url")
    model_path: str | None = Field(default=None, description="run the strong model in-process with vLLM instead")
    concurrency: PositiveInt = Field(8, description="parallel HTTP requests to the debater")

    @model_validator(mode="after")
    def _one_debater(self) -> "DebaterSettings":
        if self.url and self.model_path:
            raise ValueError("give the debater's url or its model_path, not both")
        if self.url and not self.model:
            raise ValueError("a debater url needs model (the model name the server knows)")
        return self


class RayServeSettings(StrictSection):
    """Serve through Ray Serve replicas instead of one uvicorn process."""

    replicas: int = Field(0, ge=0, description="0 = uvicorn")
    cpus_per_replica: float = Field(1.0, gt=0)
    address: str | None = Field(default=None, description="join this Ray cluster (null: start a local Ray)")


class ServeConfig(StrictSection):
    """Everything ``w2s serve-judge`` does."""

    judge: ServedJudge
    limits: ServerLimits = ServerLimits()  # type: ignore[valid-type]
    http: HttpSettings = HttpSettings()
    debater: DebaterSettings = DebaterSettings()
    ray_serve: RayServeSettings = RayServeSettings()

    @model_validator(mode="after")
    def _ray_serve_serves_judges_only(self) -> "ServeConfig":
        if self.ray_serve.replicas and (self.debater.url or self.debater.model_path):
            raise ValueError("--ray-serve-replicas serves judges only; drop the debater to use it")
        if self.ray_serve.replicas and self.judge.classify_urls:
            raise ValueError("--ray-serve-replicas loads the judge in each replica; drop --classify-url to use it")
        return self


SERVE_FLAGS: tuple[Shorthand, ...] = (
    Shorthand("--judge", "judge.path", "a judge stage folder or a results folder with manifest.json"),
    Shorthand("--protocol", "judge.protocol", "which protocol's judges to serve from a results folder"),
    Shorthand("--training-seed", "judge.training_seed", "which training seed's judges (results folder)", int),
    Shorthand("--threads", "judge.threads", "torch threads for the judge (auto: the cores this process may use)",
              int_or_auto),
    Shorthand("--dtype", "judge.dtype", "judge precision (auto: as trained where native, else fp32)",
              choices=("auto", "bfloat16", "float32")),
    Shorthand("--classify-url", "judge.classify_urls",
              "score with a vLLM pooling server (`--runner pooling`) serving the judge's model/; once per member",
              repeat=True, metavar="URL"),
    Shorthand("--host", "http.host", "bind address (non-loopback needs API keys)"),
    Shorthand("--port", "http.port", "port", int),
    Shorthand("--api-key-file", "http.api_key_file", "file with one API key per line (mode 600)"),
    Shorthand("--graceful-timeout", "http.graceful_timeout", "seconds in-flight requests get on SIGTERM", float),
    Shorthand("--limit-concurrency", "http.limit_concurrency", "open connections before 503s", int),
    Shorthand("--max-batch", "limits.max_batch", "texts per forward pass (1 = no batching)", int),
    Shorthand("--max-wait-ms", "limits.max_wait_ms", "how long a batch waits to fill", float),
    Shorthand("--max-items", "limits.max_items", "items per request", int),
    Shorthand("--max-body-bytes", "limits.max_body_bytes", "largest request body", int),
    Shorthand("--max-transcript-chars", "limits.max_transcript_chars", "longest transcript", int),
    Shorthand("--debater-url", "debater.url", "OpenAI-compatible base URL of the strong model"),
    Shorthand("--debater-model", "debater.model", "model name to request from --debater-url"),
    Shorthand("--debater-model-path", "debater.model_path", "run the strong model in-process with vLLM"),
    Shorthand("--debater-concurrency", "debater.concurrency", "parallel HTTP requests to the debater", int),
    Shorthand("--ray-serve-replicas", "ray_serve.replicas", "serve through Ray Serve with this many replicas (0: uvicorn)", int),
    Shorthand("--ray-cpus-per-replica", "ray_serve.cpus_per_replica", "CPUs each replica reserves", float),
    Shorthand("--ray-address", "ray_serve.address", "join this Ray cluster (default: start a local Ray)"),
)
