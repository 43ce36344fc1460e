"""Exponential moving average of a network's weights (the ``params_ema`` of BasicSR checkpoints).

Every floating state entry is averaged, parameters and BatchNorm running statistics alike (SPARNetHD does the same,
docs/models.md#sparnethd-training); integer buffers are copied. The effective decay is
min(decay, (1 + step) / (10 + step)), so a short fine-tune's EMA is not dominated by the initial weights.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float):
        self.decay = float(decay)
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def effective_decay(self, step: int) -> float:
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = self.effective_decay(step)
        source = model.state_dict()
        for key, value in self.model.state_dict().items():
            new = source[key].detach()
            if value.is_floating_point():
                value.mul_(d).add_(new.to(value.dtype), alpha=1.0 - d)
            else:
                value.copy_(new)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state, strict=True)
