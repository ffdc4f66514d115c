"""The configuration of ``w2s label``: the same sections as ``w2s run`` (debate, engine, Ray) plus its own.

``w2s label [CONFIG.yaml] [flags] [--set key=value]``: every flag is a shorthand for one dotted
key of ``LabelJobConfig`` (listed in ``LABEL_FLAGS``), so a YAML file can hold the same settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from debate import PROTOCOLS
from pydantic import Field, field_validator

from labeling.config import (
    Auto,
    absolute_path,
    DebateSettings,
    EngineConfig,
    PositiveInt,
    PromptedJudgeConfig,
    RayConfig,
    Shorthand,
    StrictSection,
    float_or_auto,
    int_or_auto,
)

DEFAULT_DEBATER = "packaged:smollm2-135m-instruct"
# `w2s label` runs beside other work on small machines: vLLM's CPU build reserves no core for itself.
LABEL_ENGINE = EngineConfig(env={"VLLM_CPU_NUM_OF_RESERVED_CPU": "0"})


class LabelInput(StrictSection):
    """Which items to label."""

    spec: str = Field(..., description="registry spec NAME:SPLIT (e.g. sciq:validation) or a .jsonl/.parquet file")
    source: str | None = Field(default=None, description="local dataset folder for a registry spec (null: the hub)")
    data_seed: int = Field(0, description="seed of the registry's candidate draws")
    limit: PositiveInt | None = Field(default=None, description="keep the first N items")


class LabelDebate(DebateSettings):
    """The protocol, how many debate seeds, and how each debate runs."""

    protocol: str = "debate"
    seeds: PositiveInt = Field(1, description="debate seeds 0..K-1")
    weak_picks: str | None = Field(default=None, description="file with id + pick|prob (protocols that argue against the weak pick)")
    engine: EngineConfig = LABEL_ENGINE

    @field_validator("protocol")
    @classmethod
    def _debated_protocol(cls, value: str) -> str:
        known = sorted(p for p in PROTOCOLS if p != "none")
        if value not in known:
            raise ValueError(f"unknown protocol {value!r}; known: {known}")
        return value


class LabelBackend(StrictSection):
    """Who writes the debaters' turns: vLLM in each actor, or an OpenAI-compatible server."""

    kind: Literal["vllm", "openai", "scripted"] = Field("vllm", description="scripted: the deterministic fake of the tests")
    model: str = Field(DEFAULT_DEBATER, description="model ref (vllm) or the server's model name (openai)")
    base_url: str | None = Field(default=None, description="OpenAI-compatible server (kind: openai)")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key (never written)")
    max_concurrency: PositiveInt = Field(8, description="requests in flight per actor (openai)")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="extra keyword arguments of the backend factory")


class LabelJudge(StrictSection):
    """The trained judge that turns transcripts into soft labels (optional)."""

    path: str | None = Field(default=None, description="judge stage folder (model/ + stage.json); null: transcripts only")
    batch_size: PositiveInt = 16
    threads: PositiveInt | Auto = Field("auto", description="torch threads; auto = the cores this process may use")
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto", description="auto = as trained where the hardware runs it natively, else fp32"
    )


class LabelJobConfig(StrictSection):
    """Everything ``w2s label`` does: items -> transcripts (K seeds, on Ray) -> judge labels."""

    out: str = Field(..., description="output folder (a rerun resumes it)")
    input: LabelInput
    debate: LabelDebate = LabelDebate()
    backend: LabelBackend = LabelBackend()
    judge: LabelJudge = LabelJudge()
    prompted_judge: PromptedJudgeConfig | None = Field(
        default=None, description="also label with this chat model prompted for a verdict (vllm backend)"
    )
    ray: RayConfig = RayConfig()

    @field_validator("out")
    @classmethod
    def _absolute_out(cls, value: str) -> str:
        """Resolved against the working directory at load, so Ray workers and temp folders see one path."""
        return absolute_path(value, "out")


LABEL_FLAGS: tuple[Shorthand, ...] = (
    Shorthand("--input", "input.spec", "registry spec NAME:SPLIT (e.g. sciq:validation) or a .jsonl/.parquet file"),
    Shorthand("--source", "input.source", "local dataset folder for a registry spec (default: the hub)"),
    Shorthand("--data-seed", "input.data_seed", "seed of the registry's candidate draws", int),
    Shorthand("--limit", "input.limit", "keep the first N items", int),
    Shorthand("--out", "out", "output folder (a rerun resumes it)"),
    Shorthand("--protocol", "debate.protocol", "protocol to debate",
              choices=tuple(sorted(p for p in PROTOCOLS if p != "none"))),
    Shorthand("--seeds", "debate.seeds", "debate seeds 0..K-1", int),
    Shorthand("--word-limit", "debate.word_limit", "words each debater is asked to stay under", int),
    Shorthand("--max-tokens", "debate.sampling.max_tokens", "tokens per turn", int),
    Shorthand("--temperature", "debate.sampling.temperature", "sampling temperature", float),
    Shorthand("--top-p", "debate.sampling.top_p", "nucleus sampling", float),
    Shorthand("--swap-positions", "debate.swap_positions", "exchange the debaters' stances (position-bias control)", None),
    Shorthand("--quote-span-words", "debate.quote_span_words",
              "items with evidence: also mark verbatim runs of >= K passage words as verified quotes", int, metavar="K"),
    Shorthand("--quote-prefill", "debate.quote_prefill",
              "items with evidence: start each debater turn with '<quote>' for the model to continue", None),
    Shorthand("--quote-pick", "debate.quote_pick",
              "items with evidence: open each debater turn with a passage sentence the debater picks", None),
    Shorthand("--weak-picks", "debate.weak_picks", "file with id + pick|prob (market_making)"),
    Shorthand("--shard-size", "debate.shard_size", "items per shard (one round-synchronous batch)", int),
    Shorthand("--dtype", "debate.engine.dtype", "vLLM engine precision (auto: bf16 only where the device runs it fast)",
              choices=("auto", "bfloat16", "float16", "float32")),
    Shorthand("--max-model-len", "debate.engine.max_model_len", "vLLM context length", int),
    Shorthand("--kv-cache-gib", "debate.engine.kv_cache_gib", "VLLM_CPU_KVCACHE_SPACE on CPU", float),
    Shorthand("--block-size", "debate.engine.block_size", "tokens per KV-cache block (a multiple of 32 on CPU)", int),
    Shorthand("--backend", "backend.kind", "who writes the turns", choices=("vllm", "openai", "scripted")),
    Shorthand("--model", "backend.model", "debater: model ref (vllm) or server model name (openai)"),
    Shorthand("--base-url", "backend.base_url", "OpenAI-compatible server (--backend openai)"),
    Shorthand("--api-key-env", "backend.api_key_env", "environment variable holding the API key"),
    Shorthand("--max-concurrency", "backend.max_concurrency", "requests in flight per actor (openai)", int),
    Shorthand("--judge", "judge.path", "judge stage folder (model/ + stage.json) to label with"),
    Shorthand("--judge-batch-size", "judge.batch_size", "texts per judge forward pass", int),
    Shorthand("--judge-threads", "judge.threads", "torch threads of the judge (auto: the cores this process may use)",
              int_or_auto),
    Shorthand("--judge-dtype", "judge.dtype", "judge precision (auto: as trained where native, else fp32)",
              choices=("auto", "bfloat16", "float32")),
    Shorthand("--prompted-judge", "prompted_judge.model.path",
              "also label with this chat model prompted for a Yes/No verdict (no training; vllm backend)",
              metavar="MODEL"),
    Shorthand("--address", "ray.address", "join this Ray cluster (default: start a local one)"),
    Shorthand("--num-actors", "ray.num_actors", "engine actors", int),
    Shorthand("--num-cpus-per-actor", "ray.num_cpus_per_actor",
              "CPUs each actor reserves (auto: a local Ray's CPUs shared by the actors)", float_or_auto),
    Shorthand("--num-gpus-per-actor", "ray.num_gpus_per_actor", "GPUs each actor reserves", float),
    Shorthand("--local-num-cpus", "ray.local_num_cpus", "CPUs of a local Ray (default: all)", int),
    Shorthand("--private-network", "ray.private_network", "run a local Ray in a private network namespace",
              choices=("auto", "on", "off")),
)
