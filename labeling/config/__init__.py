"""Configuration of every application: strict pydantic sections loaded from YAML, flags and ``--set``.

``experiment`` holds ``w2s run``'s model, ``debate`` the sections shared by everything that runs
debates, ``base`` the section machinery (library dataclasses own the defaults), ``loading`` the one
path from a file and a command line to a validated model.
"""

from labeling.config.base import ConfigError, DerivedSection, StrictSection, section_from
from labeling.config.bootstrap import BootstrapLink, chain_description
from labeling.config.debate import (
    Auto,
    DebateConfig,
    DebateSettings,
    EngineConfig,
    PositiveInt,
    RayConfig,
    SamplingSettings,
)
from labeling.config.experiment import (
    CompareConfig,
    CompareDataset,
    DataConfig,
    Ensemble,
    EvalConfig,
    ExperimentConfig,
    LossSpec,
    ModelConfig,
    ModelsConfig,
    PromptedJudgeConfig,
    TrainingConfig,
    TrainSettings,
    load_config,
    source_names,
)
from labeling.config.tracking import TrackingConfig
from labeling.config.loading import (
    absolute_path,
    Shorthand,
    add_config_args,
    apply_overrides,
    config_hash,
    float_or_auto,
    int_or_auto,
    load_from_args,
    parse_override,
    read_yaml,
    set_key,
    validate,
)

__all__ = [
    "Auto", "BootstrapLink", "CompareConfig", "CompareDataset", "ConfigError", "DataConfig", "DebateConfig", "DebateSettings",
    "DerivedSection", "EngineConfig", "Ensemble", "EvalConfig", "ExperimentConfig", "LossSpec", "ModelConfig",
    "ModelsConfig", "PositiveInt", "PromptedJudgeConfig", "RayConfig", "SamplingSettings", "Shorthand",
    "StrictSection", "TrackingConfig", "TrainSettings", "TrainingConfig", "absolute_path", "add_config_args", "apply_overrides", "chain_description", "config_hash", "float_or_auto", "int_or_auto",
    "load_config", "load_from_args", "parse_override", "read_yaml", "section_from", "set_key", "source_names", "validate",
]
