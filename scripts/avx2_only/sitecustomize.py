"""Make torch (and so vLLM) report an AVX2-only x86 CPU in every Python process of a run.

Loaded by ``scripts/avx2_only.sh`` through ``PYTHONPATH``, so it reaches every process the run
starts (Ray workers, vLLM's engine core). torch's kernels are capped by environment variables the
wrapper sets (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``, ``MKL_ENABLE_INSTRUCTIONS``); this file
caps what ``torch.cpu.get_capabilities()`` answers, which is where vLLM decides which of its kernel
libraries to load (``_C_AVX2`` instead of the AVX-512 ones) and which attention ISA to use.
It changes what the process is told, not the chip: clock, cores, caches and memory stay this
machine's. A developer tool for timing the fp32 path; never imported by the package.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import MappingProxyType, ModuleType
from typing import Any

HIDDEN_PREFIXES = ("avx512", "amx", "avx_vnni")  # everything an AVX2-only x86 CPU lacks
HIDDEN_KEYS = ("bf16", "fp16")


def capped(capabilities: Any) -> MappingProxyType:
    """``capabilities`` with every AVX-512, AMX and native bf16/fp16 entry answered False."""
    out = dict(capabilities)
    for key, value in out.items():
        if isinstance(value, bool) and (key.startswith(HIDDEN_PREFIXES) or key in HIDDEN_KEYS):
            out[key] = False
    return MappingProxyType(out)


def patch_torch_cpu(module: ModuleType) -> None:
    """Wrap ``torch.cpu.get_capabilities``; its ``_is_*_supported`` helpers read it by global name."""
    original = module.get_capabilities
    module.get_capabilities = lambda: capped(original())  # type: ignore[attr-defined]


class _PatchAfterLoad(importlib.abc.MetaPathFinder):
    """Finds ``torch.cpu`` with the normal machinery and patches it right after it executes."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "torch.cpu":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            patch_torch_cpu(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _PatchAfterLoad())
