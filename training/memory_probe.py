"""Peak tensor memory of a piece of work on the CPU, where torch keeps no allocator counter.

On CUDA ``torch.cuda.max_memory_allocated`` answers this; on the CPU the profiler's memory events do:
with ``profile_memory`` the profiler records one ``[memory]`` event per allocation (positive bytes) and
per free (negative), each at its own time, so their running sum in time order is the bytes of tensors
alive, and its maximum the peak. The raw events are read, not the op tree's self memory: the tree
books a free that happens inside a labelled scope (``Optimizer.step``, say) on the scope itself, at the
scope's start, which hides a transient made and freed inside it (AdamW's temporaries: measured, a
multi-tensor step's full-size temporary vanished from the tree and shows in the raw events).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def peak_tensor_bytes(deltas: Iterable[tuple[int, int]]) -> int:
    """Most bytes of tensors alive at once, from ``(time, bytes allocated or, negative, freed)`` pairs."""
    live = peak = 0
    for _, delta in sorted(deltas):
        live += delta
        peak = max(peak, live)
    return peak


def memory_deltas(prof: Any) -> list[tuple[int, int]]:
    """``(time in ns, bytes)`` of every CPU allocation (positive) and free (negative) a finished profile saw."""
    return [(event.start_ns(), event.nbytes()) for event in prof.profiler.kineto_results.events()
            if event.name() == "[memory]" and event.device_type() == torch.autograd.DeviceType.CPU and event.nbytes()]


def cpu_peak_bytes(work: Callable[[], T], already_alive: int = 0) -> tuple[T, int]:
    """Run ``work`` under the profiler; its result and the peak bytes of CPU tensors alive meanwhile.

    ``already_alive`` (e.g. the model's weights) is added: tensors made before the profile are not in it.
    """
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        result = work()
    return result, already_alive + peak_tensor_bytes(memory_deltas(prof))


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes held by ``tensors`` (each counted once)."""
    return sum(t.numel() * t.element_size() for t in {id(t): t for t in tensors}.values())
