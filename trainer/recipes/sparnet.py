"""SPARNet and SPARNetHD recipes, after the official code [C] (docs/models.md#sparnet-training,
docs/models.md#sparnethd-training).

SPARNet (x8): L1 only; Adam lr 2e-4, betas (0.9, 0.99); batch 32; constant lr; random horizontal flip then
RandomResizedCrop (area 0.7-1.0, aspect 3/4-4/3, bicubic) on the HR before PIL-bicubic LR synthesis; N(0, 0.02)
init; images in [-1, 1].

SPARNetHD (blind, 512): G = 100 L1 + 1 perceptual (VGG-19, five taps, L1) + 10 feature matching + 1 hinge;
multi-scale discriminator (3 scales, 4 layers, IN, spectral norm); G Adam 1e-4, D Adam 4e-4, betas (0.5, 0.99);
batch 2; random grayscale p 0.3; the blind degradation of engine.degrade; EMA 0.999. The generator trains with
legacy spectral norm as the official one does (option spectral_g); exported weights are folded by engine.zoo.
Update order per iteration as the official code: G forward, D on real/fake, perceptual, G step, D step (the EMA
update follows the G step in our loop).
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch

from engine.degrade import blind as degrade_blind
from engine.models.sparnet import (
    MultiScaleDiscriminator,
    add_legacy_spectral_norm,
    init_official_,
)

from .. import losses
from ..data import SampleSpec, ValSet
from ..perceptual import PerceptualLoss
from . import register
from .base import Recipe, make_optimizer, mean_psnr_ssim, set_requires_grad


@register
class SPARNetRecipe(Recipe):
    name = "sparnet"
    # The blind same-size restorers (128 and 256) train with this recipe too: L1 over the whole residual output.
    variants = ("sparnet", "sparnet-light3d", "sparnet-blind", "sparnet-blind-u", "sparnet-blind-large",
                "sparnethd-blind256")
    description = "SPARNet: L1, Adam 2e-4 (0.9, 0.99), flip + RandomResizedCrop, [-1, 1]"
    defaults = {"batch": 32, "lr": 2e-4, "optimizer": "adam", "degradation": "bicubic8", "steps": 100_000}
    # soft_p: share of HR faces softened before the degradation (trainer.data.soften), for a restorer whose
    # training faces are all sharp
    options = {"hflip": True, "crop_scale": [0.7, 1.0], "gray_p": 0.0, "patch": 0, "soft_p": 0.0}

    def sample_spec(self) -> SampleSpec:
        base = super().sample_spec()
        crop = tuple(self.opt["crop_scale"]) if self.opt["crop_scale"] else None
        return SampleSpec(**{**base.__dict__, "hflip": bool(self.opt["hflip"]), "resized_crop": crop,
                             "gray_p": float(self.opt["gray_p"]), "patch": int(self.opt["patch"] or 0),
                             "soft_p": float(self.opt["soft_p"] or 0.0)})

    def build_networks(self) -> dict[str, torch.nn.Module]:
        return {"g": init_official_(self.build_variant())}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": make_optimizer(self.nets["g"].parameters(), self.cfg.optimizer, self.cfg.lr, betas=(0.9, 0.99))}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        out = self.forward_g(batch["input"])
        loss = losses.l1(out.image, batch["hr"])
        self.optimize("g", loss)
        return {"total": float(loss.detach()), "l1": float(loss.detach())}


def lanczos_baseline(val: ValSet, seed: int) -> dict[str, float]:
    """PSNR-Y/SSIM-Y of the validation faces degraded exactly as the model saw them (same per-face rng) but
    brought back to the HR size with Lanczos instead of cubic interpolation."""
    ups = [degrade_blind(hr, rng=np.random.default_rng([seed, i]), upsample=cv2.INTER_LANCZOS4)
           for i, hr in enumerate(val.hr)]
    return mean_psnr_ssim(ups, val.hr)


@register
class SPARNetHDRecipe(Recipe):
    name = "sparnethd"
    # sparnet-blind-gan: the GAN fine-tune of a blind 128 restorer (the sharper option) uses these terms as they are
    variants = ("sparnethd", "sparnethd-3d", "sparnethd-lite", "sparnet-blind-gan")
    description = "SPARNetHD: 100 L1 + perceptual + 10 feature matching + hinge, multi-scale D, blind degradation"
    defaults = {"batch": 2, "lr": 1e-4, "optimizer": "adam", "degradation": "blind", "steps": 350_000}
    options = {"d_lr": 4e-4, "pixel_weight": 100.0, "perceptual_weight": 1.0, "fm_weight": 10.0, "adv_weight": 1.0,
               "gray_p": 0.3, "hflip": False, "num_d": 3, "d_layers": 4, "d_width": 64, "spectral_g": True,
               "vgg_weights": None, "fsrnet_weights": None, "patch": 0}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lanczos: tuple[ValSet, dict[str, float]] | None = None  # validate()'s baseline of the last val set

    def sample_spec(self) -> SampleSpec:
        base = super().sample_spec()
        return SampleSpec(**{**base.__dict__, "gray_p": float(self.opt["gray_p"]), "hflip": bool(self.opt["hflip"]),
                             "patch": int(self.opt["patch"] or 0)})

    def build_networks(self) -> dict[str, torch.nn.Module]:
        g = init_official_(self.build_variant())
        if self.opt["spectral_g"]:
            add_legacy_spectral_norm(g)
        d = MultiScaleDiscriminator(base_ch=int(self.opt["d_width"]), n_layers=int(self.opt["d_layers"]),
                                    num_d=int(self.opt["num_d"]), spectral=True)
        return {"g": g, "d": d}

    def build_perceptual(self) -> PerceptualLoss | None:
        if not self.opt["perceptual_weight"]:
            self.facts["perceptual"] = "off (perceptual_weight 0)"
            return None
        return self.perceptual_loss("sparnethd", self.opt["fsrnet_weights"])

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (0.5, 0.99)
        return {"g": make_optimizer(self.nets["g"].parameters(), self.cfg.optimizer, self.cfg.lr, betas=betas),
                "d": make_optimizer(self.nets["d"].parameters(), self.cfg.optimizer, float(self.opt["d_lr"]),
                                    betas=betas)}

    def validate(self, model: torch.nn.Module, val: ValSet, batch: int = 16) -> dict[str, float]:
        """The generic metrics plus, under the blind degradation, the Lanczos baseline of the same degraded faces
        (the HD goal is to beat Lanczos; the generic 'bicubic' baseline here is the cubic-upsampled input)."""
        result: dict[str, Any] = super().validate(model, val, batch)
        if val.lr_source == "blind":
            if self._lanczos is None or self._lanczos[0] is not val:
                self._lanczos = (val, lanczos_baseline(val, self.cfg.seed))
            result["lanczos"] = self._lanczos[1]
        return result

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        hr, d, o = batch["hr"], self.nets["d"], self.opt
        out = self.forward_g(batch["input"])
        sr = out.image
        if not (o["adv_weight"] or o["fm_weight"] or o["perceptual_weight"]):
            pix = losses.l1(sr, hr)  # pixel loss only (PSNR-oriented): no discriminator or perceptual passes
            self.optimize("g", o["pixel_weight"] * pix)
            return {"total": float(o["pixel_weight"] * pix.detach()), "pixel": float(pix.detach())}
        with self.precision.autocast():
            real = d(hr)  # used by the D loss and (detached) as feature-matching targets
            fake_d = d(sr.detach())
            set_requires_grad(d, False)  # the G pass needs no D weight gradients
            fake = d(sr)
            set_requires_grad(d, True)
            pcp = self.perceptual(sr, hr) if self.perceptual is not None else sr.new_zeros(())
        pix = losses.l1(sr, hr)
        fm = losses.feature_matching([feats for _, feats in fake], [feats for _, feats in real])
        adv = sum(losses.hinge_g(score) for score, _ in fake) / len(fake)
        g_loss = (o["pixel_weight"] * pix + o["perceptual_weight"] * pcp.float() + o["fm_weight"] * fm
                  + o["adv_weight"] * adv)
        self.optimize("g", g_loss)
        d_loss = sum(0.5 * losses.hinge_d(r, f) for (r, _), (f, _) in zip(real, fake_d)) / len(real)
        self.optimize("d", d_loss)
        terms: dict[str, Any] = {"total": g_loss, "pixel": pix, "perceptual": pcp, "fm": fm, "adv": adv, "d": d_loss}
        return {k: float(v.detach()) for k, v in terms.items()}
