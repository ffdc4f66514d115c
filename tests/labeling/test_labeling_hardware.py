"""Precision and thread choice per kind of hardware (pure decisions), and the 'no bf16' switch."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.exec.hardware import (
    ASSUME_NO_BF16_ENV,
    Hardware,
    decide_precision,
    inference_precision,
    read_cpu_flags,
    resolve_precision,
)
from labeling.exec.threads import plan_threads, positive_int_or_auto

AVX2_EPYC = frozenset("fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c".split())
SAPPHIRE_RAPIDS = AVX2_EPYC | {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8"}
COOPER_LAKE = AVX2_EPYC | {"avx512f", "avx512_bf16"}
ICE_LAKE = AVX2_EPYC | {"avx512f", "avx512bw", "avx512_vnni"}  # AVX-512 but no bf16


def never_probe() -> float:
    raise AssertionError("the CPU flags settle it: no probe should run")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(AVX2_EPYC, "float32"), (ICE_LAKE, "float32"), (SAPPHIRE_RAPIDS, "bfloat16")],
    ids=["avx2-only", "avx512-no-bf16", "amx"],
)
def test_x86_flags_decide_without_a_probe(flags: frozenset[str], expected: str) -> None:
    precision = decide_precision("auto", Hardware("cpu", "x86_64", flags), never_probe)
    assert precision.dtype == expected
    assert precision.reason


def test_explicit_precision_always_wins() -> None:
    assert decide_precision("bfloat16", Hardware("cpu", "x86_64", AVX2_EPYC), never_probe).dtype == "bfloat16"
    assert decide_precision("float32", Hardware("cpu", "x86_64", SAPPHIRE_RAPIDS), never_probe).dtype == "float32"
    slow = Hardware("cpu", "x86_64", SAPPHIRE_RAPIDS, assume_no_bf16=True)
    assert decide_precision("bfloat16", slow, never_probe).dtype == "bfloat16"


def test_switch_makes_a_bf16_machine_answer_no_bf16() -> None:
    for hw in (Hardware("cpu", "x86_64", SAPPHIRE_RAPIDS, assume_no_bf16=True),
               Hardware("cuda", "x86_64", None, cuda_bf16=True, assume_no_bf16=True)):
        precision = decide_precision("auto", hw, never_probe)
        assert precision.dtype == "float32" and ASSUME_NO_BF16_ENV in precision.reason


@pytest.mark.parametrize(("cuda_bf16", "expected"), [(True, "bfloat16"), (False, "float32"), (None, "bfloat16")])
def test_cuda_uses_the_device_capability(cuda_bf16: bool | None, expected: str) -> None:
    assert decide_precision("auto", Hardware("cuda", "x86_64", AVX2_EPYC, cuda_bf16=cuda_bf16), never_probe).dtype == expected


@pytest.mark.parametrize(("ratio", "expected"), [(2.5, "bfloat16"), (1.1, "bfloat16"), (1.0, "float32"), (0.05, "float32")])
def test_unknown_flags_fall_back_to_the_measured_probe(ratio: float, expected: str) -> None:
    calls = []

    def probe() -> float:
        calls.append(1)
        return ratio

    machines = (
        Hardware("cpu", "aarch64", frozenset({"fp", "asimd", "bf16"})),
        Hardware("cpu", "x86_64", None),
        Hardware("cpu", "x86_64", COOPER_LAKE),  # AVX512_BF16 without AMX: measured slower than fp32 on a Xeon
    )
    for hw in machines:
        precision = decide_precision("auto", hw, probe)
        assert precision.dtype == expected and "measured" in precision.reason
    assert len(calls) == 3


def test_without_a_probe_unsettled_flags_choose_fp32() -> None:
    assert decide_precision("auto", Hardware("cpu", "x86_64", COOPER_LAKE), None).dtype == "float32"


def test_unknown_value_is_an_error() -> None:
    with pytest.raises(ValueError, match="auto, bfloat16 or float32"):
        decide_precision("fp8", Hardware("cpu", "x86_64", AVX2_EPYC))


def test_read_cpu_flags_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2\n\nprocessor\t: 1\n")
    assert read_cpu_flags(cpuinfo) == frozenset({"fpu", "sse2", "avx2"})
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert "bf16" in read_cpu_flags(arm)
    assert read_cpu_flags(tmp_path / "missing") is None


def test_resolve_reads_the_switch_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ASSUME_NO_BF16_ENV, "1")
    assert resolve_precision("auto", "cpu", "a test").dtype == "float32"
    monkeypatch.setenv(ASSUME_NO_BF16_ENV, "0")
    machine = resolve_precision("auto", "cpu", "a test")
    flags = read_cpu_flags() or frozenset()
    if "amx_bf16" in flags:
        assert machine.dtype == "bfloat16"
    elif "avx2" in flags and "avx512_bf16" not in flags:
        assert machine.dtype == "float32"
    else:  # AVX512_BF16 without AMX, or unknown flags: the cached probe decided
        assert "measured" in machine.reason


def test_inference_follows_training_only_where_the_hardware_is_native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ASSUME_NO_BF16_ENV, "1")
    assert inference_precision("auto", "bfloat16").dtype == "float32"
    assert inference_precision("auto", "float32").dtype == "float32"
    assert inference_precision("bfloat16", "float32").dtype == "bfloat16"


@pytest.mark.parametrize(
    ("threads", "workers", "cores", "expected"),
    [
        ("auto", "auto", 2, (2, 1)),  # two one-thread workers: measured fastest on 2 cores
        ("auto", "auto", 1, (1, 1)),
        ("auto", "auto", 16, (4, 4)),
        ("auto", "auto", 6, (4, 1)),
        ("auto", 1, 8, (1, 8)),
        (2, "auto", 8, (4, 2)),
        (4, "auto", 2, (1, 4)),
        (3, 3, 2, (3, 3)),  # explicit wins, even when it oversubscribes
    ],
)
def test_thread_plan_fits_the_cores(threads, workers, cores: int, expected: tuple[int, int]) -> None:
    plan = plan_threads(threads, workers, cores)
    assert (plan.workers, plan.threads) == expected
    if threads == "auto" or workers == "auto":
        assert plan.workers * plan.threads <= max(cores, plan.threads)
    assert ("oversubscribes" in plan.reason) == plan.oversubscribes == (plan.workers * plan.threads > cores)


def test_cuda_trains_one_model_at_a_time() -> None:
    plan = plan_threads("auto", "auto", 16, "cuda")
    assert (plan.workers, plan.threads) == (1, 16)


def test_count_parser() -> None:
    assert positive_int_or_auto("auto") == "auto"
    assert positive_int_or_auto("3") == 3
    for bad in ("0", "-2", "many"):
        with pytest.raises(ValueError):
            positive_int_or_auto(bad)


def test_probe_is_measured_once_per_machine_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import labeling.exec.hardware as hardware

    monkeypatch.setenv("W2S_CACHE_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(hardware, "measure_bf16_ratio", lambda: calls.append(1) or 0.57)
    assert hardware.cached_bf16_ratio() == pytest.approx(0.57)
    assert hardware.cached_bf16_ratio() == pytest.approx(0.57)
    assert len(calls) == 1
    [cached] = (tmp_path / "hardware").glob("bf16-probe-*.json")
    assert '"bf16_over_fp32": 0.57' in cached.read_text()


def test_probe_cache_is_per_kernel_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ratio measured with AVX-512 kernels is not reused when torch is capped to AVX2 (ATEN_CPU_CAPABILITY)."""
    import torch

    import labeling.exec.hardware as hardware

    monkeypatch.setenv("W2S_CACHE_DIR", str(tmp_path))
    ratios = iter([4.5, 0.02])
    monkeypatch.setattr(hardware, "measure_bf16_ratio", lambda: next(ratios))
    assert hardware.cached_bf16_ratio() == pytest.approx(4.5)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "CAPPED")
    assert hardware.cached_bf16_ratio() == pytest.approx(0.02)
    assert len(list((tmp_path / "hardware").glob("bf16-probe-*.json"))) == 2


def test_probe_measures_a_real_ratio() -> None:
    from labeling.exec.hardware import measure_bf16_ratio

    ratio = measure_bf16_ratio((64, 64, 64), seconds=0.02)
    assert 0.001 < ratio < 1000


def test_engine_actors_share_the_local_cpus() -> None:
    from labeling.exec.threads import actor_cpus

    assert actor_cpus("auto", 1, 2, joins_cluster=False) == 2.0
    assert actor_cpus("auto", 4, 2, joins_cluster=False) == 1.0  # never 0: an actor must be schedulable
    assert actor_cpus("auto", 2, 16, joins_cluster=False) == 8.0
    assert actor_cpus("auto", 8, None, joins_cluster=True) == 1.0
    assert actor_cpus(0.5, 8, 2, joins_cluster=False) == 0.5


def test_avx2_only_wrapper_caps_torch_vllm_and_auto_precision(tmp_path: Path) -> None:
    """scripts/avx2_only.sh: torch dispatches AVX2 kernels, reports no AVX-512/bf16, vLLM loads its AVX2 library, auto -> fp32."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    probe = (
        "import json, re, torch\n"
        "from vllm.platforms import current_platform\n"
        "from labeling.exec.hardware import resolve_precision\n"
        "current_platform.import_kernels()\n"
        "libs = sorted(set(re.findall(r'vllm/(_C\\w*)\\.abi3', open('/proc/self/maps').read())))\n"
        "print(json.dumps({'isa': torch.backends.cpu.get_cpu_capability(), 'avx512': torch.cpu._is_avx512_supported(),\n"
        "  'bf16': torch.cpu._is_avx512_bf16_supported(), 'amx': torch.cpu._is_amx_tile_supported(),\n"
        "  'avx2': torch.cpu._is_avx2_supported(), 'libs': libs, 'auto': resolve_precision('auto').dtype}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "W2S_ASSUME_NO_BF16")}
    env["W2S_CACHE_DIR"] = str(tmp_path)
    out = subprocess.run([str(root / "scripts" / "avx2_only.sh"), sys.executable, "-c", probe], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    if not seen["avx2"]:
        pytest.skip("this CPU has no AVX2")
    assert seen["isa"] == "AVX2"
    assert (seen["avx512"], seen["bf16"], seen["amx"]) == (False, False, False)
    assert seen["libs"] == ["_C_AVX2"]
    assert seen["auto"] == "float32"
