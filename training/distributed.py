"""Data-parallel training: one model over several processes, each taking its share of every micro-batch.

Runs when ``torch.distributed`` is initialised with more than one process (Ray Train's
``TorchTrainer`` does this for ``labeling.exec.ray_train``; ``torchrun`` would too). Every process
plans the same steps from the same seed; process ``r`` of ``W`` forwards the examples at positions
``r, r + W, ...`` of each micro-batch, so the global batch is the one a single process would use.
The model is wrapped in DistributedDataParallel (``ddp``: a full replica per process) or sharded by
FSDP2 (``fsdp``: each process keeps 1/W of the weights, gradients and optimizer state); both
average gradients over processes.

Batch statistics (logconf's threshold on the batch's predictions and its mean weak label) are
computed over the **whole micro-batch, gathered**, not per process: each process gathers the other
processes' logits (detached) into the micro-batch's order and evaluates the loss on the whole
micro-batch, so gradients reach only its own rows. Multiplying by ``W`` undoes DDP's averaging, and
the sum over processes is the single-process gradient: every registered loss (xent, logconf,
product) gives the same loss curve as one process with the same global batch, up to the order of
floating-point sums. Only the first process writes the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DataParallel:
    """This process's place in a data-parallel group: its rank and the number of processes."""

    rank: int
    world: int

    @property
    def main(self) -> bool:
        """True on the process that logs and saves."""
        return self.rank == 0

    def shard(self, rows: list[int]) -> list[int]:
        """This process's examples of a micro-batch: positions ``rank, rank + world, ...``."""
        return rows[self.rank :: self.world]

    def wrap(self, model: torch.nn.Module, device: torch.device, strategy: str = "ddp") -> torch.nn.Module:
        """``model`` for data-parallel training, gradients averaged over the processes.

        ``ddp``: DistributedDataParallel, a full replica on every process. ``fsdp``: FSDP2's ``fully_shard``
        on every decoder layer and on the whole model, so each process keeps 1/world of the weights,
        gradients and AdamW moments and gathers a layer's weights only while it runs.
        """
        if strategy == "fsdp":
            from torch.distributed.fsdp import fully_shard

            for layer in decoder_layers(model):
                fully_shard(layer)
            fully_shard(model)
            return model
        ids = [device.index] if device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def full_state(self, model: torch.nn.Module) -> dict[str, torch.Tensor] | None:
        """The whole, unsharded weights of an FSDP model on the first process (None on the others; every
        process must call this)."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        return state if self.main else None

    def micro_batch_logits(self, forward: Callable[[list[int]], torch.Tensor], rows: list[int]) -> torch.Tensor:
        """Logits of the whole micro-batch in its order: this process's rows carry gradient, the rest are gathered.

        A process without rows (a last micro-batch smaller than the group) forwards one example with zero
        weight so that every process joins the gradient reduction.
        """
        mine = self.shard(rows)
        own = forward(mine if mine else rows[:1])
        gathered: list = [None] * self.world
        dist.all_gather_object(gathered, own.detach().float().cpu() if mine else None)
        parts = [own.float() if q == self.rank and mine else gathered[q].to(own.device)
                 for q in range(self.world) if gathered[q] is not None]
        positions = [p for q in range(self.world) if gathered[q] is not None for p in range(q, len(rows), self.world)]
        order = torch.argsort(torch.tensor(positions, device=own.device))
        logits = torch.cat(parts)[order]
        if not mine:
            logits = logits + 0.0 * own.float().sum()  # joins the graph, contributes nothing
        return logits

    def barrier(self) -> None:
        """Wait for every process (e.g. until the first one has saved)."""
        dist.barrier()


def decoder_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The transformer blocks of a Hugging Face decoder (``model.model.layers``), each sharded on its own."""
    trunk = getattr(model, "model", None) or getattr(model, "base_model", None)
    layers = getattr(trunk, "layers", None)
    if layers is None:
        raise ValueError(f"{type(model).__name__}: no decoder layers at model.layers to shard")
    return list(layers)


def current_group() -> DataParallel | None:
    """This process's data-parallel group, or None when it trains alone."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return DataParallel(rank=dist.get_rank(), world=dist.get_world_size())
    return None


def unwrapped(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DistributedDataParallel wrapper (the model itself otherwise)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
