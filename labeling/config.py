"""Experiment configuration: YAML files validated by typed models, with ``--set`` overrides.

Unknown keys and wrong types are errors that name the key's dotted path. Relative
paths (output folder, local data source) are resolved against the working directory
when the config is loaded, so every stage and worker process sees absolute paths.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(ValueError):
    """A config file or override that does not describe a valid experiment."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    """Which dataset, from where, and how many items per split."""

    dataset: str = "sciq"
    source: str | None = Field(
        default=None, description="local folder laid out like shared/data/<name>; null = the HF hub"
    )
    data_seed: int = 0
    split_seed: int = 0
    weak_train: int = Field(200, gt=0)
    strong_train: int = Field(200, gt=0)
    test: int = Field(200, gt=0)
    require_evidence: bool = Field(
        False, description="keep only items with a hidden passage (hidden-passage runs: every debate has one)"
    )


class ModelConfig(_Strict):
    """A model reference (hub id, local folder or ``packaged:<name>``), optionally truncated."""

    path: str
    num_hidden_layers: int | None = Field(default=None, gt=0)


class ModelsConfig(_Strict):
    """The three model roles: weak (floor and judge), strong (ceiling and student), debater."""

    weak: ModelConfig
    strong: ModelConfig
    debater: ModelConfig


class SamplingSettings(_Strict):
    """Debater sampling parameters."""

    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    max_tokens: int = Field(96, gt=0)


PositiveInt = Annotated[int, Field(gt=0)]
Auto = Literal["auto"]


class EngineConfig(_Strict):
    """vLLM engine settings of each debate actor.

    ``dtype: auto`` picks bf16 where the engine's device runs it natively (a CUDA GPU with bf16,
    a CPU with AVX512_BF16 or AMX) and fp32 elsewhere (see ``labeling.exec.hardware``).
    """

    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    max_model_len: int = Field(2048, gt=0)
    enforce_eager: bool = True
    enable_prefix_caching: bool = True
    tensor_parallel_size: int = Field(1, gt=0)
    kv_cache_gib: float = Field(2.0, gt=0, description="VLLM_CPU_KVCACHE_SPACE on CPU builds")
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    env: dict[str, str] = Field(
        default_factory=dict,
        description="environment of each engine actor, e.g. VLLM_CPU_NUM_OF_RESERVED_CPU: '0' on a 2-core box",
    )


class DebateConfig(_Strict):
    """Which oversight protocols to run, with which debate seeds, and how."""

    protocols: list[str] = Field(default_factory=lambda: ["none", "debate"])
    seeds: list[int] = Field(default_factory=lambda: [0])
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
    judge_view: Literal["full", "no_quotes", "verified_only"] = Field(
        "full", description="what of a checked transcript the judges read (the quotes ablation)"
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
        from debate import PROTOCOLS

        unknown = [p for p in value if p not in PROTOCOLS]
        if unknown:
            raise ValueError(f"unknown protocols {unknown}; known: {sorted(PROTOCOLS)}")
        if "none" not in value:
            raise ValueError("protocols must include 'none' (the no-oversight baseline)")
        if len(set(value)) != len(value):
            raise ValueError("protocols must not repeat")
        return value

    @field_validator("seeds")
    @classmethod
    def _seeds_nonempty(cls, value: list[int]) -> list[int]:
        if not value or len(set(value)) != len(value):
            raise ValueError("seeds must be a non-empty list of distinct ints")
        return value


class RayConfig(_Strict):
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


class TrainSettings(_Strict):
    """Fine-tuning hyper-parameters of one model role (see training.TrainConfig)."""

    epochs: float = Field(1.0, gt=0)
    lr: float = Field(5e-5, gt=0)
    batch_size: int = Field(8, gt=0)
    grad_accum: int = Field(1, gt=0)
    max_length: int = Field(512, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    weight_decay: float = Field(0.0, ge=0)
    loss: Literal["xent", "logconf", "product"] = "xent"
    loss_params: dict[str, float] = Field(
        default_factory=dict, description="e.g. {aux_coef: 0.75, warmup_frac: 0.2} for logconf"
    )


class LossSpec(_Strict):
    """A student loss, its parameters, and optionally which label sources it is trained on."""

    name: Literal["xent", "logconf", "product"] = "xent"
    params: dict[str, float] = Field(default_factory=dict)
    sources: list[str] | None = Field(
        default=None,
        description="label sources to train this loss on, as 'protocol' (its single judge) or "
        "'protocol/ensemble' (e.g. debate/debate_ensemble); null = every source",
    )

    def applies_to(self, protocol: str, ensemble: str) -> bool:
        """True when a student with this loss is trained on the labels of (protocol, ensemble)."""
        if self.sources is None:
            return True
        names = {f"{protocol}/{ensemble}"} | ({protocol} if ensemble == "single" else set())
        return bool(names & set(self.sources))

    @property
    def label(self) -> str:
        """Short name for tables, e.g. ``logconf`` or ``logconf(aux_coef=0.5)``."""
        if not self.params:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v:g}' for k, v in sorted(self.params.items()))})"


Ensemble = Literal["single", "debate_ensemble", "finetune_ensemble"]


class TrainingConfig(_Strict):
    """Hyper-parameters per role, plus the machine settings shared by all of them.

    ``ensembles`` picks how weak labels are made from the judges: ``single`` (the judge of the
    first debate seed), ``debate_ensemble`` (one judge per debate seed, labels averaged) and
    ``finetune_ensemble`` (as many judges as debate seeds, all on the first seed's transcripts,
    with different training seeds). ``student_losses`` trains one student per loss.
    """

    weak: TrainSettings = TrainSettings()
    judge: TrainSettings = TrainSettings(max_length=768)
    strong: TrainSettings = TrainSettings()
    ensembles: list[Ensemble] = Field(default_factory=lambda: ["debate_ensemble"])
    student_losses: list[LossSpec] = Field(default_factory=lambda: [LossSpec()])
    seeds: list[int] = Field(default_factory=lambda: [0])
    threads: PositiveInt | Auto = Field("auto", description="torch threads per training process; auto = fit the cores")
    workers: PositiveInt | Auto = Field(
        "auto", description="models trained side by side in worker processes; auto = fit the cores"
    )
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto", description="autocast precision; auto = bf16 only where the hardware runs it natively"
    )
    predict_batch_size: int = Field(16, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _bf16_renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "bf16" in data:
            raise ValueError("training.bf16 was replaced by training.dtype (auto | bfloat16 | float32)")
        return data


class EvalConfig(_Strict):
    """Bootstrap settings."""

    n_boot: int = Field(2000, gt=0)
    alpha: float = Field(0.05, gt=0, lt=1)
    seed: int = 0


class CompareDataset(_Strict):
    """One dataset of a comparison grid (the rest of the config is shared)."""

    dataset: str
    source: str | None = None


class CompareConfig(_Strict):
    """``w2s compare``: the datasets of the grid and the method every other one is tested against."""

    datasets: list[CompareDataset] = Field(default_factory=list, description="empty = the data section's dataset")
    baseline: str | None = Field(
        default=None, description="method name; null = the plain fine-tune on weak-floor labels with the first loss"
    )


class PromptedJudgeConfig(_Strict):
    """The prompted weak judge: a chat model asked for a constrained verdict, never fine-tuned."""

    model: ModelConfig
    choices: list[str] = Field(
        default_factory=lambda: ["Yes", "No"], description="the one-token answers; the first means 'correct'"
    )

    @field_validator("choices")
    @classmethod
    def _two_choices(cls, value: list[str]) -> list[str]:
        if len(value) != 2 or len(set(value)) != 2:
            raise ValueError("choices must be two different answers (correct first)")
        return value


class ExperimentConfig(_Strict):
    """A whole experiment: data -> debate -> judge -> student -> table."""

    name: str
    output_dir: str = "runs"
    data: DataConfig = DataConfig()
    models: ModelsConfig
    debate: DebateConfig = DebateConfig()
    ray: RayConfig = RayConfig()
    training: TrainingConfig = TrainingConfig()
    eval: EvalConfig = EvalConfig()
    compare: CompareConfig = CompareConfig()
    prompted_judge: PromptedJudgeConfig | None = Field(
        default=None, description="also label with a prompted (not fine-tuned) judge; null = off"
    )


def _format_validation_error(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid config {origin}:"]
    for err in exc.errors():
        path = ".".join(str(part) for part in err["loc"]) or "<root>"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {path}: unknown key")
        else:
            lines.append(f"  {path}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into its key path and a YAML-parsed value."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key.path=value")
    key, raw = item.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override {item!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {item!r}: value is not valid YAML: {exc}") from exc
    return parts, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``key.path=value`` override set (CLI wins over YAML)."""
    result = json.loads(json.dumps(data))
    for item in overrides:
        parts, value = parse_override(item)
        node = result
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                prefix = ".".join(parts[: depth + 1])
                raise ConfigError(f"override {item!r}: {prefix} is not a section")
            node = child
        node[parts[-1]] = value
    return result


def _resolve_relative_paths(data: dict[str, Any]) -> dict[str, Any]:
    """Make the output folder and a local data source absolute (relative to the working directory)."""
    data = json.loads(json.dumps(data))
    if isinstance(data.get("output_dir"), str):
        data["output_dir"] = str(Path(data["output_dir"]).expanduser().resolve())
    sections = [data.get("data")] + list((data.get("compare") or {}).get("datasets") or [])
    for section in sections:
        if isinstance(section, dict) and isinstance(section.get("source"), str):
            source = section["source"]
            if source.startswith((".", "/", "~")):
                section["source"] = str(Path(source).expanduser().resolve())
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read a YAML experiment config, apply ``--set`` overrides, and validate it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    data = apply_overrides(data, overrides or [])
    data = _resolve_relative_paths(data)
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, str(path))) from None


def config_hash(payload: Any, length: int = 10) -> str:
    """Stable short hash of a JSON-able payload (pydantic models are dumped first)."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
