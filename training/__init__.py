"""Weak-judge and strong-student fine-tuning: binary sequence classifiers on soft labels.

Knows nothing of debate: callers hand it texts and P(label 1) soft labels.
"""

from training.checkpoints import checkpoint_bytes, is_compact, load_trained
from training.lora import LoraSettings
from training.losses import LOSSES, get_loss, soft_cross_entropy
from training.models import ModelSpec, load_classifier
from training.predict import predict_proba, predict_proba_loaded
from training.train import TrainConfig, train_classifier

__all__ = [
    "LOSSES",
    "LoraSettings",
    "ModelSpec",
    "TrainConfig",
    "checkpoint_bytes",
    "get_loss",
    "is_compact",
    "load_classifier",
    "load_trained",
    "predict_proba",
    "predict_proba_loaded",
    "soft_cross_entropy",
    "train_classifier",
]
