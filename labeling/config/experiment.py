"""The experiment's configuration: data -> debate -> judge -> student -> table, as one validated model.

Unknown keys and wrong types are errors that name the key's dotted path. Relative
paths (output folder, local data source) are resolved against the working directory
when the config is loaded, so every stage and worker process sees absolute paths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from labeling.config.base import StrictSection, section_from
from labeling.config.sources import label_sources, source_names
from labeling.config.bootstrap import BootstrapLink, chain_problem
from labeling.config.debate import Auto, DebateConfig, DistinctSeeds, PositiveInt, RayConfig
from labeling.config.loading import absolute_path, apply_overrides, read_yaml, validate
from labeling.config.tracking import TrackingConfig
from labeling.config.train_settings import TrainSettings


class DataConfig(StrictSection):
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


class ModelConfig(StrictSection):
    """A model reference (hub id, local folder or ``packaged:<name>``), optionally truncated."""

    path: str
    num_hidden_layers: int | None = Field(default=None, gt=0)


class ModelsConfig(StrictSection):
    """The three model roles: weak (floor and judge), strong (ceiling and student), debater."""

    weak: ModelConfig
    strong: ModelConfig
    debater: ModelConfig


class LossSpec(StrictSection):
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
        return self.sources is None or bool(source_names(protocol, ensemble) & set(self.sources))

    @property
    def label(self) -> str:
        """Short name for tables, e.g. ``logconf`` or ``logconf(aux_coef=0.5)``."""
        if not self.params:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v:g}' for k, v in sorted(self.params.items()))})"


Ensemble = Literal["single", "debate_ensemble", "finetune_ensemble"]


class TrainingConfig(StrictSection):
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
    seeds: DistinctSeeds = Field(default_factory=lambda: [0])
    threads: PositiveInt | Auto = Field("auto", description="torch threads per training process; auto = fit the cores")
    workers: PositiveInt | Auto = Field(
        "auto", description="models trained side by side in worker processes; auto = fit the cores"
    )
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto", description="autocast precision; auto = bf16 only where the hardware runs it natively"
    )
    executor: Literal["local", "ray"] = Field(
        "local", description="local: `workers` spawned processes here; ray: one Ray task per model on the cluster "
        "of `ray.address` (or a local Ray), each asking for job_cpus and job_gpus"
    )
    job_cpus: float = Field(1.0, gt=0, description="CPUs each training task asks Ray for (executor: ray)")
    job_gpus: float = Field(0.0, ge=0, description="GPUs each training task asks Ray for (executor: ray)")
    on_failure: Literal["stop", "continue"] = Field(
        "stop", description="a failed model: stop the phase (stop), or finish the others first and then fail "
        "naming every failed one (continue); finished models are kept either way"
    )
    predict_batch_size: int = Field(16, gt=0)
    bootstrap: list[BootstrapLink] = Field(
        default_factory=list,
        description="bootstrapping chain, weak -> these models -> strong, each trained on the previous one's "
        "labels: {num_hidden_layers: N} (models.strong cut to N layers) or {path, num_hidden_layers}; [] = off",
    )
    bootstrap_sources: list[str] = Field(
        default_factory=lambda: ["none"],
        description="label sources a bootstrapping chain starts from, as 'protocol' (its single judge) or "
        "'protocol/ensemble' (e.g. debate/debate_ensemble)",
    )

    @model_validator(mode="after")
    def _data_parallel_on_ray(self) -> "TrainingConfig":
        roles = [role for role in ("weak", "judge", "strong") if getattr(self, role).data_parallel > 1]
        if roles and self.executor != "ray":
            raise ValueError(f"training.{roles[0]}.data_parallel > 1 needs training.executor: ray "
                             "(Ray Train starts the model's processes)")
        return self

    @model_validator(mode="before")
    @classmethod
    def _bf16_renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "bf16" in data:
            raise ValueError("training.bf16 was replaced by training.dtype (auto | bfloat16 | float32)")
        return data


class EvalConfig(StrictSection):
    """Bootstrap settings."""

    n_boot: int = Field(2000, gt=0)
    alpha: float = Field(0.05, gt=0, lt=1)
    seed: int = 0
    transcript_probe: bool = Field(
        True, description="fit the reference classifier on transcripts (a diagnostic, never a label source)"
    )

    @property
    def boot(self) -> dict[str, int | float]:
        """The keyword arguments every bootstrap estimate of a run takes: n_boot, alpha, seed."""
        return {"n_boot": self.n_boot, "alpha": self.alpha, "seed": self.seed}


FIXED_IN_COMPARE = ("name", "output_dir", "compare", "data.dataset", "data.source")


class CompareDataset(StrictSection):
    """One entry of a comparison grid: a dataset, optionally with its own settings (the rest is shared)."""

    dataset: str
    source: str | None = None
    name: str | None = Field(
        default=None, description="the entry's results folder and row label (default: the dataset)"
    )
    overrides: list[str] = Field(
        default_factory=list,
        description="key.path=value settings for this entry only, like --set (e.g. debate.judge_view=verified_only, "
        "debate.passage_to_debaters=false); finished stages they do not change are reused",
    )

    @property
    def label(self) -> str:
        """The entry's name in folders and tables."""
        return self.name or self.dataset

    @field_validator("overrides")
    @classmethod
    def _not_fixed(cls, value: list[str]) -> list[str]:
        for item in value:
            key = item.split("=", 1)[0].strip()
            if "=" not in item or any(key == k or key.startswith(f"{k}.") for k in FIXED_IN_COMPARE):
                raise ValueError(f"override {item!r}: give key.path=value for a key other than {FIXED_IN_COMPARE}")
        return value


class CompareConfig(StrictSection):
    """``w2s compare``: the datasets of the grid and the method every other one is tested against."""

    datasets: list[CompareDataset] = Field(default_factory=list, description="empty = the data section's dataset")

    @field_validator("datasets")
    @classmethod
    def _labels_unique(cls, value: list[CompareDataset]) -> list[CompareDataset]:
        labels = [entry.label for entry in value]
        if len(set(labels)) != len(labels):
            raise ValueError(f"entries need distinct names (set `name:`), got {labels}")
        return value
    baseline: str | None = Field(
        default=None, description="method name; null = the plain fine-tune on weak-floor labels with the first loss"
    )


class PromptedJudgeConfig(StrictSection):
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


class ExperimentConfig(StrictSection):
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
    tracking: TrackingConfig = TrackingConfig()
    prompted_judge: PromptedJudgeConfig | None = Field(
        default=None, description="also label with a prompted (not fine-tuned) judge; null = off"
    )

    def known_source_names(self) -> set[str]:
        """Every name a setting may use for one of this run's label sources (``source_names`` of each)."""
        return set().union(*(source_names(s.protocol, s.ensemble) for s in label_sources(self)))

    @model_validator(mode="after")
    def _loss_sources_exist(self) -> "ExperimentConfig":
        known = self.known_source_names()
        for i, loss in enumerate(self.training.student_losses):
            unknown = [name for name in loss.sources or [] if name not in known]
            if unknown:
                raise ValueError(
                    f"training.student_losses[{i}].sources: {unknown} match no label source of this run, "
                    f"so no student would train on them; known: {sorted(known)}"
                )
        return self

    @model_validator(mode="after")
    def _bootstrap_chain_fits(self) -> "ExperimentConfig":
        if not self.training.bootstrap:
            return self
        if problem := chain_problem(self.training.bootstrap, self.models.weak, self.models.strong):
            raise ValueError(problem)
        known = self.known_source_names()
        unknown = [s for s in self.training.bootstrap_sources if s not in known]
        if unknown or not self.training.bootstrap_sources:
            raise ValueError(f"training.bootstrap_sources: {unknown or 'empty'} match no label source of this run; "
                             f"known: {sorted(known)}")
        return self


def _resolve_relative_paths(data: dict[str, Any]) -> dict[str, Any]:
    """Make the output folder and every local data source absolute (relative to the working directory)."""
    data = json.loads(json.dumps(data))
    if isinstance(data.get("output_dir"), str):
        data["output_dir"] = absolute_path(data["output_dir"], "output_dir")
    tracking = data.get("tracking")
    if isinstance(tracking, dict) and isinstance(tracking.get("dir"), str):
        tracking["dir"] = absolute_path(tracking["dir"], "tracking.dir")
    sections = [data.get("data")] + list((data.get("compare") or {}).get("datasets") or [])
    for i, section in enumerate(sections):
        if isinstance(section, dict) and isinstance(section.get("source"), str):
            # always a local folder (the hub is `null`): a bare `mydata` is as relative as `./mydata`
            key = "data.source" if i == 0 else f"compare.datasets[{i - 1}].source"
            section["source"] = absolute_path(section["source"], key)
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read a YAML experiment config, apply ``--set`` overrides, and validate it."""
    data = apply_overrides(read_yaml(path), overrides or [])
    return validate(ExperimentConfig, _resolve_relative_paths(data), str(path))
