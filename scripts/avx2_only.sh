#!/usr/bin/env bash
# Run a command as if this x86 CPU had AVX2 and nothing newer (no AVX-512, no AVX512_BF16, no AMX).
#
# torch's own kernels are capped by ATEN_CPU_CAPABILITY, oneDNN's by ONEDNN_MAX_CPU_ISA and MKL's by
# MKL_ENABLE_INSTRUCTIONS; scripts/avx2_only/sitecustomize.py caps what torch.cpu.get_capabilities()
# reports, so vLLM loads its AVX2 kernel library; W2S_ASSUME_NO_BF16=1 makes `precision: auto` pick
# fp32 as it would from an AVX2-only machine's flags. Only the instruction set is capped: clock,
# caches and memory are this machine's, so timings are a lower bound for a slower AVX2-only chip.
#
#   scripts/avx2_only.sh .venv/bin/w2s run configs/quickstart.yaml
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 W2S_ASSUME_NO_BF16=1
export PYTHONPATH="$here/avx2_only${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"
