"""GPU check for training at the paper's scale: LoRA and full fine-tuning of Qwen2.5-7B / -14B shapes, measured.

    python scripts/gpu_check.py --out gpu_check.json            # on a GPU machine (no downloads)
    python scripts/gpu_check.py --smoke                          # a tiny shape on CPU: checks the script runs

Builds each architecture from its published numbers (``labeling.experiment.plan_models``) with random
weights directly on the device, as a 2-label sequence classifier, and runs a few optimizer steps of the
training library's recipe (fp32 master weights, bf16 autocast, AdamW; LoRA through ``training.lora``)
at the lang2025 sequence lengths. Prints, per case: tokens/s over the timed steps, peak memory
(``torch.cuda.max_memory_allocated``) and ``w2s plan``'s estimate for the same case, or that it did not
fit. Each case runs in its own process, so one that runs out of memory does not spoil the next.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

# (name, architecture, trainable, seq_len, micro-batch, gradient checkpointing): lang2025 trains the weak
# model and the judge (Qwen2.5-7B) at 512 and 2048 tokens and the strong model (14B) at 512.
CASES = [
    ("7B weak, LoRA", "Qwen/Qwen2.5-7B", "lora", 512, 8, False),
    ("7B weak, full", "Qwen/Qwen2.5-7B", "all", 512, 4, True),
    ("7B judge, LoRA", "Qwen/Qwen2.5-7B", "lora", 2048, 2, True),
    ("14B strong, LoRA", "Qwen/Qwen2.5-14B", "lora", 512, 8, False),
    ("14B strong, LoRA + checkpointing", "Qwen/Qwen2.5-14B", "lora", 512, 8, True),
    ("14B strong, full", "Qwen/Qwen2.5-14B", "all", 512, 2, True),
]
SMOKE = [("tiny, LoRA", "tiny", "lora", 64, 2, False), ("tiny, full", "tiny", "all", 64, 2, True)]
WARMUP, TIMED = 2, 4
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": ("all-linear",)}


def architecture(name: str):
    """The plan's architecture numbers for ``name`` (``tiny``: a 2-layer Qwen2 shape for --smoke)."""
    from labeling.experiment.plan_models import KNOWN_ARCHITECTURES, Architecture

    if name == "tiny":
        return Architecture(hidden=64, layers=2, intermediate=128, vocab=1000, heads=4, kv_heads=2, head_dim=16,
                            tied_embeddings=False, qkv_bias=True)
    return KNOWN_ARCHITECTURES[name]


def estimate_gb(arch, trainable: str, seq_len: int, batch: int, checkpointing: bool) -> float:
    """``w2s plan``'s memory estimate for the case, in GB."""
    from labeling.experiment.plan_costs import training_memory
    from labeling.experiment.plan_models import lora_parameters, parameter_count

    params = parameter_count(arch)
    lora = lora_parameters(arch, LORA["r"], LORA["target_modules"]) if trainable == "lora" else None
    memory = training_memory(params, trainable, arch=arch, batch_size=batch, seq_len=seq_len, bf16=True,
                             trainable_params=lora, gradient_checkpointing=checkpointing)
    return memory.total / 1e9


def run_case(case: tuple, device: str) -> dict:
    """Build, train a few steps, measure (in this process)."""
    import torch
    from training.lora import LoraSettings, with_lora
    from transformers import AutoModelForSequenceClassification, Qwen2Config

    name, arch_name, trainable, seq_len, batch, checkpointing = case
    arch = architecture(arch_name)
    config = Qwen2Config(hidden_size=arch.hidden, num_hidden_layers=arch.layers, intermediate_size=arch.intermediate,
                         vocab_size=arch.vocab, num_attention_heads=arch.heads, num_key_value_heads=arch.kv_heads,
                         tie_word_embeddings=arch.tied_embeddings, num_labels=2, pad_token_id=0)
    with torch.device(device):
        model = AutoModelForSequenceClassification.from_config(config, torch_dtype=torch.float32)
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if trainable == "lora":
        model = with_lora(model, LoraSettings(**LORA))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    ids = torch.randint(1, arch.vocab, (batch, seq_len), device=device)
    labels = torch.randint(0, 2, (batch,), device=device)
    timed = 0.0
    for step in range(WARMUP + TIMED):
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            logits = model(input_ids=ids).logits
        torch.nn.functional.cross_entropy(logits.float(), labels).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        timed += time.perf_counter() - started if step >= WARMUP else 0.0
    peak = torch.cuda.max_memory_allocated() / 1e9 if device == "cuda" else float("nan")
    return {"case": name, "tokens_per_s": round(TIMED * batch * seq_len / timed, 1), "peak_gb": round(peak, 1),
            "plan_gb": round(estimate_gb(arch, trainable, seq_len, batch, checkpointing), 1), "fits": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny shape on CPU (checks the script, measures nothing)")
    parser.add_argument("--out", default=None, help="also write the table as JSON here")
    parser.add_argument("--case", type=int, default=None, help=argparse.SUPPRESS)  # the child process's one case
    args = parser.parse_args()
    cases = SMOKE if args.smoke else CASES
    device = "cpu" if args.smoke else "cuda"
    if args.case is not None:
        print(json.dumps(run_case(cases[args.case], device)))
        return
    rows = []
    for index, case in enumerate(cases):
        argv = [sys.executable, __file__, "--case", str(index)] + (["--smoke"] if args.smoke else [])
        done = subprocess.run(argv, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode == 0 and lines:
            rows.append(json.loads(lines[-1]))
        else:
            arch = architecture(case[1])
            reason = "out of memory" if "OutOfMemoryError" in done.stderr or "out of memory" in done.stderr else \
                (done.stderr.strip().splitlines() or ["failed"])[-1][:200]
            rows.append({"case": case[0], "tokens_per_s": None, "peak_gb": None, "fits": False, "error": reason,
                         "plan_gb": round(estimate_gb(arch, case[2], case[3], case[4], case[5]), 1)})
        row = rows[-1]
        print(f"{row['case']:36s} seq {case[3]:5d} batch {case[4]:2d}  tokens/s {row['tokens_per_s']}  "
              f"peak {row['peak_gb']} GB  plan {row['plan_gb']} GB  {row.get('error', '')}", flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"cases": rows, "lora": {**LORA, "target_modules": list(LORA["target_modules"])},
                       "steps": {"warmup": WARMUP, "timed": TIMED}, "cases_spec": [asdict_case(c) for c in cases]},
                      handle, indent=2)


def asdict_case(case: tuple) -> dict:
    """A case as a dict for the JSON output."""
    return dict(zip(("name", "architecture", "trainable", "seq_len", "batch", "gradient_checkpointing"), case))


if __name__ == "__main__":
    main()
