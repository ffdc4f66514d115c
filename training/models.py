"""Loading a pretrained trunk as a binary sequence classifier (optionally truncated)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)


@dataclass(frozen=True)
class ModelSpec:
    """Which checkpoint to load, and how many of its transformer layers to keep.

    ``path`` is a local Hugging Face checkpoint directory or a hub id (``org/name``).
    ``num_hidden_layers`` keeps only the first N layers (the weak model is a truncated model);
    ``None`` keeps them all.
    """

    path: str
    num_hidden_layers: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        if not isinstance(self.path, str) or not self.path:
            raise ValueError(f"ModelSpec.path must be a non-empty string, got {self.path!r}")
        n = self.num_hidden_layers
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"ModelSpec.num_hidden_layers must be a positive int or None, got {n!r}")


def looks_like_local_path(path: str) -> bool:
    """True when ``path`` is meant as a filesystem path rather than a hub id like ``org/name``."""
    if Path(path).exists():
        return True
    if os.path.isabs(path) or path.startswith((".", "~")):
        return True
    return path.count("/") > 1


def check_local_checkpoint(path: str) -> None:
    """Raise FileNotFoundError naming ``path`` when a local checkpoint dir is missing or incomplete."""
    local = Path(path).expanduser()
    if not local.is_dir():
        raise FileNotFoundError(f"model checkpoint directory not found: {local}")
    if not (local / "config.json").is_file():
        raise FileNotFoundError(f"model checkpoint directory has no config.json: {local}")


def _truncate_layers(config: PretrainedConfig, num_layers: int, path: str) -> None:
    """Keep only the first ``num_layers`` transformer layers in ``config`` (in place)."""
    text_config = config.get_text_config()
    available = text_config.num_hidden_layers
    if num_layers > available:
        raise ValueError(f"num_hidden_layers={num_layers} but {path} has only {available} layers")
    text_config.num_hidden_layers = num_layers
    layer_types = getattr(text_config, "layer_types", None)
    if layer_types is not None:
        text_config.layer_types = list(layer_types)[:num_layers]


def load_classifier(
    spec: ModelSpec, *, num_labels: int = 2
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load ``spec`` as an fp32 ``AutoModelForSequenceClassification`` plus its tokenizer.

    The classification head is a linear layer on the last non-padding token (new and randomly
    initialised when loading a causal-LM checkpoint). With ``spec.num_hidden_layers`` set, only
    the first N layers are built and they keep their pretrained weights. A pad token is ensured
    (the eos token when the tokenizer has none) in the tokenizer and in the model config, and
    padding is on the right. (A trained checkpoint, compact or full: ``training.checkpoints.load_trained``.)
    """
    if looks_like_local_path(spec.path):
        check_local_checkpoint(spec.path)
        path = str(Path(spec.path).expanduser())
    else:
        path = spec.path

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(f"tokenizer of {path} has neither a pad token nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"

    config = AutoConfig.from_pretrained(path, num_labels=num_labels)
    if spec.num_hidden_layers is not None:
        _truncate_layers(config, spec.num_hidden_layers, path)
    config.pad_token_id = tokenizer.pad_token_id
    config.get_text_config().pad_token_id = tokenizer.pad_token_id

    model = AutoModelForSequenceClassification.from_pretrained(
        path, config=config, dtype=torch.float32
    )
    return model, tokenizer
