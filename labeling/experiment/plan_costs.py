"""Cost formulas of ``w2s plan``: GPU classes, memory of a training job, FLOPs, GPU-hours. All estimates.

Throughput: peak dense bf16 tensor-core TFLOP/s from NVIDIA's public data sheets (the "with
sparsity" figures halved), times an assumed model-FLOPs utilisation (MFU). Memory: bytes per
parameter of the way ``training`` trains (fp32 weights, bf16 autocast, AdamW), plus an activation
estimate. Nothing here was measured on these GPUs: the numbers size a run, they do not time it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from labeling.experiment.plan_models import Architecture


@dataclass(frozen=True)
class GpuClass:
    """A GPU model: peak dense bf16 TFLOP/s and memory (GB), with where the numbers come from."""

    name: str
    bf16_tflops: float
    memory_gb: float
    source: str


GPU_CLASSES: dict[str, GpuClass] = {
    g.name: g
    for g in (
        GpuClass("h100", 989.0, 80.0, "NVIDIA H100 data sheet, SXM5: 1,979 TFLOPS bf16 with sparsity; 80 GB"),
        GpuClass("h100-pcie", 756.0, 80.0, "NVIDIA H100 data sheet, PCIe: 1,513 TFLOPS bf16 with sparsity; 80 GB"),
        GpuClass("h200", 989.0, 141.0, "NVIDIA H200 data sheet, SXM: 1,979 TFLOPS bf16 with sparsity; 141 GB"),
        GpuClass("a100-80g", 312.0, 80.0, "NVIDIA A100 data sheet: 312 TFLOPS bf16 dense; 80 GB"),
        GpuClass("a100-40g", 312.0, 40.0, "NVIDIA A100 data sheet: 312 TFLOPS bf16 dense; 40 GB"),
        GpuClass("l40s", 362.0, 48.0, "NVIDIA L40S data sheet: 733 TFLOPS bf16 with sparsity; 48 GB"),
        GpuClass("l4", 121.0, 24.0, "NVIDIA L4 data sheet: 242 TFLOPS bf16 with sparsity; 24 GB"),
        GpuClass("a10", 125.0, 24.0, "NVIDIA A10 data sheet: 250 TFLOPS bf16 with sparsity; 24 GB"),
    )
}
DEFAULT_GPU = "h100"

TRAIN_MFU = 0.3  # assumed share of peak reached by fine-tuning (forward + backward)
FORWARD_MFU = 0.3  # assumed for forward-only passes: predictions, a frozen trunk's features, prompt prefill
DECODE_EFFICIENCY = 0.1  # assumed for batched vLLM decoding, which is bound by memory bandwidth, not FLOPs

# FLOPs per parameter per token of one training pass (Kaplan et al. 2020: forward 2, backward 4).
# ``head``: the frozen trunk is read once per text, forward only (training/head.py); the head is negligible.
# A LoRA-style mode (frozen trunk, backward through activations, no weight gradients) would add "lora": 4.0.
TRAIN_FLOPS_PER_PARAM_TOKEN = {"all": 6.0, "lora": 4.0, "head": 2.0}  # lora: no weight gradients of the trunk
RECOMPUTE_FLOPS_PER_PARAM_TOKEN = 2.0  # gradient checkpointing runs the forward pass again
FORWARD_FLOPS_PER_PARAM_TOKEN = 2.0
GB = 1e9


def gpu_class(name: str) -> GpuClass:
    """The GPU class called ``name``; an unknown one is a ValueError listing the known ones."""
    if name not in GPU_CLASSES:
        raise ValueError(f"unknown GPU class {name!r}; known: {', '.join(GPU_CLASSES)}")
    return GPU_CLASSES[name]


def gpu_hours(flops: float, gpu: GpuClass, efficiency: float) -> float:
    """Hours of one GPU of class ``gpu`` for ``flops`` at ``efficiency`` x its peak bf16 throughput."""
    return flops / (gpu.bf16_tflops * 1e12 * efficiency) / 3600.0


def layer_activation_bytes(arch: Architecture, batch_size: int, seq_len: int, *, bf16: bool) -> int:
    """Bytes one decoder layer keeps for its backward pass.

    What a transformers Llama/Qwen2 decoder layer saves under SDPA, counted per token (checked against
    the tensors autograd saves, ``tests/labeling/test_labeling_plan_memory.py``): four fp32 residual-
    stream tensors (the two norms' inputs and normalized outputs, 16h bytes); in the compute precision
    (2 bytes under bf16 autocast, 4 in fp32) the projections' inputs (5h under autocast, which casts the
    normed input once per projection; 2h in fp32, where q/k/v and gate/up share theirs), q after RoPE
    and the attention output (2 x q_dim), k after RoPE and v (2 x kv_dim) and the gated MLP's gate, up,
    activation and product (4 x intermediate); the attention kernel's fp32 log-sum-exp (4 x heads) and
    the norms' two fp32 reciprocal RMS values (8). Attention scores are not stored (fused SDPA kernel).
    For SmolLM2-135M that is 30,380 bytes a token in bf16 and 44,588 in fp32.
    """
    compute_bytes = 2 if bf16 else 4
    q_dim = arch.heads * arch.head_dim
    projection_inputs = (5 if bf16 else 2) * arch.hidden
    stored = projection_inputs + 2 * q_dim + 2 * arch.kv_dim + 4 * arch.intermediate  # values per token
    per_token = 16 * arch.hidden + compute_bytes * stored + 4 * arch.heads + 8
    return per_token * batch_size * seq_len


@dataclass(frozen=True)
class TrainingMemory:
    """Peak GPU memory of one training job, in bytes, by what holds it (an estimate)."""

    weights: int
    gradients: int
    optimizer: int
    autocast_copies: int
    activations: int
    recomputed: int = 0  # gradient checkpointing: the one layer whose activations the backward pass rebuilds
    optimizer_step: int = 0  # the optimizer step's temporaries, beside every gradient (see ``training_memory``)

    @property
    def total(self) -> int:
        """The peak (no allocator overhead, no CUDA context).

        Weights and AdamW moments are held throughout. The backward pass frees what the forward pass left
        for it (activations, and autocast's weight copies unless checkpointing recomputes them) layer by
        layer while it makes the gradients, so its peak is the larger of the two ends, plus the layer being
        recomputed under gradient checkpointing. The optimizer step then holds every gradient and its own
        temporaries (``optimizer_step``); the peak is the larger of the two phases. Measured within 3% on
        CPU and within 5% on an H200 (``scripts/gpu_check.py``; README, "Checking the memory estimates").
        """
        held = self.activations + (0 if self.recomputed else self.autocast_copies)
        backward = max(held, self.gradients) + self.recomputed
        step = self.gradients + self.optimizer_step
        return self.weights + self.optimizer + max(backward, step)

    def to_dict(self) -> dict[str, int]:
        """The parts and their total, for ``--json``."""
        return {**asdict(self), "total": self.total}


def training_memory(
    params: int,
    trainable: str,
    *,
    arch: Architecture,
    batch_size: int,
    seq_len: int,
    bf16: bool,
    trainable_params: int | None = None,
    gradient_checkpointing: bool = False,
    foreach_optimizer: bool = True,
) -> TrainingMemory:
    """Memory of training a ``params``-parameter classifier with ``trainable`` (``all`` | ``head``).

    ``all`` (full fine-tuning, as ``training.train_classifier`` does it): fp32 weights 4 B/param,
    fp32 gradients 4 B/param, AdamW's two fp32 moments 8 B/param (16 B/param in all), under bf16
    autocast a cached bf16 copy of the weights (2 B/param), and every layer's activations for a
    micro-batch of ``batch_size`` texts of ``seq_len`` tokens (``layer_activation_bytes``).
    ``head``: the trunk only runs forward (no stored activations beyond one layer's), and only the
    head (``trainable_params``, default ``2 x hidden``) has gradients and AdamW moments.
    ``lora``: fp32 weights and the autocast copy as ``all``, gradients and AdamW moments for the
    adapters and head only (``trainable_params``), activations as ``all`` (the backward pass runs
    through the frozen trunk). ``gradient_checkpointing`` keeps each layer's input hidden states
    instead of every layer's activations, and rebuilds one layer's at a time (``recomputed``).
    ``foreach_optimizer`` (torch's default on CUDA): the multi-tensor AdamW step makes one fp32
    temporary as large as all the trainable parameters (its denominator, sqrt of the second moment),
    4 B per trainable parameter beside the gradients; measured on an H200, it is what sets the peak of a
    full fine-tune (7B: 142.0 GB, 20 B/param). On CPU torch steps one tensor at a time and the
    temporary is one tensor's, small beside the rest: pass ``False``.
    """
    layer = layer_activation_bytes(arch, batch_size, seq_len, bf16=bf16)
    # checkpointing keeps each layer's input, the fp32 residual stream (autocast leaves it in fp32)
    stored = arch.layers * batch_size * seq_len * arch.hidden * 4 if gradient_checkpointing else layer * arch.layers
    recomputed = layer if gradient_checkpointing else 0
    if trainable == "all":
        memory = TrainingMemory(weights=4 * params, gradients=4 * params, optimizer=8 * params,
                                autocast_copies=2 * params if bf16 else 0, activations=stored, recomputed=recomputed)
    elif trainable == "lora":
        if trainable_params is None:
            raise ValueError("lora: give trainable_params (plan_models.lora_parameters)")
        memory = TrainingMemory(weights=4 * params, gradients=4 * trainable_params, optimizer=8 * trainable_params,
                                autocast_copies=2 * params if bf16 else 0, activations=stored, recomputed=recomputed)
    elif trainable == "head":
        head = trainable_params if trainable_params is not None else 2 * arch.hidden
        memory = TrainingMemory(weights=4 * params, gradients=4 * head, optimizer=8 * head, autocast_copies=0,
                                activations=layer)
    else:
        raise ValueError(f"trainable {trainable!r}: the plan knows 'all', 'lora' and 'head'")
    # the multi-tensor step's temporary has the trainable parameters' fp32 shapes: the gradients' size
    return replace(memory, optimizer_step=memory.gradients if foreach_optimizer else 0)


def training_flops(params: int, trainable: str, examples_seen: int, examples: int, seq_len: int,
                   gradient_checkpointing: bool = False) -> float:
    """FLOPs of fitting one model: 6 x params x tokens for ``all``, 4 for ``lora`` (every example seen; +2 with
    gradient checkpointing), 2 x params x tokens for ``head`` (each text read once by the frozen trunk)."""
    if trainable == "head":
        return TRAIN_FLOPS_PER_PARAM_TOKEN["head"] * params * examples * seq_len
    per_token = TRAIN_FLOPS_PER_PARAM_TOKEN[trainable] + (RECOMPUTE_FLOPS_PER_PARAM_TOKEN if gradient_checkpointing else 0)
    return per_token * params * examples_seen * seq_len


def forward_flops(params: int, tokens: float) -> float:
    """FLOPs of a forward pass over ``tokens`` tokens: 2 x params x tokens."""
    return FORWARD_FLOPS_PER_PARAM_TOKEN * params * tokens


def engine_weight_bytes(params: int, dtype: str) -> int:
    """Weights of a vLLM engine: 2 B/param in bf16/fp16 (``auto`` on a GPU), 4 B/param in fp32."""
    return 4 * params if dtype == "float32" else 2 * params
