"""LoRA for the sequence classifiers (peft): low-rank adapters on the trunk, the classification head in full.

``LoraSettings`` is what a config's ``training.<role>.lora`` holds. ``with_lora`` wraps a loaded
classifier so that only the adapters and the head (``score``, which peft keeps as a fully trained
module for sequence classification) require gradients; ``merged`` folds the adapters back into
plain weights, so prediction and serving see an ordinary ``transformers`` model.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedModel

ALL_LINEAR = "all-linear"  # peft's name for every linear layer of the trunk (not the output head)


@dataclass(frozen=True)
class LoraSettings:
    """Rank, scaling, dropout and target layers of the adapters.

    ``target_modules`` names module suffixes (e.g. ``[q_proj, v_proj]``) or is ``[all-linear]``, every
    linear layer of the trunk (the default, as in EleutherAI's W2S code); ``alpha / r`` scales the update.
    """

    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: tuple[str, ...] = (ALL_LINEAR,)

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_modules", tuple(self.target_modules))
        failed = [rule for rule, ok in (
            (f"r must be >= 1 (got {self.r!r})", isinstance(self.r, int) and self.r >= 1),
            (f"alpha must be > 0 (got {self.alpha!r})", self.alpha > 0),
            (f"dropout must be in [0, 1) (got {self.dropout!r})", 0 <= self.dropout < 1),
            ("target_modules must name at least one module", len(self.target_modules) > 0),
        ) if not ok]
        if failed:
            raise ValueError(f"invalid LoraSettings: {'; '.join(failed)}")


def with_lora(model: PreTrainedModel, settings: LoraSettings) -> PreTrainedModel:
    """``model`` with adapters on its trunk; the adapters and the head are the only trainable weights."""
    from peft import LoraConfig, TaskType, get_peft_model

    targets = settings.target_modules
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,  # keeps the classifier head (`score`) trained in full and saved
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=ALL_LINEAR if targets == (ALL_LINEAR,) else list(targets),
    )
    return get_peft_model(model, config)


def merged(model: PreTrainedModel) -> PreTrainedModel:
    """The plain classifier with the adapters folded into its weights (a no-op for a model without adapters)."""
    merge = getattr(model, "merge_and_unload", None)
    return merge() if merge is not None else model


def trainable_parameters(model: PreTrainedModel) -> tuple[int, int]:
    """(trainable, total) parameter counts of ``model``."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
