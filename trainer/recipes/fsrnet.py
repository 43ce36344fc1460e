"""FSRNet and FSRGAN recipes (MODELS.md 2.4-2.7).

FSRNet, Eq. 4: L_F = 1/2 (||y~ - y_c||^2 + alpha ||y~ - y||^2 + beta sum_s ||p~ - p_s||^2), element-averaged MSE,
alpha = beta = 1, both hourglass stacks supervised with the landmark heatmaps + parsing maps of trainer.targets.
RMSprop lr 2.5e-4 (alpha 0.99, eps 1e-8, Torch7 defaults), batch 14, as the paper. Random horizontal flips (with
the landmark/parsing left-right swap) are on by default; the paper augmented Helen offline with flips.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine.metrics import landmark_nrmse
from engine.models.fsrnet import heatmap_peaks

from ..data import SampleSpec
from . import register
from .base import Recipe, make_optimizer


@register
class FSRNetRecipe(Recipe):
    name = "fsrnet"
    variants = ("fsrnet",)
    description = "FSRNet, Eq. 4: coarse + fine MSE and prior (heatmap + parsing) MSE on both hourglass stacks"
    defaults = {"batch": 14, "lr": 2.5e-4, "optimizer": "rmsprop", "degradation": "bicubic8", "steps": 100_000}
    options = {"alpha": 1.0, "beta": 1.0, "hflip": True}

    def sample_spec(self) -> SampleSpec:
        base = super().sample_spec()
        return SampleSpec(**{**base.__dict__, "hflip": bool(self.opt["hflip"]), "priors": True, "landmarks": True})

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": make_optimizer(self.nets["g"].parameters(), self.cfg.optimizer, self.cfg.lr,
                                    betas=(0.9, 0.999))}

    def fsrnet_losses(self, out: Any, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hr, target = batch["hr"], batch["priors"]
        coarse = F.mse_loss(out.coarse.float(), hr)
        fine = F.mse_loss(out.image.float(), hr)
        prior = sum(F.mse_loss(p.float(), target) for p in out.priors)
        total = 0.5 * (coarse + self.opt["alpha"] * fine + self.opt["beta"] * prior)
        return {"total": total, "coarse": coarse, "fine": fine, "prior": prior}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        out = self.forward_g(batch["input"])
        losses = self.fsrnet_losses(out, batch)
        self.optimize("g", losses["total"])
        return {k: float(v.detach()) for k, v in losses.items()}

    def landmark_errors(self, maps: dict[str, torch.Tensor], marks: list[np.ndarray | None]) -> list[float]:
        if "priors" not in maps:
            return []
        n = self.variant.config.landmarks
        if n != 68:
            return []
        peaks = heatmap_peaks(maps["priors"][:, :n].float(), self.variant.hr_size).cpu().numpy()
        return [landmark_nrmse(p, m) for p, m in zip(peaks, marks) if m is not None]
