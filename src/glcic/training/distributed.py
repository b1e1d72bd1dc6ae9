"""One process or many: what a training process needs to know about the others.

Under `torchrun` (WORLD_SIZE > 1 in the environment) each process joins a process group, gloo on
CPU and NCCL on CUDA, and trains on its own shard of the data with DistributedDataParallel. Rank 0
alone logs, writes samples and checkpoints. Without torchrun everything here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def join(device: str) -> World:
    """Join the torchrun process group if there is one; `device` is "cpu", "cuda" or "auto"."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    from glcic.devices import resolve_device
    from glcic.errors import GlcicError

    chosen = resolve_device(device)  # one clear line when CUDA is asked for and missing
    if chosen.type == "cuda":
        if size > 1 or chosen.index is None:
            chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    elif chosen.type != "cpu":
        raise GlcicError(f"training runs on cpu or cuda, not {device!r}")
    if size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", rank=rank, world_size=size)
    return World(rank, size, local_rank, chosen)


def leave(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(world: World, *flags: bool) -> list[bool]:
    """Each flag, true if it is true on any process (so that all processes stop together)."""
    if not world.distributed:
        return list(flags)
    values = torch.tensor([float(flag) for flag in flags], device=world.device)
    dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return [bool(v) for v in values.tolist()]


def gather(world: World, value):
    """`value` from every process, in rank order (a list of one without torchrun)."""
    if not world.distributed:
        return [value]
    values = [None] * world.size
    dist.all_gather_object(values, value)
    return values


def broadcast(world: World, value):
    """Rank 0's `value` on every process."""
    if not world.distributed:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]
