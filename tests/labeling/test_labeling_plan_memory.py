"""The plan's memory estimates against what training really holds: saved tensors, and measured peaks on CPU."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from labeling.experiment.plan_costs import layer_activation_bytes, training_memory
from labeling.experiment.plan_models import Architecture, parameter_count, transformers_config
from training.memory_probe import cpu_peak_bytes, tensor_bytes

BATCH, SEQ = 3, 5  # 15 tokens: every activation's size is a multiple of 15, no weight's is (powers of two)
ARCH = Architecture(hidden=64, layers=1, intermediate=128, vocab=256, heads=4, kv_heads=2, head_dim=16,
                    tied_embeddings=True, qkv_bias=False)


def saved_activation_bytes(arch: Architecture, bf16: bool) -> int:
    """Bytes of the distinct non-weight tensors autograd saves in one forward pass of a tiny classifier."""
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(transformers_config(arch))
    weights = {p.data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.data_ptr() not in weights and tensor.numel() % (BATCH * SEQ) == 0:
            saved.setdefault(tensor.data_ptr(), tensor.numel() * tensor.element_size())
        return tensor

    ids = torch.randint(1, ARCH.vocab, (BATCH, SEQ))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            model(input_ids=ids).logits.sum().backward()
    return sum(saved.values())


@pytest.mark.parametrize("qkv_bias", [False, True], ids=["llama", "qwen2"])
@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16-autocast"])
def test_one_layer_saves_what_the_plan_counts(qkv_bias: bool, bf16: bool) -> None:
    arch = replace(ARCH, qkv_bias=qkv_bias)  # a Qwen2 layer (q/k/v biases) or a Llama one
    # the second layer's share: two layers minus one removes the embedding, final norm and head
    per_layer = saved_activation_bytes(replace(arch, layers=2), bf16) - saved_activation_bytes(arch, bf16)
    assert per_layer == layer_activation_bytes(arch, BATCH, SEQ, bf16=bf16)


def test_cpu_peak_counts_live_tensors() -> None:
    def work() -> None:
        first = torch.empty(1_000_000)  # 4 MB
        second = first * 2  # 8 MB alive
        del first
        third = torch.empty(2_000_000)  # 4 + 8 = 12 MB alive: the peak
        del second, third

    _, peak = cpu_peak_bytes(work, already_alive=1_000)
    assert peak == 12_000_000 + 1_000


MID = Architecture(hidden=256, layers=4, intermediate=512, vocab=4096, heads=4, kv_heads=2, head_dim=64,
                   tied_embeddings=True, qkv_bias=False)


@pytest.mark.parametrize(("bf16", "checkpointing", "foreach"),
                         [(False, False, False), (True, False, False), (True, True, False), (True, True, True)],
                         ids=["fp32", "bf16-autocast", "bf16-checkpointing", "bf16-checkpointing-foreach"])
def test_full_fine_tune_peak_matches_the_plan(bf16: bool, checkpointing: bool, foreach: bool) -> None:
    """Two AdamW steps of a small Llama classifier: the measured peak is the plan's total within 10%.

    ``foreach``: the multi-tensor AdamW step (torch's default on CUDA, asked for here on CPU), whose
    temporary sets the peak once checkpointing has made the backward pass small.
    """
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(transformers_config(MID))
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=foreach)
    ids, labels = torch.randint(1, MID.vocab, (8, 64)), torch.randint(0, 2, (8,))

    def two_steps() -> None:
        for _ in range(2):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(input_ids=ids).logits
            torch.nn.functional.cross_entropy(logits.float(), labels).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    _, peak = cpu_peak_bytes(two_steps, tensor_bytes([*model.parameters(), ids, labels]))
    plan = training_memory(parameter_count(MID), "all", arch=MID, batch_size=8, seq_len=64, bf16=bf16,
                           gradient_checkpointing=checkpointing, foreach_optimizer=foreach)
    planned = plan.total
    if foreach:  # the step's temporary is what sets this peak: without it the plan would miss by over 10%
        assert peak != pytest.approx(replace(plan, optimizer_step=0).total, rel=0.10)
    assert peak == pytest.approx(planned, rel=0.10)
