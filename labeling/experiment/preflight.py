"""Before the first stage of ``w2s run`` / ``w2s compare``: every model the run will load (and its dataset), checked.

A wrong strong or debater model used to fail only after the weak floor trained (or after every
debate ran). ``check_experiment`` resolves each model reference the run needs and reports every
problem at once, each with the config key that names the model.
"""

from __future__ import annotations

from labeling.config import ConfigError, ExperimentConfig
from labeling.data.registry import DATASETS
from labeling.exec.backends import block_size_problem
from labeling.store import ModelNotFoundError, check_model


def models_needed(cfg: ExperimentConfig, *, chat_models: bool = True) -> dict[str, tuple[str, int | None]]:
    """Config key -> (model reference, truncation) of every model this run loads.

    ``chat_models=False`` when another chat backend stands in for vLLM (the debater and the prompted
    judge are then never loaded from these references).
    """
    models = cfg.models
    needed = {
        "models.weak": (models.weak.path, models.weak.num_hidden_layers),
        "models.strong": (models.strong.path, models.strong.num_hidden_layers),
    }
    if not chat_models:
        return needed
    if any(protocol != "none" for protocol in cfg.debate.protocols):
        needed["models.debater"] = (models.debater.path, models.debater.num_hidden_layers)
    if cfg.prompted_judge is not None:
        judge = cfg.prompted_judge.model
        needed["prompted_judge.model"] = (judge.path, judge.num_hidden_layers)
    return needed


def check_experiment(cfg: ExperimentConfig, *, chat_models: bool = True) -> None:
    """Raise one ConfigError listing every model of ``cfg`` that could not be loaded (and an unknown dataset, and
    a vLLM engine setting the actors' device cannot run)."""
    problems = []
    if cfg.data.dataset not in DATASETS:
        problems.append(f"  data.dataset: unknown dataset {cfg.data.dataset!r}; known: {sorted(DATASETS)}")
    needed = models_needed(cfg, chat_models=chat_models)
    for key, (ref, layers) in needed.items():
        try:
            check_model(ref, num_hidden_layers=layers)
        except ModelNotFoundError as exc:
            problems.append(f"  {key}.path: {exc}")
    engine_problem = block_size_problem(cfg.debate.engine, cfg.ray.num_gpus_per_actor)
    if engine_problem and ("models.debater" in needed or "prompted_judge.model" in needed):
        problems.append(f"  {engine_problem}")
    if problems:
        raise ConfigError(f"{cfg.name}: this run cannot start; nothing was run:\n" + "\n".join(problems))
