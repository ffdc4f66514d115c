"""Peak tensor memory of a piece of work on the CPU, where torch keeps no allocator counter.

On CUDA ``torch.cuda.max_memory_allocated`` answers this; on the CPU the profiler's memory events do:
each allocation is the self memory of the op that made it, each free a negative ``[memory]`` event,
so their running sum in time order is the bytes of tensors alive, and its maximum the peak.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def peak_tensor_bytes(events: Iterable[Any]) -> int:
    """Most bytes of tensors alive at once among a profile's events, counted from its start."""
    deltas = sorted((event.time_range.start, event.self_cpu_memory_usage) for event in events
                    if event.self_cpu_memory_usage)
    live = peak = 0
    for _, delta in deltas:
        live += delta
        peak = max(peak, live)
    return peak


def cpu_peak_bytes(work: Callable[[], T], already_alive: int = 0) -> tuple[T, int]:
    """Run ``work`` under the profiler; its result and the peak bytes of CPU tensors alive meanwhile.

    ``already_alive`` (e.g. the model's weights) is added: tensors made before the profile are not in it.
    """
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        result = work()
    return result, already_alive + peak_tensor_bytes(prof.events())


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes held by ``tensors`` (each counted once)."""
    return sum(t.numel() * t.element_size() for t in {id(t): t for t in tensors}.values())
