"""The training sections derived from the training library's dataclasses: one role's settings and its LoRA."""

from __future__ import annotations

from training import LoraSettings, TrainConfig

from labeling.config.base import section_from

LoraSection = section_from(
    LoraSettings, "LoraSection", "LoRA adapters of one model role (training.LoraSettings).", module=__name__,
    descriptions={"r": "adapter rank", "alpha": "scaling: the update is alpha / r times the low-rank product",
                  "target_modules": "module name suffixes, or [all-linear]: every linear layer of the trunk"},
)

TrainSettings = section_from(
    TrainConfig, "TrainSettings", "Fine-tuning hyper-parameters of one model role (training.TrainConfig).",
    exclude=("seed", "threads", "bf16", "device", "max_grad_norm"),
    module=__name__,
    descriptions={"loss": "xent | logconf | product (training.losses.LOSSES)",
                  "loss_params": "e.g. {aux_coef: 0.75, warmup_frac: 0.2} for logconf",
                  "lora": "null = no adapters; {r, alpha, dropout, target_modules}: LoRA on the trunk, head in full",
                  "gradient_checkpointing": "recompute activations in the backward pass (less memory, more time)",
                  "checkpoint": "compact: save only the head or adapters (head-only, LoRA); full: the whole model",
                  "data_parallel": "processes one model trains on (DDP through Ray Train; needs executor: ray)",
                  "data_parallel_strategy": "ddp: a full replica per process; fsdp: weights, gradients and AdamW "
                                            "moments sharded over the processes (full fine-tuning only)"},
    nested={"lora": LoraSection},
)
