"""Where a training process runs: torchrun's rank, the world size and the device.

DDP follows torchrun's protocol: when torchrun's WORLD_SIZE / LOCAL_RANK variables are present
the process group is initialised (NCCL on CUDA, Gloo on CPU); without them the run is one process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return dist.is_available() and dist.is_initialized()


def setup_distributed() -> DistContext:
    """Initialise the process group when launched by torchrun; pick this rank's device."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    if dist.is_available() and dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), device)
    return DistContext(device=device)
