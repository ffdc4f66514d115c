"""Fine-tuning a binary sequence classifier on soft labels (a plain torch loop)."""

from __future__ import annotations

import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import transformers
from tqdm.auto import tqdm
from transformers import PreTrainedModel, get_scheduler

from training.batching import pad_batch, tokenize_texts
from training.checkpoints import TRAIN_LOG, prepare_out_dir, save_atomically, save_trained
from training.distributed import DataParallel, current_group, unwrapped
from training.head import freeze_all_but_head, head_forward, pooled_features
from training.lora import LoraSettings, trainable_parameters, with_lora
from training.losses import LOSSES, get_loss  # noqa: F401  (LOSSES: tests patch it through this module)
from training.models import ModelSpec, load_classifier
from training.runtime import autocast, resolve_device, torch_threads

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one fine-tuning run. ``epochs`` may be fractional.

    ``trainable`` is ``all`` (full fine-tuning) or ``head`` (a frozen trunk read once, only the
    classification head trained on its cached features; see ``training.head``: epochs there are
    passes over cached features, so they are cheap and the head wants a larger ``lr``).
    ``lora`` (with ``trainable: all``) trains low-rank adapters on every targeted linear layer and
    the head in full (``training.lora``); ``gradient_checkpointing`` recomputes activations in the
    backward pass (less memory, about a third more compute); ``checkpoint: compact`` saves only what
    head-only or LoRA training changed on top of the base model (``training.checkpoints``), ``full``
    the whole model (a full fine-tune is always saved in full). ``data_parallel`` is the number of
    processes one model trains on (``training.distributed``; ``data_parallel_strategy`` ``ddp`` or
    ``fsdp``); the caller starts them (e.g. ``labeling.exec.ray_train``), ``train_classifier`` alone
    trains in one process. ``truncation_side``: the end a text over ``max_length`` loses (the saved tokenizer keeps it).
    ``bf16`` autocasts the forward pass (weights stay fp32); ``loss`` names an entry of
    ``training.losses.LOSSES`` and ``loss_params`` configures it (e.g. ``{"aux_coef": 0.5}`` for
    ``logconf``; see ``training.losses.get_loss``); ``device`` is ``"auto"`` (CUDA if present,
    else CPU) or a torch device string.
    """

    epochs: float = 1.0
    lr: float = 5e-5
    batch_size: int = 8
    grad_accum: int = 1
    max_length: int = 512
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    threads: int = 1
    bf16: bool = True
    loss: str = "xent"
    device: str = "auto"
    loss_params: dict[str, float] = field(default_factory=dict, hash=False)
    trainable: str = "all"
    lora: LoraSettings | None = None
    gradient_checkpointing: bool = False
    checkpoint: str = "compact"
    data_parallel: int = 1
    data_parallel_strategy: str = "ddp"
    truncation_side: str = "right"

    def __post_init__(self) -> None:
        checks = {  # field: (the rule, whether it holds)
            "epochs": ("> 0", self.epochs > 0),
            "lr": ("> 0", self.lr > 0),
            "batch_size": (">= 1", self.batch_size >= 1),
            "grad_accum": (">= 1", self.grad_accum >= 1),
            "max_length": (">= 1", self.max_length >= 1),
            "warmup_ratio": ("in [0, 1]", 0 <= self.warmup_ratio <= 1),
            "weight_decay": (">= 0", self.weight_decay >= 0),
            "max_grad_norm": ("> 0", self.max_grad_norm > 0),
            "threads": (">= 1", self.threads >= 1),
            "trainable": ("'all' or 'head'", self.trainable in ("all", "head")),
            "checkpoint": ("'compact' or 'full'", self.checkpoint in ("compact", "full")),
            "lora": ("unset with trainable: head (a frozen trunk has nothing to adapt)",
                     self.lora is None or self.trainable == "all"),
            "data_parallel": (">= 1, and 1 with trainable: head", self.data_parallel >= 1
                              and (self.data_parallel == 1 or self.trainable == "all")),
            "truncation_side": ("'right' or 'left'", self.truncation_side in ("right", "left")),
            "data_parallel_strategy": ("'ddp' or 'fsdp' (fsdp: full fine-tuning, no lora)",
                                       self.data_parallel_strategy == "ddp"
                                       or (self.data_parallel_strategy == "fsdp" and self.lora is None)),
        }
        failed = [f"{name} must be {rule} (got {getattr(self, name)!r})" for name, (rule, ok) in checks.items() if not ok]
        if failed:
            raise ValueError(f"invalid TrainConfig: {'; '.join(failed)}")
        if isinstance(self.lora, Mapping):  # from a config file or asdict(): rebuild the dataclass
            object.__setattr__(self, "lora", LoraSettings(**self.lora))
        if not isinstance(self.loss_params, Mapping):
            raise ValueError(f"loss_params must be a mapping, got {self.loss_params!r}")
        object.__setattr__(self, "loss_params", dict(self.loss_params))  # a private copy
        get_loss(self.loss, **self.loss_params)  # unknown loss or bad parameters: ValueError


def validate_training_data(texts: Sequence[str], soft_labels: Sequence[float]) -> list[float]:
    """Check texts and labels pair up and labels lie in [0, 1]; return the labels as floats."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not a single string")
    if len(texts) == 0:
        raise ValueError("no training examples: texts is empty")
    if len(texts) != len(soft_labels):
        raise ValueError(f"length mismatch: {len(texts)} texts but {len(soft_labels)} soft labels")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is {type(text).__name__}, expected str")
    labels = [float(x) for x in soft_labels]
    for i, p in enumerate(labels):
        if not 0.0 <= p <= 1.0:  # also rejects NaN
            raise ValueError(f"soft label {i} is {p}; soft labels must be P(label 1) in [0, 1]")
    return labels


def example_order(n_examples: int, epochs: float, seed: int) -> list[int]:
    """Indices seen during training: seeded fresh permutations, cut at ``round(epochs * n)``."""
    total = max(1, round(epochs * n_examples))
    generator = torch.Generator().manual_seed(seed)
    order: list[int] = []
    while len(order) < total:
        order.extend(torch.randperm(n_examples, generator=generator).tolist())
    return order[:total]


def _optimizer(model: PreTrainedModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (not on norms or biases)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr)


def plan_steps(order: list[int], batch_size: int, grad_accum: int) -> list[list[list[int]]]:
    """Group the example stream into optimizer steps of ``grad_accum`` micro-batches."""
    micro = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [micro[i : i + grad_accum] for i in range(0, len(micro), grad_accum)]


def model_forward(model: PreTrainedModel, ids: list[list[int]], cfg: TrainConfig, device: torch.device):
    """A micro-batch forward through the whole model: example indices -> logits."""
    pad_id = unwrapped(model).config.pad_token_id

    def forward(rows: list[int]) -> torch.Tensor:
        with autocast(device, cfg.bf16):
            return model(**pad_batch([ids[i] for i in rows], pad_id, device)).logits

    return forward


def unsharded(spec: ModelSpec, state: dict | None, main: bool) -> PreTrainedModel | None:
    """On the first process, an ordinary model holding the gathered weights of an FSDP run (None elsewhere)."""
    if not main:
        return None
    model, _ = load_classifier(spec, num_labels=2)
    model.load_state_dict(state)
    return model


def _run_steps(
    model: PreTrainedModel,
    forward: Callable[[list[int]], torch.Tensor],
    labels: list[float],
    steps: list[list[list[int]]],
    cfg: TrainConfig,
    device: torch.device,
    desc: str,
    group: DataParallel | None = None,
) -> list[float]:
    """The optimisation loop over ``model``'s trainable parameters; returns the mean loss of every step.

    With a data-parallel ``group`` each process forwards its share of every micro-batch and the loss
    is taken over the whole micro-batch, gathered (``training.distributed``).
    """
    loss_fn = get_loss(cfg.loss, **cfg.loss_params)
    optimizer = _optimizer(model, cfg)
    scheduler = get_scheduler(
        "linear",
        optimizer,
        num_warmup_steps=math.floor(cfg.warmup_ratio * len(steps)),
        num_training_steps=len(steps),
    )
    model.train()
    step_losses: list[float] = []
    recent: deque[float] = deque(maxlen=20)
    with tqdm(total=len(steps), desc=desc, unit="step", disable=group is not None and not group.main) as bar:
        for step_index, step in enumerate(steps):
            progress = step_index / len(steps)
            n_step = sum(len(mb) for mb in step)
            step_loss = 0.0
            for mb in step:
                targets = torch.tensor([labels[i] for i in mb], dtype=torch.float32, device=device)
                logits = group.micro_batch_logits(forward, mb) if group else forward(mb)
                loss = loss_fn(logits.float(), targets, progress=progress)
                # the gradient of the mean over the step (times the group size: DDP averages over processes)
                (loss * (len(mb) / n_step) * (group.world if group else 1)).backward()
                step_loss += loss.item() * len(mb) / n_step
            if not math.isfinite(step_loss):
                raise FloatingPointError(f"non-finite loss {step_loss} at step {step_index}")
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step_losses.append(step_loss)
            recent.append(step_loss)
            bar.set_postfix(loss=f"{sum(recent) / len(recent):.4f}")
            bar.update(1)
    return step_losses


def train_classifier(
    spec: ModelSpec,
    texts: Sequence[str],
    soft_labels: Sequence[float],
    cfg: TrainConfig,
    out_dir: Path,
    *,
    desc: str = "train",
) -> Path:
    """Fine-tune ``spec`` as a binary classifier on ``(texts, soft_labels)``; save to ``out_dir``.

    ``soft_labels`` are P(label 1) in [0, 1]. The checkpoint (model, tokenizer and
    ``train_log.json``) is written to a temporary directory beside ``out_dir`` and renamed into
    place at the end, so ``out_dir`` is either absent or complete. ``out_dir`` must not exist
    yet (an empty directory is accepted). Returns ``out_dir``.
    """
    labels = validate_training_data(texts, soft_labels)
    out_dir = Path(out_dir)
    prepare_out_dir(out_dir)
    get_loss(cfg.loss, **cfg.loss_params)  # fail before loading anything
    device = resolve_device(cfg.device)
    started = time.perf_counter()

    with torch_threads(cfg.threads):
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        model, tokenizer = load_classifier(spec, num_labels=2)
        tokenizer.truncation_side = tokenizer.init_kwargs["truncation_side"] = cfg.truncation_side  # saved with it
        model.to(device)
        if cfg.gradient_checkpointing and cfg.trainable == "all":
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if cfg.lora is not None:
            model = with_lora(model, cfg.lora)
        ids = tokenize_texts(tokenizer, texts, cfg.max_length)
        group = current_group()
        if group is not None and cfg.trainable != "all":
            raise ValueError("data-parallel training needs trainable: all (a head-only model trains on cached features)")

        order = example_order(len(ids), cfg.epochs, cfg.seed)
        steps = plan_steps(order, cfg.batch_size, cfg.grad_accum)
        if cfg.trainable == "head":
            features = pooled_features(model, ids, batch_size=cfg.batch_size, device=device, bf16=cfg.bf16, desc=desc)
            forward = head_forward(freeze_all_but_head(model), features, device)
        else:
            model = group.wrap(model, device, cfg.data_parallel_strategy) if group else model
            forward = model_forward(model, ids, cfg, device)
        step_losses = _run_steps(model, forward, labels, steps, cfg, device, desc, group)
        model = unwrapped(model)
        if group is not None and cfg.data_parallel_strategy == "fsdp":
            model = unsharded(spec, group.full_state(model), group.main)
        trainable, total = trainable_parameters(model) if model is not None else (0, 0)

        seconds = time.perf_counter() - started
        train_log = {
            "desc": desc,
            "spec": asdict(spec),
            "config": asdict(cfg),
            "device": str(device),
            "n_examples": len(ids),
            "examples_seen": len(order),
            "steps": len(steps),
            "loss_per_step": step_losses,
            "trainable_parameters": trainable,
            "total_parameters": total,
            "seconds": seconds,
            "data_parallel_processes": group.world if group else 1,
            "torch_version": torch.__version__,
            "transformers_version": transformers.__version__,
        }
        trained = "lora" if cfg.lora is not None else cfg.trainable
        if group is None or group.main:  # one writer; the others wait until the checkpoint is in place
            save_atomically(out_dir, train_log, lambda tmp: save_trained(
                model, tokenizer, tmp, base=spec, trained=trained, compact=cfg.checkpoint == "compact"))
        if group is not None:
            group.barrier()
    logger.info("%s: %d steps in %.1f s, saved to %s", desc, len(steps), seconds, out_dir)
    return out_dir
