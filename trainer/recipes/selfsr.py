"""SelFSR recipes (docs/models.md#selfsr-training): the paired/unpaired progressive SR stage and the degrader stage.

SR stage: G_loss = adv_weight * hinge_G + rec_weight * L1 (paired: against the HR resized to the current output size;
unpaired: cycle L1 between bicubic-down(G(x)) and x), D_loss = hinge + R1 (gamma 10 [P], applied lazily every `r1_every`
D steps and scaled by it, our choice). Adam lr 3e-3 with betas (0, 0.99) for both nets (equalized learning rate lives in
the networks) [P/X]. Progressive growth: start at x2 (stage 1), grow to x4 and x8 at the paper's 20 k / 80 k of 160 k
iterations, i.e. 12.5 % and 50 % of the configured steps, with a linear fade-in of 10 k of 160 k (6.25 %) after each
growth; all of it is the explicit, logged `schedule` (stage, alpha) per step.

Degrader stage: G_D(x_c) -> (x_n, flow, I_m); G loss = 1 * BCE adversarial (x_n vs real LR faces) + 10 * L1(I_m, x_c) +
1 * TV(flow) [X weights, docs/models.md#selfsr-deviations]; D_LR with BCE. Adam 2e-4, betas (0.5, 0.999), linear decay
over the second half [P]. Clean LR is the PIL-bicubic x8 LR of the training faces; real LR faces come from the `real_lr`
folder (any size, area-resized to 16x16 once at start-up).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine.models.registry import to_uint8
from engine.models.selfsr import HRDiscriminator, LRDiscriminator

from .. import losses
from ..config import ConfigError
from ..data import (
    DataError,
    SampleSpec,
    ValSet,
    fit_size,
    read_rgb,
    resolve_train_source,
)
from . import register
from .base import Recipe, make_optimizer, set_requires_grad


def stage_schedule(step: int, total: int, start: int, final: int, growth: list[float], fade: float
                   ) -> tuple[int, float]:
    """(stage, alpha) at `step` of `total`: growth points are fractions of total, fade a fraction-long alpha ramp."""
    stage, alpha = start, 1.0
    for k, frac in enumerate(growth[: max(0, final - start)]):
        at = int(round(frac * total))
        if step >= at:
            stage = start + k + 1
            length = max(1, int(round(fade * total)))
            alpha = min(1.0, (step - at) / length) if fade > 0 else 1.0
    return stage, alpha


@register
class SelFSRRecipe(Recipe):
    name = "selfsr"
    variants = ("selfsr", "selfsr-lite")
    description = "SelFSR SR stage: progressive x2->x8, hinge + 10 L1 (or cycle) + R1 10, Adam 3e-3 (0, 0.99)"
    defaults = {"batch": 48, "lr": 3e-3, "optimizer": "adam", "degradation": "bicubic8", "steps": 160_000}
    options = {"objective": "paired", "adv_weight": 1.0, "rec_weight": 10.0, "r1_gamma": 10.0, "r1_every": 16,
               "betas": [0.0, 0.99], "d_lr": None, "growth": [0.125, 0.5], "fade": 0.0625, "start_stage": 1,
               "d_width_div": None, "hflip": True}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._last_stage: tuple[int, bool] | None = None  # (stage, fade-in over) last logged by train_step

    @classmethod
    def check(cls, cfg: Any) -> None:
        super().check(cfg)
        opt = cls.resolve_options(cfg.options)
        if opt["objective"] not in ("paired", "unpaired"):
            raise ConfigError(f"selfsr: objective must be 'paired' or 'unpaired', got {opt['objective']!r}")

    def sample_spec(self) -> SampleSpec:
        base = super().sample_spec()
        return SampleSpec(**{**base.__dict__, "hflip": bool(self.opt["hflip"])})

    def build_networks(self) -> dict[str, torch.nn.Module]:
        g = self.build_variant()
        div = self.opt["d_width_div"] or max(1, 512 // g.config.widths[0])
        d = HRDiscriminator(hr_size=self.variant.hr_size, lr_size=self.variant.lr_size, width_div=int(div))
        self.facts["discriminator"] = {"width_div": int(div)}
        return {"g": g, "d": d}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = tuple(self.opt["betas"])
        d_lr = float(self.opt["d_lr"] or self.cfg.lr)
        return {"g": make_optimizer(self.nets["g"].parameters(), self.cfg.optimizer, self.cfg.lr, betas=betas),
                "d": make_optimizer(self.nets["d"].parameters(), self.cfg.optimizer, d_lr, betas=betas)}

    @property
    def final_stage(self) -> int:
        """The generator's last stage (x8 for the paper's widths)."""
        return self.unwrap("g").config.final_stage

    def schedule(self, step: int) -> tuple[int, float]:
        start = min(int(self.opt["start_stage"]), self.final_stage)
        return stage_schedule(step, self.cfg.steps, start, self.final_stage, list(self.opt["growth"]),
                              float(self.opt["fade"]))

    def target(self, hr: torch.Tensor, size: int) -> torch.Tensor:
        return hr if hr.shape[-1] == size else F.interpolate(hr, size=(size, size), mode="area")

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        stage, alpha = self.schedule(step)
        if (stage, alpha == 1.0) != self._last_stage:
            self._last_stage = (stage, alpha == 1.0)
            self.log(f"step {step}: stage {stage} ({self.variant.lr_size * 2 ** stage}px), "
                     f"{'fading in' if alpha < 1 else 'stable'}")
        x, d, o = batch["input"], self.nets["d"], self.opt
        with self.precision.autocast():
            sr = self.nets["g"](x, stage, alpha).image
        size = sr.shape[-1]
        real_img = self.target(batch["hr"], size)
        rec = losses.l1(sr, real_img) if o["objective"] == "paired" else losses.cycle_l1(sr, x)
        if not o["adv_weight"]:  # reconstruction only (PSNR-oriented): no discriminator passes at all
            self.optimize("g", o["rec_weight"] * rec)
            return {"total": float(o["rec_weight"] * rec.detach()), "rec": float(rec.detach()),
                    "stage": float(stage), "alpha": float(alpha)}
        with self.precision.autocast():
            set_requires_grad(d, False)
            fake_score = d(sr, stage, alpha)
            set_requires_grad(d, True)
        adv = losses.hinge_g(fake_score)
        g_loss = o["adv_weight"] * adv + o["rec_weight"] * rec
        self.optimize("g", g_loss)

        with self.precision.autocast():
            real_score = d(real_img, stage, alpha)
            fake_score = d(sr.detach(), stage, alpha)
        d_loss = losses.hinge_d(real_score, fake_score)
        terms = {"total": g_loss, "adv": adv, "rec": rec, "d": d_loss}
        every = int(o["r1_every"] or 0)
        if every and step % every == 0:  # lazy R1: every `every` D steps, scaled by the interval
            r1 = losses.r1_penalty(lambda y: d(y, stage, alpha), real_img, float(o["r1_gamma"])) * every
            d_loss = d_loss + r1
            terms["r1"] = r1
        self.optimize("d", d_loss)
        out = {k: float(v.detach()) for k, v in terms.items()}
        out.update(stage=float(stage), alpha=float(alpha))
        return out

    @torch.no_grad()
    def predict(self, model: torch.nn.Module, lr_faces: list[np.ndarray]) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        """At the current stage: outputs smaller than the HR are bicubic-upsampled for the metrics."""
        stage, alpha = self.schedule(self.step)
        device = next(model.parameters()).device
        x = self.variant.to_input(lr_faces).to(device)
        image = self.variant.denormalize(model(x, stage, alpha).image.float())
        if image.shape[-1] != self.variant.hr_size:
            size = self.variant.hr_size
            image = F.interpolate(image, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
        return to_uint8(image), {}

    def card(self) -> dict[str, Any]:
        stage, alpha = self.schedule(self.step)
        return {**super().card(), "final_stage": {"stage": stage, "alpha": alpha},
                "growth_steps": [int(round(f * self.cfg.steps)) for f in self.opt["growth"]]}


@register
class SelFSRDegraderRecipe(Recipe):
    name = "selfsr-degrader"
    variants = ("selfsr-degrader",)
    description = "SelFSR stage 1: flow-field degrader, BCE adversarial vs real LR + 10 identity L1 + TV(flow)"
    defaults = {"batch": 32, "lr": 2e-4, "optimizer": "adam", "degradation": "bicubic8", "steps": 180_000,
                "scheduler": "linear_tail"}
    options = {"real_lr": None, "adv_weight": 1.0, "idt_weight": 10.0, "tv_weight": 1.0, "betas": [0.5, 0.999],
               "clean_size": 128, "hflip": True}
    degradations = ("bicubic8",)
    licence = ("non-commercial research use (inherits the terms of the clean faces (UTKFace/CelebA/LFW) and of the "
               "real low-quality faces)")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.real: torch.Tensor | None = None  # the real LR faces (uint8 NCHW), loaded by check_data()

    @classmethod
    def check(cls, cfg: Any) -> None:
        super().check(cfg)
        if not cls.resolve_options(cfg.options)["real_lr"]:
            raise ConfigError("selfsr-degrader needs real low-quality faces: -o real_lr=FOLDER")

    def sample_spec(self) -> SampleSpec:
        return SampleSpec(hr_size=int(self.opt["clean_size"]), lr_size=self.variant.lr_size, upsample_input=False,
                          degradation="bicubic8", hflip=bool(self.opt["hflip"]))

    def val_sizes(self) -> tuple[int, int]:
        return int(self.opt["clean_size"]), self.variant.lr_size

    def check_data(self) -> None:
        records, _ = resolve_train_source(self.opt["real_lr"])
        if len(records) < self.cfg.batch:
            raise DataError(f"{self.opt['real_lr']}: {len(records)} real LR faces, fewer than one batch "
                            f"({self.cfg.batch})")
        size = self.variant.lr_size
        faces = []
        for r in records:
            try:
                faces.append(fit_size(read_rgb(r.path), None, size)[0])
            except OSError:
                continue
        if len(faces) < self.cfg.batch:
            raise DataError(f"{self.opt['real_lr']}: only {len(faces)} readable real LR faces")
        self.real = torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).contiguous()
        self.facts["real_lr"] = {"folder": str(self.opt["real_lr"]), "faces": len(faces)}

    def real_batch(self, step: int) -> torch.Tensor:
        """A deterministic function of (seed, step), like the clean batches, so resume stays exact."""
        if self.real is None:
            raise RuntimeError("selfsr-degrader: check_data() loads the real LR faces before training")
        g = torch.Generator().manual_seed(self.cfg.seed * 7_919 + step)
        idx = torch.randint(len(self.real), (self.cfg.batch,), generator=g)
        flip = torch.rand(self.cfg.batch, generator=g) < (0.5 if self.opt["hflip"] else 0.0)
        faces = self.real[idx].clone()
        faces[flip] = faces[flip].flip(-1)
        return self.precision.tensor(self.variant.normalize(faces.float().div_(255.0)))

    def build_networks(self) -> dict[str, torch.nn.Module]:
        return {"g": self.build_variant(), "d": LRDiscriminator()}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = tuple(self.opt["betas"])
        return {k: make_optimizer(self.nets[k].parameters(), self.cfg.optimizer, self.cfg.lr, betas=betas)
                for k in ("g", "d")}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        clean, d, o = batch["lr"], self.nets["d"], self.opt
        real = self.real_batch(step)
        with self.precision.autocast():
            out = self.nets["g"](clean)
            set_requires_grad(d, False)
            fake_logits = d(out.noisy)
            set_requires_grad(d, True)
        adv = losses.bce_g(fake_logits)
        idt = losses.l1(out.intermediate, clean)
        tv = losses.tv_l1(out.flow)
        g_loss = o["adv_weight"] * adv + o["idt_weight"] * idt + o["tv_weight"] * tv
        self.optimize("g", g_loss)
        with self.precision.autocast():
            real_logits = d(real)
            fake_logits = d(out.noisy.detach())
        d_loss = losses.bce_d(real_logits, fake_logits)
        self.optimize("d", d_loss)
        terms = {"total": g_loss, "adv": adv, "identity": idt, "tv": tv, "d": d_loss}
        return {k: float(v.detach()) for k, v in terms.items()}

    def baseline(self, val: ValSet) -> dict[str, float]:
        return {}

    @torch.no_grad()
    def validate(self, model: torch.nn.Module, val: ValSet, batch: int = 64) -> dict[str, float]:
        """How far the degrader moves clean val LR: mean |x_n - x_c| (0-255), mean |flow| (LR px), |I_m - x_c|."""
        was = model.training
        model.eval()
        change, flow_mag, idt = [], [], []
        try:
            device = next(model.parameters()).device
            for i in range(0, len(val), batch):
                x = self.variant.to_input(val.lr[i:i + batch]).to(device)
                out = model(x)
                change.append((out.noisy.float() - x).abs().mean().item() * 127.5)
                flow_mag.append(out.flow.float().norm(dim=1).mean().item())
                idt.append((out.intermediate.float() - x).abs().mean().item() * 127.5)
        finally:
            model.train(was)
        return {"change_255": float(np.mean(change)), "flow_px": float(np.mean(flow_mag)),
                "intermediate_change_255": float(np.mean(idt)), "images": len(val)}
