"""Links of a bootstrapping chain (Burns et al. 2023, §4.3.1): each trained on the previous link's soft labels.

A link is cross-fitted on strong_train: its items are split into two fixed halves (alternate
positions of the seeded split), and the link is two models, each trained on one half with the
previous labels and predicting the other half. So every label a link makes is out of sample
(no model labels an item it was trained on), every strong_train item gets one, and the final
student trains on the same items as every other student. Each fold model is one stage folder
``bootstrap-<source>-l<k>-f<fold>-<hash>``, keyed like a student (the stages its labels came from)
plus the link's model and the fold; its test predictions are averaged into the link's own row.
"""

from __future__ import annotations

import numpy as np

from labeling.config import BootstrapLink, ConfigError, ExperimentConfig, ModelConfig
from labeling.data.stage import Splits, data_semantic
from labeling.stages.ensemble import ensemble_mean
from labeling.stages.trained import TrainedModel, plain_view, train_and_predict
from labeling.store import resolve_model

FOLDS = 2
HELDOUT = "heldout"  # the view of the strong_train items a fold model was not trained on


def fold_of(n_items: int) -> np.ndarray:
    """Each strong_train position's fold (alternating: the split is already a seeded shuffle)."""
    return np.arange(n_items) % FOLDS


def link_model(cfg: ExperimentConfig, link: BootstrapLink) -> ModelConfig:
    """The model section of one link (models.strong's checkpoint when the link gives no path)."""
    return ModelConfig(path=link.resolved_path(cfg.models.strong), num_hidden_layers=link.num_hidden_layers)


def _checkpoint_layers(ref: str) -> int:
    from transformers import AutoConfig

    return int(AutoConfig.from_pretrained(resolve_model(ref)).get_text_config().num_hidden_layers)


def check_chain_fits(cfg: ExperimentConfig) -> None:
    """Raise ConfigError naming the key when a link asks for more layers than its checkpoint has.

    Also, when models.strong is its whole checkpoint, a cut of it must be smaller (the config check
    compares cuts only with each other, without loading a model).
    """
    strong = cfg.models.strong
    for i, link in enumerate(cfg.training.bootstrap):
        if link.num_hidden_layers is None:
            continue
        path = link.resolved_path(strong)
        available = _checkpoint_layers(path)
        whole_strong = path == strong.path and strong.num_hidden_layers is None
        if link.num_hidden_layers > available or (whole_strong and link.num_hidden_layers >= available):
            what = "fewer than models.strong's" if whole_strong else "at most the"
            raise ConfigError(f"training.bootstrap[{i}].num_hidden_layers: {link.num_hidden_layers} layers, "
                              f"but a link needs {what} {available} layers of {path}")


def train_link(
    cfg: ExperimentConfig,
    splits: Splits,
    name: str,
    depth: int,
    link: BootstrapLink,
    fold: int,
    labels: np.ndarray,
    labels_from: list[str],
    seed: int,
) -> TrainedModel:
    """Fold ``fold`` of link ``depth`` (1 = first) of the chain from source ``name``: trained with
    ``training.strong`` on that fold's strong_train items and ``labels`` (NaN items left out);
    predicts the other fold (``heldout``) and test."""
    strong_train = splits["strong_train"]
    folds = fold_of(len(strong_train))
    labels = np.asarray(labels, dtype=np.float64)
    train = (folds == fold) & ~np.isnan(labels)
    semantic = {**data_semantic(cfg), "labels_from": sorted(labels_from), "fold": fold, "folds": FOLDS}
    return train_and_predict(
        cfg,
        f"bootstrap-{name}-l{depth}-f{fold}",
        semantic,
        link_model(cfg, link),
        cfg.training.strong,
        seed,
        plain_view(strong_train[train]),
        labels[train].tolist(),
        {HELDOUT: plain_view(strong_train[folds != fold]), "test": plain_view(splits["test"])},
    )


def link_labels(fold_models: list[TrainedModel], source_labels: np.ndarray) -> np.ndarray:
    """A link's soft labels on strong_train: each item labeled by the fold model not trained on it.

    Items the chain's source left without a label (failed transcripts) stay NaN all along the chain.
    """
    source_labels = np.asarray(source_labels, dtype=np.float64)
    folds = fold_of(len(source_labels))
    labels = np.full(len(source_labels), np.nan)
    for fold, model in enumerate(fold_models):
        labels[folds != fold] = model.predictions[HELDOUT]
    labels[np.isnan(source_labels)] = np.nan
    return labels


def link_test(fold_models: list[TrainedModel]) -> np.ndarray:
    """The link's test P(correct): its fold models averaged (the one ensemble function)."""
    return ensemble_mean(np.stack([m.predictions["test"] for m in fold_models]))[0]


def stage_names(models: list[TrainedModel]) -> list[str]:
    """The stage folder names of ``models`` (what a model trained on their labels is keyed by)."""
    return [m.stage.path.name for m in models]
