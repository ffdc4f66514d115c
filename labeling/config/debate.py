"""Config sections of the debates: sampling, the vLLM engine, protocols and seeds, and the Ray actors.

``DebateSettings`` is what every application that runs debates shares (``w2s run`` and
``w2s label``); ``DebateConfig`` adds the experiment's protocol grid.
"""

from __future__ import annotations

from typing import Annotated, Literal

from debate import PROTOCOLS, SamplingConfig
from pydantic import AfterValidator, Field, field_validator, model_validator

from labeling.config.base import StrictSection, section_from

PositiveInt = Annotated[int, Field(gt=0)]


def _distinct_seeds(value: list[int]) -> list[int]:
    if not value or len(set(value)) != len(value):
        raise ValueError("seeds must be a non-empty list of distinct ints (a repeated seed would count one model twice)")
    return value


DistinctSeeds = Annotated[list[int], AfterValidator(_distinct_seeds)]  # debate seeds and training seeds
Auto = Literal["auto"]

SamplingSettings = section_from(
    SamplingConfig, "SamplingSettings", "Debater sampling parameters (debate.SamplingConfig).", module=__name__
)


class EngineConfig(StrictSection):
    """vLLM engine settings of each debate actor.

    ``dtype: auto`` picks bf16 where the engine's device runs it fast (a CUDA GPU with bf16, a CPU
    with AMX, or one where a measured probe finds bf16 faster) and fp32 elsewhere
    (see ``labeling.exec.hardware``).
    """

    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    max_model_len: int = Field(2048, gt=0)
    enforce_eager: bool = True
    enable_prefix_caching: bool = True
    tensor_parallel_size: int = Field(1, gt=0)
    kv_cache_gib: float = Field(2.0, gt=0, description="VLLM_CPU_KVCACHE_SPACE on CPU builds")
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    block_size: int | None = Field(
        default=None, gt=0,
        description="tokens per KV-cache block (null: the engine's default, 128 on CPU); smaller blocks let "
        "prefix caching reuse more of a prompt shared by the turns of one item; vLLM's CPU attention needs "
        "a multiple of 32; keyed when set (it leaves fp32 turns unchanged but not bf16 ones)",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="environment of each engine actor, e.g. VLLM_CPU_NUM_OF_RESERVED_CPU: '0' on a 2-core box",
    )


class DebateSettings(StrictSection):
    """How each debate is run, whatever runs it (``w2s run`` or ``w2s label``)."""

    sampling: SamplingSettings = SamplingSettings()
    word_limit: int = Field(60, gt=0, description="the length each debater is asked to keep under, in words")
    swap_positions: bool = Field(
        False, description="also run every two-debater protocol with A/B stances swapped and report position bias"
    )
    engine: EngineConfig = EngineConfig()
    shard_size: int = Field(64, gt=0, description="items per shard = per round-synchronous batch")
    quote_span_words: int | None = Field(
        default=None, gt=0,
        description="hidden passage: also mark verbatim runs of at least this many passage words as quotes "
        "(null = only <quote> tags)",
    )
    quote_prefill: bool = Field(
        False,
        description="hidden passage: start every debater turn with '<quote>' for the model to continue "
        "(a quote left open is closed at its first sentence end); items without a passage are unchanged",
    )
    quote_pick: bool = Field(
        False,
        description="hidden passage: open every debater turn with one passage sentence the debater picks "
        "under a structured-outputs constraint, then let it argue (a second request); items without a "
        "passage are unchanged; not with quote_prefill",
    )

    @model_validator(mode="after")
    def _one_quote_opening(self) -> "DebateSettings":
        if self.quote_pick and self.quote_prefill:
            raise ValueError("quote_pick and quote_prefill both open the turn with a quote: choose one")
        return self


class DebateConfig(DebateSettings):
    """Which oversight protocols the experiment runs, with which debate seeds, and how."""

    protocols: list[str] = Field(default_factory=lambda: ["none", "debate"])
    seeds: DistinctSeeds = Field(default_factory=lambda: [0])
    judge_view: Literal["full", "no_quotes", "verified_only"] = Field(
        "full", description="what of a checked transcript the judges read (the quotes ablation)"
    )
    judge_input: Literal["item_first", "item_both_ends", "item_both_ends_marked"] = Field(
        "item_first", description="the trained judge's input layout: item then transcript, or the item "
        "restated after the transcript too (the classifier reads the last token), optionally with the "
        "candidate's mentions in the transcript wrapped in <candidate> tags"
    )
    passage_to_debaters: bool = Field(
        True, description="give the debaters the items' hidden passage; false = the same items debated "
        "without it (the contrast run of a hidden-passage experiment)"
    )
    ensemble_protocols: list[str] | None = Field(
        default=None,
        description="protocols debated with every seed and given ensembles; the others get one judge on "
        "the first seed (null = every protocol)",
    )

    @model_validator(mode="after")
    def _ensemble_protocols_known(self) -> "DebateConfig":
        extra = [p for p in self.ensemble_protocols or [] if p not in self.protocols]
        if extra:
            raise ValueError(f"ensemble_protocols {extra} are not in protocols {self.protocols}")
        return self

    def has_ensembles(self, protocol: str) -> bool:
        """True when ``protocol`` gets every debate seed (and ensembles), not only the first."""
        return self.ensemble_protocols is None or protocol in self.ensemble_protocols

    def seeds_for(self, protocol: str) -> list[int]:
        """The debate seeds ``protocol`` is run with."""
        return list(self.seeds) if self.has_ensembles(protocol) else self.seeds[:1]

    @field_validator("protocols")
    @classmethod
    def _none_first(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in PROTOCOLS]
        if unknown:
            raise ValueError(f"unknown protocols {unknown}; known: {sorted(PROTOCOLS)}")
        if "none" not in value:
            raise ValueError("protocols must include 'none' (the no-oversight baseline)")
        if len(set(value)) != len(value):
            raise ValueError("protocols must not repeat")
        return value



class RayConfig(StrictSection):
    """Where the debate actors run."""

    address: str | None = Field(default=None, description="join this cluster; null = start a local one")
    num_actors: int = Field(1, gt=0)
    num_cpus_per_actor: Annotated[float, Field(ge=0)] | Auto = Field(
        "auto", description="CPUs each engine actor reserves; auto = a local Ray's CPUs shared by the actors, 1 on a cluster"
    )
    num_gpus_per_actor: float = Field(0.0, ge=0)
    local_num_cpus: int | None = Field(default=None, gt=0)
    private_network: Literal["auto", "on", "off"] = Field(
        "auto", description="run a local Ray in a private network namespace (loopback only)"
    )
