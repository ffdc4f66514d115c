"""What each trained model's stage folder is keyed by: its inputs, model, settings, seed and precision.

The pipeline's stages and ``w2s plan`` build keys with these functions, so the plan matches stages as
the runs make them.
"""

from __future__ import annotations

from labeling.config import LossSpec, ModelConfig, TrainSettings
from labeling.data.judge_input import truncation_side
from labeling.store import without_later_defaults

# Training settings added after stages were first keyed, at the value that trains as before:
# there they stay out of the key, so a finished stage trained the same way keeps its folder.
LATER_TRAIN_DEFAULTS = {"trainable": "all", "lora": None, "gradient_checkpointing": False}
# how the model is saved, and on how many processes it trains (the same global batch: the same model
# up to floating-point summation order), not what it learns
UNKEYED_TRAIN_SETTINGS = ("checkpoint", "data_parallel", "data_parallel_strategy")
# the judge's input layout and the end a too-long input loses, keyed only when changed
LATER_JUDGE_DEFAULTS = {"judge_input": "item_first", "truncation_side": "right"}


def trained_semantic(semantic: dict, model: ModelConfig, settings: TrainSettings, seed: int, dtype: str) -> dict:
    """What a trained model's stage folder is keyed by: its inputs (``semantic``), model, settings, seed, dtype."""
    return {
        **semantic,
        "model": model.model_dump(mode="json"),
        "train": without_later_defaults(settings.model_dump(mode="json", exclude=set(UNKEYED_TRAIN_SETTINGS)),
                                        LATER_TRAIN_DEFAULTS),
        "seed": seed,
        "dtype": dtype,
    }


def judge_semantic(data: dict, transcripts_stage: str, judge_view: str, judge_input: str) -> dict:
    """A judge's inputs: the splits (``data``), its transcripts' stage folder, what of them it reads, and how."""
    layout = {"judge_input": judge_input, "truncation_side": truncation_side(judge_input)}
    return {**data, "transcripts": transcripts_stage, "judge_view": judge_view,
            **without_later_defaults(layout, LATER_JUDGE_DEFAULTS)}


def student_semantic(data: dict, label_stages: list[str]) -> dict:
    """A student's inputs: the splits (``data``) and the stage folders its labels came from."""
    return {**data, "labels_from": sorted(label_stages)}


def student_settings(settings: TrainSettings, loss: LossSpec | None) -> TrainSettings:
    """The strong role's settings with the student's loss (``None``: the configured one)."""
    if loss is None:
        return settings
    return settings.model_copy(update={"loss": loss.name, "loss_params": dict(loss.params)})
