"""FSRNet and FSRGAN recipes (docs/models.md#fsrnet-training, docs/models.md#fsrgan).

FSRNet, Eq. 4: L_F = 1/2 (||y~ - y_c||^2 + alpha ||y~ - y||^2 + beta sum_s ||p~ - p_s||^2), element-averaged MSE,
alpha = beta = 1, both hourglass stacks supervised with the landmark heatmaps + parsing maps of trainer.targets.
RMSprop lr 2.5e-4 (alpha 0.99, eps 1e-8, Torch7 defaults), batch 14, as the paper. Random horizontal flips (with
the landmark/parsing left-right swap) are on by default; the paper augmented Helen offline with flips.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from engine import zoo
from engine.metrics import landmark_nrmse
from engine.models.fsrnet import heatmap_peaks, split_priors

from .. import losses
from ..data import SampleSpec
from ..perceptual import PerceptualLoss
from . import register
from .base import Recipe, make_optimizer, set_requires_grad


@register
class FSRNetRecipe(Recipe):
    name = "fsrnet"
    # fsrnet-blind (same network, residual over its 128 input) trains with this recipe on the photo degradations.
    variants = ("fsrnet", "fsrnet-blind")
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
        coarse = losses.mse(out.coarse, hr)
        fine = losses.mse(out.image, hr)
        prior = sum(losses.mse(p, target) for p in out.priors)
        total = 0.5 * (coarse + self.opt["alpha"] * fine + self.opt["beta"] * prior)
        return {"total": total, "coarse": coarse, "fine": fine, "prior": prior}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        out = self.forward_g(batch["input"])
        terms = self.fsrnet_losses(out, batch)
        self.optimize("g", terms["total"])
        return {k: float(v.detach()) for k, v in terms.items()}

    def landmark_errors(self, maps: dict[str, torch.Tensor], marks: list[np.ndarray | None]) -> list[float]:
        if "priors" not in maps:
            return []
        if self.variant.config.landmarks != 68:
            return []
        heat, _ = split_priors(maps["priors"], self.variant.config)
        peaks = heatmap_peaks(heat.float(), self.variant.hr_size).cpu().numpy()
        return [landmark_nrmse(p, m) for p, m in zip(peaks, marks) if m is not None]


@register
class FSRGANRecipe(FSRNetRecipe):
    """FSRGAN (docs/models.md#fsrgan): L_F + 1e-3 conditional adversarial (BCE, PatchGAN on (image, x)) + 1e-1
    perceptual (VGG-16 relu5_3 MSE, or the logged fallback of trainer.perceptual). The generator starts from trained
    FSRNet weights (--init, else the fsrnet weights the zoo finds); the discriminator uses the generator's optimiser
    settings (the paper gives none)."""

    name = "fsrgan"
    variants = ("fsrgan",)
    description = "FSRGAN: FSRNet loss + 1e-3 conditional adversarial (BCE) + 1e-1 perceptual, init from fsrnet"
    defaults = {"batch": 14, "lr": 2.5e-4, "optimizer": "rmsprop", "degradation": "bicubic8", "steps": 20_000}
    options = {**FSRNetRecipe.options, "adv_weight": 1e-3, "perceptual_weight": 1e-1, "vgg_weights": None}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The trained FSRNet the generator starts from (--init, else the fsrnet weights the zoo finds; the loop loads
        # --init itself) and the perceptual fallback's prior branch comes from; None: from scratch.
        init = self.cfg.init or zoo.find_weights("fsrnet")
        self.fsrnet_weights: str | None = str(init) if init else None

    def build_networks(self) -> dict[str, torch.nn.Module]:
        from engine.models.fsrnet import FSRGANDiscriminator

        nets = super().build_networks()
        if self.fsrnet_weights is None:
            self.log("warning: no FSRNet weights to start FSRGAN from (pass --init); training from scratch")
        elif not self.cfg.init:
            zoo.load_state_into(nets["g"], self.fsrnet_weights)
            self.log(f"FSRGAN generator initialised from {self.fsrnet_weights}")
        self.facts["initialised_from"] = self.fsrnet_weights
        nets["d"] = FSRGANDiscriminator()
        return nets

    def build_perceptual(self) -> PerceptualLoss:
        return self.perceptual_loss("fsrgan", self.fsrnet_weights)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = super().build_optimizers()
        opts["d"] = make_optimizer(self.nets["d"].parameters(), self.cfg.optimizer, self.cfg.lr, betas=(0.9, 0.999))
        return opts

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        x, hr = batch["input"], batch["hr"]
        d = self.nets["d"]
        out = self.forward_g(x)
        terms = self.fsrnet_losses(out, batch)
        set_requires_grad(d, False)
        with self.precision.autocast():
            fake_logits = d(out.image, x)
            pcp = self.perceptual(out.image, hr)
        adv = losses.bce_g(fake_logits)
        g_total = terms["total"] + self.opt["adv_weight"] * adv + self.opt["perceptual_weight"] * pcp.float()
        self.optimize("g", g_total)
        set_requires_grad(d, True)
        with self.precision.autocast():
            real_logits = d(hr, x)
            fake_logits = d(out.image.detach(), x)
        d_loss = losses.bce_d(real_logits, fake_logits)
        self.optimize("d", d_loss)
        return {"total": float(g_total.detach()), "fsrnet": float(terms["total"].detach()),
                "fine": float(terms["fine"].detach()), "adv": float(adv.detach()), "perceptual": float(pcp.detach()),
                "d": float(d_loss.detach())}
