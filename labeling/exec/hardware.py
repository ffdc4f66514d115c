"""What this machine runs fast: the precision (bf16 or fp32). Threads and cores: ``exec/threads.py``.

bf16 is fast only where the hardware computes it natively: CUDA devices that support it, and
CPUs with AMX. On x86 CPUs without any bf16 instructions (AVX2-only, measured 10-50x slower than
fp32) it is emulated, so ``auto`` picks fp32. Between the two, AVX512_BF16 without AMX is not
settled by the flags (measured on a Xeon with AVX512_BF16 and no AMX: bf16 matmul 0.55x and
training 0.57x the speed of fp32), nor is a CPU whose flags are unknown (another architecture, no
``/proc/cpuinfo``): there a short measured probe decides, and its answer is cached per machine. Setting ``W2S_ASSUME_NO_BF16=1`` makes the capability check
answer "no bf16", so the fp32 path can be exercised on any machine.

``decide_precision`` is a pure function of a hardware description (tested per kind of hardware);
``resolve_precision`` reads this machine and logs each decision once per process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from labeling.store import atomic_write_text, cache_root

log = logging.getLogger(__name__)

ASSUME_NO_BF16_ENV = "W2S_ASSUME_NO_BF16"
NATIVE_BF16_CPU_FLAG = "amx_bf16"  # bf16 tile matmuls: settles "fast"
PARTIAL_BF16_CPU_FLAG = "avx512_bf16"  # bf16 dot products only: measured, not assumed
PROBE_MIN_RATIO = 1.1  # bf16 must be clearly faster to be chosen; fp32 is also the more exact one
X86_MACHINES = ("x86_64", "amd64", "i386", "i686")
PROBE_SHAPE = (480, 576, 1536)  # (tokens, in, out) of one matmul in the probe

Device = Literal["cpu", "cuda"]


@dataclass(frozen=True)
class Hardware:
    """The facts a precision decision depends on (read from the machine, or written by a test)."""

    device: Device
    machine: str  # platform.machine(), e.g. "x86_64", "aarch64"
    cpu_flags: frozenset[str] | None  # None: not known on this system
    cuda_bf16: bool | None = None  # torch.cuda.is_bf16_supported() on a CUDA device
    assume_no_bf16: bool = False  # W2S_ASSUME_NO_BF16 is set


@dataclass(frozen=True)
class Precision:
    """A resolved precision and why it was chosen."""

    dtype: Literal["bfloat16", "float32"]
    reason: str

    @property
    def bf16(self) -> bool:
        """True when the precision is bfloat16."""
        return self.dtype == "bfloat16"


def decide_precision(requested: str, hw: Hardware, probe: Callable[[], float] | None = None) -> Precision:
    """Resolve ``auto`` for the hardware ``hw``; an explicit ``bfloat16``/``float32`` always wins.

    ``probe`` returns the measured bf16/fp32 speed ratio; it is called only when the flags do not settle it.
    """
    if requested in ("bfloat16", "float32"):
        return Precision(requested, "set explicitly")  # type: ignore[arg-type]
    if requested != "auto":
        raise ValueError(f"precision must be auto, bfloat16 or float32, got {requested!r}")
    if hw.assume_no_bf16:
        return Precision("float32", f"{ASSUME_NO_BF16_ENV} is set: the capability check answers 'no bf16'")
    if hw.device == "cuda":
        if hw.cuda_bf16 is None:
            return Precision("bfloat16", "GPU not visible from this process (remote actors): assumed bf16-capable")
        if hw.cuda_bf16:
            return Precision("bfloat16", "CUDA device with bf16 support")
        return Precision("float32", "CUDA device without bf16 support")
    x86 = hw.cpu_flags is not None and hw.machine.lower() in X86_MACHINES
    if x86 and NATIVE_BF16_CPU_FLAG in hw.cpu_flags:  # type: ignore[operator]
        return Precision("bfloat16", "CPU has AMX-BF16: native bf16 matmuls")
    if x86 and PARTIAL_BF16_CPU_FLAG not in hw.cpu_flags:  # type: ignore[operator]
        return Precision("float32", "x86 CPU without AVX512_BF16 or AMX: bf16 is emulated (10-50x slower)")
    why = "CPU has AVX512_BF16 but no AMX" if x86 else f"CPU flags unknown on {hw.machine}"
    if probe is None:
        return Precision("float32", f"{why} and no probe ran: fp32 is the safe choice")
    ratio = probe()
    dtype: Literal["bfloat16", "float32"] = "bfloat16" if ratio >= PROBE_MIN_RATIO else "float32"
    return Precision(dtype, f"{why}: measured bf16 at {ratio:.2f}x the speed of fp32")


def read_cpu_flags(path: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The CPU feature flags from ``/proc/cpuinfo`` (x86 ``flags``, ARM ``Features``), or None."""
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return None


def assume_no_bf16() -> bool:
    """True when ``W2S_ASSUME_NO_BF16`` asks the capability check to answer "no bf16"."""
    return os.environ.get(ASSUME_NO_BF16_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def this_hardware(device: Device) -> Hardware:
    """Describe this machine for ``device`` (``cuda`` queries torch; ``cpu`` reads the CPU flags)."""
    cuda_bf16 = None
    if device == "cuda":
        import torch

        cuda_bf16 = bool(torch.cuda.is_bf16_supported()) if torch.cuda.is_available() else None
    return Hardware(device, platform.machine(), read_cpu_flags(), cuda_bf16, assume_no_bf16())


def measure_bf16_ratio(shape: tuple[int, int, int] = PROBE_SHAPE, seconds: float = 0.3) -> float:
    """bf16 matmul throughput divided by fp32's on one thread (about ``2 * seconds`` of work).

    The default shape is a small model's MLP projection over one training batch (480 tokens,
    576 -> 1536), so the probe measures the kernels training and generation actually use.
    """
    import torch

    rows, inner, cols = shape

    def rate(dtype: torch.dtype) -> float:
        a = torch.randn(rows, inner).to(dtype)
        b = torch.randn(inner, cols).to(dtype)
        a @ b  # warm-up
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            a @ b
            count += 1
        return count / elapsed

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return rate(torch.bfloat16) / rate(torch.float32)
    finally:
        torch.set_num_threads(previous)


def _probe_cache_path() -> Path:
    flags = read_cpu_flags() or frozenset()
    cpu = cpu_model_name()
    import torch

    # The kernels torch dispatches to can be capped (ATEN_CPU_CAPABILITY=avx2), so they are part of the key.
    isa = torch.backends.cpu.get_cpu_capability()
    key = hashlib.sha256(json.dumps([platform.machine(), cpu, sorted(flags), torch.__version__, isa]).encode()).hexdigest()
    return cache_root() / "hardware" / f"bf16-probe-{key[:16]}.json"


def cpu_model_name() -> str:
    """The CPU's model name as the OS reports it (``/proc/cpuinfo``), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model", "hardware")):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cached_bf16_ratio() -> float:
    """The bf16/fp32 speed ratio of this machine, measured once and cached under the w2s cache folder."""
    path = _probe_cache_path()
    if path.is_file():
        try:
            return float(json.loads(path.read_text())["bf16_over_fp32"])
        except (ValueError, KeyError, OSError):
            pass
    ratio = measure_bf16_ratio()
    atomic_write_text(path, json.dumps({"bf16_over_fp32": ratio, "cpu": cpu_model_name(), "machine": platform.machine()}))
    return ratio


@functools.lru_cache(maxsize=None)
def _resolve_logged(requested: str, device: Device, no_bf16: bool, what: str) -> Precision:
    precision = decide_precision(requested, this_hardware(device), cached_bf16_ratio)
    log.info("precision of %s on %s: %s (%s%s)", what, device, precision.dtype,
             "requested auto: " if requested == "auto" else "", precision.reason)
    return precision


def resolve_precision(requested: str, device: Device = "cpu", what: str = "training") -> Precision:
    """Resolve ``requested`` for this machine's ``device``; logged once per process and purpose."""
    return _resolve_logged(requested, device, assume_no_bf16(), what)


def inference_precision(requested: str, trained_dtype: str, device: Device = "cpu", what: str = "the judge") -> Precision:
    """Precision for predicting with a model trained in ``trained_dtype``.

    ``auto`` predicts as the model was trained where this hardware runs that natively, and in
    fp32 otherwise (a bf16-trained judge on an AVX2-only CPU); an explicit precision wins.
    """
    if requested != "auto":
        return resolve_precision(requested, device, what)
    machine = resolve_precision("auto", device, what)
    if trained_dtype != "bfloat16":
        return Precision("float32", "as trained (fp32)")
    if machine.bf16:
        return Precision("bfloat16", f"as trained (bf16); {machine.reason}")
    return Precision("float32", f"trained in bf16, but {machine.reason}")


def training_device() -> Device:
    """The device training runs on here: ``cuda`` when torch sees one, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def training_precision(requested: str) -> Precision:
    """The autocast precision of training and prediction on this machine."""
    return resolve_precision(requested, training_device(), "training")


def engine_dtype(requested: str, num_gpus: float) -> str:
    """The vLLM engine dtype for actors with ``num_gpus`` GPUs each (``float16`` passes through)."""
    if requested == "float16":
        return requested
    return resolve_precision(requested, "cuda" if num_gpus > 0 else "cpu", "the vLLM engine").dtype
