"""GPU check for training at the paper's scale: LoRA and full fine-tuning of Qwen2.5-7B / -14B shapes, measured.

    python scripts/gpu_check.py --out gpu_check.json            # on a GPU machine (no downloads)
    python scripts/gpu_check.py --cpu                            # SmolLM2-135M shapes on this CPU
    python scripts/gpu_check.py --smoke                          # a tiny shape on CPU: checks the script runs

Builds each architecture from its published numbers (``labeling.experiment.plan_models``) with random
weights directly on the device, as a 2-label sequence classifier, and runs a few optimizer steps of the
training library's recipe (fp32 master weights, bf16 autocast, AdamW; LoRA through ``training.lora``)
at the lang2025 sequence lengths. Prints, per case: tokens/s over the timed steps, peak memory
(``torch.cuda.max_memory_allocated``) and ``w2s plan``'s estimate for the same case, or that it did not
fit. Each case runs in its own process, so one that runs out of memory does not spoil the next.

``--cpu`` checks the same estimates on the CPU with the packaged model's shape (SmolLM2-135M, random
weights), in fp32 and under bf16 autocast. The peak there is the most bytes of tensors alive at once,
counted from the profiler's memory events (``training.memory_probe``; the CPU's counterpart of
``max_memory_allocated``), beside the process's peak resident memory less its resident memory before the
model was built (which adds the allocator's unreturned free blocks).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

# (name, architecture, trainable, seq_len, micro-batch, gradient checkpointing, bf16 autocast): lang2025
# trains the weak model and the judge (Qwen2.5-7B) at 512 and 2048 tokens and the strong model (14B) at 512.
CASES = [
    ("7B weak, LoRA", "Qwen/Qwen2.5-7B", "lora", 512, 8, False, True),
    ("7B weak, full", "Qwen/Qwen2.5-7B", "all", 512, 4, True, True),
    ("7B judge, LoRA", "Qwen/Qwen2.5-7B", "lora", 2048, 2, True, True),
    ("14B strong, LoRA", "Qwen/Qwen2.5-14B", "lora", 512, 8, False, True),
    ("14B strong, LoRA + checkpointing", "Qwen/Qwen2.5-14B", "lora", 512, 8, True, True),
    ("14B strong, full", "Qwen/Qwen2.5-14B", "all", 512, 2, True, True),
    # held out from the first GPU run, which showed the optimizer step's temporary (plan_costs.training_memory):
    # a full fine-tune whose peak the step sets, and one whose peak the activations set
    ("3B full + checkpointing", "Qwen/Qwen2.5-3B", "all", 512, 4, True, True),
    ("1.5B full", "Qwen/Qwen2.5-1.5B", "all", 512, 8, False, True),
]
# The CPU configs' shapes: SmolLM2-135M at the evidence configs' lengths (128 item, 384 judge) and batches.
CPU_CASES = [
    ("135M full, fp32", "HuggingFaceTB/SmolLM2-135M", "all", 128, 8, False, False),
    ("135M full, bf16", "HuggingFaceTB/SmolLM2-135M", "all", 128, 8, False, True),
    ("135M full, bf16", "HuggingFaceTB/SmolLM2-135M", "all", 128, 32, False, True),
    ("135M full, bf16 + checkpointing", "HuggingFaceTB/SmolLM2-135M", "all", 384, 16, True, True),
    ("135M full, bf16", "HuggingFaceTB/SmolLM2-135M", "all", 384, 16, False, True),
    ("135M LoRA, bf16", "HuggingFaceTB/SmolLM2-135M", "lora", 128, 32, False, True),
    ("135M LoRA, fp32", "HuggingFaceTB/SmolLM2-135M", "lora", 384, 8, False, False),
]
SMOKE = [("tiny, LoRA", "tiny", "lora", 64, 2, False, True), ("tiny, full", "tiny", "all", 64, 2, True, True)]
STEPS = {"cuda": (2, 4), "cpu": (1, 2)}  # (warm-up, timed) optimizer steps; the peak comes once AdamW has its moments
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": ("all-linear",)}


def architecture(name: str):
    """The plan's architecture numbers for ``name`` (``tiny``: a 2-layer Qwen2 shape for --smoke)."""
    from labeling.experiment.plan_models import KNOWN_ARCHITECTURES, Architecture

    if name == "tiny":
        return Architecture(hidden=64, layers=2, intermediate=128, vocab=1000, heads=4, kv_heads=2, head_dim=16,
                            tied_embeddings=False, qkv_bias=True)
    return KNOWN_ARCHITECTURES[name]


def estimate_gb(arch, trainable: str, seq_len: int, batch: int, checkpointing: bool, bf16: bool,
                device: str = "cuda") -> float:
    """``w2s plan``'s memory estimate for the case, in GB (torch's AdamW steps all tensors at once on CUDA)."""
    from labeling.experiment.plan_costs import training_memory
    from labeling.experiment.plan_models import lora_parameters, parameter_count

    params = parameter_count(arch)
    lora = lora_parameters(arch, LORA["r"], LORA["target_modules"]) if trainable == "lora" else None
    memory = training_memory(params, trainable, arch=arch, batch_size=batch, seq_len=seq_len, bf16=bf16,
                             trainable_params=lora, gradient_checkpointing=checkpointing,
                             foreach_optimizer=device == "cuda")
    return memory.total / 1e9


def run_case(case: tuple, device: str) -> dict:
    """Build, train a few steps, measure (in this process)."""
    import torch
    from training.lora import LoraSettings, with_lora
    from training.memory_probe import cpu_peak_bytes, tensor_bytes
    from labeling.experiment.plan_models import transformers_config
    from transformers import AutoModelForSequenceClassification

    name, arch_name, trainable, seq_len, batch, checkpointing, bf16 = case
    arch = architecture(arch_name)
    resident_before = resident_bytes()
    with torch.device(device):
        model = AutoModelForSequenceClassification.from_config(transformers_config(arch), torch_dtype=torch.float32)
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if trainable == "lora":
        model = with_lora(model, LoraSettings(**LORA))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    ids = torch.randint(1, arch.vocab, (batch, seq_len), device=device)
    labels = torch.randint(0, 2, (batch,), device=device)
    warmup, timed_steps = STEPS[device]
    if device == "cuda":
        timed = train_steps(model, optimizer, ids, labels, device, bf16, warmup, timed_steps)
        peak, resident = torch.cuda.max_memory_allocated(), None
    else:
        alive = tensor_bytes([*model.parameters(), *model.buffers(), ids, labels])
        timed, peak = cpu_peak_bytes(lambda: train_steps(model, optimizer, ids, labels, device, bf16, warmup,
                                                         timed_steps), alive)
        resident = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - resident_before
    digits = 1 if device == "cuda" else 2
    row = {"case": name, "tokens_per_s": round(timed_steps * batch * seq_len / timed, 1), "peak_gb": round(peak / 1e9, digits),
           "plan_gb": round(estimate_gb(arch, trainable, seq_len, batch, checkpointing, bf16, device), digits), "fits": True}
    return row | ({"resident_gb": round(resident / 1e9, digits)} if resident is not None else {})


def train_steps(model, optimizer, ids, labels, device: str, bf16: bool, warmup: int, timed_steps: int) -> float:
    """The training library's recipe for ``warmup + timed_steps`` optimizer steps; seconds of the timed ones."""
    import torch

    timed = 0.0
    for step in range(warmup + timed_steps):
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=ids).logits
        torch.nn.functional.cross_entropy(logits.float(), labels).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        timed += time.perf_counter() - started if step >= warmup else 0.0
    return timed


def resident_bytes() -> int:
    """This process's resident memory now (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny shape on CPU (checks the script, measures nothing)")
    parser.add_argument("--cpu", action="store_true", help="SmolLM2-135M shapes on this CPU, peak resident memory")
    parser.add_argument("--out", default=None, help="also write the table as JSON here")
    parser.add_argument("--case", type=int, default=None, help=argparse.SUPPRESS)  # the child process's one case
    args = parser.parse_args()
    cases = SMOKE if args.smoke else CPU_CASES if args.cpu else CASES
    device = "cpu" if args.smoke or args.cpu else "cuda"
    if args.case is not None:
        print(json.dumps(run_case(cases[args.case], device)))
        return
    rows = []
    mode = ["--smoke"] if args.smoke else ["--cpu"] if args.cpu else []
    for index, case in enumerate(cases):
        argv = [sys.executable, __file__, "--case", str(index)] + mode
        done = subprocess.run(argv, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode == 0 and lines:
            rows.append(json.loads(lines[-1]))
        else:
            arch = architecture(case[1])
            reason = "out of memory" if "OutOfMemoryError" in done.stderr or "out of memory" in done.stderr else \
                (done.stderr.strip().splitlines() or ["failed"])[-1][:200]
            rows.append({"case": case[0], "tokens_per_s": None, "peak_gb": None, "fits": False, "error": reason,
                         "plan_gb": round(estimate_gb(arch, *case[2:], device), 1)})
        row = rows[-1]
        print(f"{row['case']:36s} seq {case[3]:5d} batch {case[4]:2d}  tokens/s {row['tokens_per_s']}  "
              f"peak {row['peak_gb']} GB  plan {row['plan_gb']} GB  "
              + (f"resident {row['resident_gb']} GB  " if "resident_gb" in row else "") + row.get("error", ""), flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"cases": rows, "lora": {**LORA, "target_modules": list(LORA["target_modules"])},
                       "device": device, "steps": dict(zip(("warmup", "timed"), STEPS[device])), "cases_spec": [asdict_case(c) for c in cases]},
                      handle, indent=2)


def asdict_case(case: tuple) -> dict:
    """A case as a dict for the JSON output."""
    return dict(zip(("name", "architecture", "trainable", "seq_len", "batch", "gradient_checkpointing", "bf16"), case))


if __name__ == "__main__":
    main()
