"""Data-parallel training under ``torchrun`` (DDP: gloo on CPU, nccl on CUDA); a no-op in a single process.

Each rank takes a disjoint share of the same global batch (trainer.data.StepBatches), gradients are averaged by DDP,
and only rank 0 validates, writes checkpoints, events and the export.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as td
from torch import nn


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def init() -> tuple[int, int]:
    """(rank, world size); initialises the process group when launched by torchrun with more than one process."""
    world = world_size()
    if world <= 1:
        return 0, 1
    if not td.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        td.init_process_group(backend=backend)
    return td.get_rank(), td.get_world_size()


def device(requested: str) -> str:
    """Per-rank device: cuda:<LOCAL_RANK> when CUDA is used, else the request."""
    if requested in ("auto", "cuda") and torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return f"cuda:{local}"
    return requested


def active() -> bool:
    return td.is_available() and td.is_initialized() and td.get_world_size() > 1


def wrap(nets: dict[str, nn.Module], dev: torch.device) -> dict[str, nn.Module]:
    if not active():
        return nets
    ids = [dev.index] if dev.type == "cuda" else None
    return {k: nn.parallel.DistributedDataParallel(v, device_ids=ids, broadcast_buffers=False)
            if any(p.requires_grad for p in v.parameters()) else v for k, v in nets.items()}


def any_true(flag: bool) -> bool:
    """True on every rank when it is true on any (cancel and checkpoint decisions must agree)."""
    if not active():
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0])
    if td.get_backend() == "nccl":
        t = t.cuda()
    td.all_reduce(t, op=td.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier() -> None:
    if active():
        td.barrier()


def shutdown() -> None:
    if active():
        td.destroy_process_group()
