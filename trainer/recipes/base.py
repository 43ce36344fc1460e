"""The recipe interface: everything family-specific about training, behind one small class.

The loop (trainer.loop) owns the run folder, data loading, precision, EMA, schedulers, checkpoints, validation
timing, events and export; a recipe says what data it needs (a SampleSpec), which networks and optimisers exist, what
one optimisation step does, and how to validate. Adding a family is adding a recipe module, not an if-chain.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from engine import zoo
from engine.degrade import NAMES as DEGRADATION_NAMES
from engine.degrade import learned_uint8, pil_resize
from engine.metrics import psnr_y, ssim_y
from engine.models.registry import Variant, to_uint8

from ..config import ConfigError, TrainConfig
from ..data import SampleSpec, ValSet
from ..perceptual import PerceptualLoss
from ..perceptual import build as build_perceptual_loss
from ..precision import Precision


def mean_psnr_ssim(outputs: Sequence[np.ndarray], hr: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean PSNR-Y / SSIM-Y of image pairs (the baselines' numbers)."""
    return {"psnr_y": float(np.mean([psnr_y(o, h) for o, h in zip(outputs, hr)])),
            "ssim_y": float(np.mean([ssim_y(o, h) for o, h in zip(outputs, hr)]))}


class Recipe:
    name: ClassVar[str] = ""
    variants: ClassVar[tuple[str, ...]] = ()  # variant names trained by this recipe
    description: ClassVar[str] = ""
    # TrainConfig fields the recipe fills when neither the config file nor the command line set them.
    defaults: ClassVar[dict[str, Any]] = {}
    # Recipe options (config `options:`), with their defaults; unknown options are an error.
    options: ClassVar[dict[str, Any]] = {}
    degradations: ClassVar[tuple[str, ...]] = DEGRADATION_NAMES  # every one engine.degrade knows
    licence: ClassVar[str] = "non-commercial research use (inherits UTKFace/CelebA/LFW terms)"

    def __init__(self, cfg: TrainConfig, variant: Variant, precision: Precision, log: Callable[[str], None]):
        self.cfg = cfg
        self.variant = variant
        self.precision = precision
        self.log = log
        self.opt = self.resolve_options(cfg.options)
        # Set once by attach(): the networks (as the loop prepared them), their optimisers, and the perceptual loss
        # (a frozen feature network, for the recipes that use one).
        self.nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.perceptual: PerceptualLoss | None = None
        self.facts: dict[str, Any] = {}  # recorded in the model card (e.g. which perceptual network was used)
        self._degrader: nn.Module | None = None
        self.step = 0  # kept current by the loop (schedules that depend on the step, e.g. SelFSR's growth)

    # ----- configuration ------------------------------------------------------------------------------------------
    @classmethod
    def all_options(cls) -> dict[str, Any]:
        """The recipe's options plus `degrader` (weights of the SelFSR degrader) where 'learned' is allowed."""
        common = {"degrader": None} if "learned" in cls.degradations else {}
        return {**common, **cls.options}

    @classmethod
    def resolve_options(cls, given: dict[str, Any]) -> dict[str, Any]:
        options = cls.all_options()
        unknown = sorted(set(given) - set(options))
        if unknown:
            known = ", ".join(sorted(options)) or "none"
            raise ConfigError(f"recipe {cls.name!r}: unknown option(s) {', '.join(unknown)}; known: {known}")
        return {**options, **{k: _coerce_option(cls.name, k, options[k], v) for k, v in given.items()}}

    @classmethod
    def check(cls, cfg: TrainConfig) -> None:
        if cfg.degradation not in cls.degradations:
            raise ConfigError(f"model {cfg.model!r} trains with degradation {', '.join(cls.degradations)}; "
                              f"got {cfg.degradation!r}")
        cls.resolve_options(cfg.options)

    # ----- data ------------------------------------------------------------------------------------------------
    def sample_spec(self) -> SampleSpec:
        v = self.variant
        return SampleSpec(hr_size=v.hr_size, lr_size=v.lr_size, upsample_input=v.upsample_input,
                          degradation=self.cfg.degradation or "bicubic8")

    def val_sizes(self) -> tuple[int, int]:
        """(HR side, LR side) of validation faces."""
        return self.variant.hr_size, self.variant.lr_size

    def check_data(self) -> None:
        """Extra data checks/loading before training (e.g. the degrader's real LR faces)."""

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """uint8 images -> float in the network's value range on the device; other tensors just moved."""
        if self.cfg.degradation == "learned":
            batch = self.apply_learned(batch)
        out = {}
        for key, value in batch.items():
            if value.dtype == torch.uint8:
                value = self.variant.normalize(value.float().div_(255.0))
            out[key] = self.precision.tensor(value)
        return out

    def degrader(self) -> nn.Module:
        if self._degrader is None:
            path = self.opt.get("degrader")
            self._degrader = zoo.load("selfsr-degrader", weights=path, device="cpu")
            self.facts["degrader"] = getattr(self._degrader, "weights_path", str(path))
        return self._degrader

    def apply_learned(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Replace the clean bicubic LR by the SelFSR degrader's output (and rebuild the network input from it)."""
        lr = learned_uint8(batch["lr"].permute(0, 2, 3, 1).numpy(), self.degrader())
        size = self.variant.hr_size
        net_in = np.stack([pil_resize(x, size) for x in lr]) if self.variant.upsample_input else lr
        return {**batch, "lr": torch.from_numpy(lr).permute(0, 3, 1, 2).contiguous(),
                "input": torch.from_numpy(np.ascontiguousarray(net_in)).permute(0, 3, 1, 2).contiguous()}

    # ----- networks and optimisation -------------------------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        """The networks by checkpoint name; 'g' is the one exported (and EMA-averaged)."""
        return {"g": self.build_variant()}

    def build_variant(self) -> nn.Module:
        """The variant's network with the configured `arch` overrides (checked against its config fields)."""
        return build_variant(self.variant, self.cfg.arch)

    def attach(self, nets: dict[str, nn.Module]) -> None:
        """Called once by the loop, before training or resuming, with build_networks()'s networks as it prepared
        them (device and memory format, --init weights, DDP wrapper): keeps them and builds, in this order, the
        perceptual loss and the optimisers over them."""
        self.nets = nets
        self.perceptual = self.build_perceptual()
        self.optimizers = self.build_optimizers()

    def build_perceptual(self) -> PerceptualLoss | None:
        """The frozen perceptual loss the recipe's generator loss uses (see `perceptual_loss`), or None."""
        return None

    def perceptual_loss(self, kind: str, fsrnet_weights: str | Path | None) -> PerceptualLoss:
        """trainer.perceptual's loss for `kind` (option `vgg_weights`, else its fallbacks) on this device and
        precision; the card records which one it is."""
        loss = self.precision.prepare(build_perceptual_loss(kind, self.variant.value_range, self.opt["vgg_weights"],
                                                            fsrnet_weights, self.log))
        self.facts["perceptual"] = loss.describe
        return loss

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": make_optimizer(self.nets["g"].parameters(), self.cfg.optimizer or "adam", self.cfg.lr)}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        raise NotImplementedError

    def optimize(self, name: str, loss: torch.Tensor) -> None:
        """zero_grad, (scaled) backward and step of one optimiser."""
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        self.precision.backward(loss)
        self.precision.step(opt)

    def forward_g(self, x: torch.Tensor) -> Any:
        with self.precision.autocast():
            return self.nets["g"](x)

    def set_train(self) -> None:
        for net in self.nets.values():
            net.train()

    def unwrap(self, name: str = "g") -> nn.Module:
        net = self.nets[name]
        return net.module if hasattr(net, "module") else net

    # ----- validation -----------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, model: nn.Module, lr_faces: list[np.ndarray]) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        """uint8 LR faces -> uint8 restored faces and the by-product maps, through the Variant like inference."""
        device = next(model.parameters()).device
        image, maps = self.variant.run(model, self.variant.to_input(lr_faces).to(device))
        return to_uint8(image), maps

    def baseline(self, val: ValSet) -> dict[str, float]:
        """PIL-bicubic upsampling of the same LR inputs (the papers' 'Bicubic' column)."""
        ups = [pil_resize(lr, self.variant.hr_size) if lr.shape[0] != self.variant.hr_size else lr for lr in val.lr]
        return mean_psnr_ssim(ups, val.hr)

    def validate(self, model: nn.Module, val: ValSet, batch: int = 16) -> dict[str, float]:
        was_training = model.training
        model.eval()
        psnrs, ssims, errors = [], [], []
        try:
            for i in range(0, len(val), batch):
                out, maps = self.predict(model, val.lr[i:i + batch])
                for j, sr in enumerate(out):
                    psnrs.append(psnr_y(sr, val.hr[i + j]))
                    ssims.append(ssim_y(sr, val.hr[i + j]))
                errors += self.landmark_errors(maps, val.landmarks[i:i + batch])
        finally:
            model.train(was_training)
        result = {"psnr_y": float(np.mean(psnrs)), "ssim_y": float(np.mean(ssims)), "images": len(psnrs)}
        if errors:
            result["nrmse"] = float(np.mean(errors))
        return result

    def landmark_errors(self, maps: dict[str, torch.Tensor], marks: list[np.ndarray | None]) -> list[float]:
        """Per-face NRMSE of the prior branch's landmarks (recipes with landmark priors override)."""
        return []

    # ----- bookkeeping -------------------------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def card(self) -> dict[str, Any]:
        return {"recipe": self.name, "options": {k: (str(v) if isinstance(v, Path) else v)
                                                for k, v in self.opt.items()}, **self.facts}


def build_variant(variant: Variant, arch: dict[str, Any]) -> nn.Module:
    import dataclasses

    fields = {f.name for f in dataclasses.fields(variant.config)} if dataclasses.is_dataclass(variant.config) else set()
    unknown = sorted(set(arch) - fields)
    if unknown:
        raise ConfigError(f"{variant.name}: unknown arch key(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(fields))}")
    return variant.build(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in arch.items()})


def make_optimizer(params: Any, kind: str, lr: float | None, **kw: Any) -> torch.optim.Optimizer:
    """RMSprop (FSRNet: Torch7 defaults alpha 0.99, eps 1e-8) or Adam (betas via `kw`)."""
    if lr is None:
        raise ConfigError("no learning rate configured")
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=kw.get("alpha", 0.99), eps=kw.get("eps", 1e-8))
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(kw.get("betas", (0.9, 0.999))), eps=kw.get("eps", 1e-8))
    raise ConfigError(f"unknown optimizer {kind!r} (rmsprop, adam)")


def lr_lambda(kind: str, total: int) -> Callable[[int], float]:
    """Multiplier of the base lr at step t for the configured schedule."""
    total = max(1, total)
    if kind == "constant":
        return lambda t: 1.0
    if kind == "poly":
        return lambda t: max(0.0, 1.0 - t / total) ** 0.3
    if kind == "cosine":
        return lambda t: 0.5 * (1.0 + math.cos(math.pi * min(t, total) / total))
    if kind == "linear_tail":
        half = total / 2
        return lambda t: 1.0 if t < half else max(0.0, (total - t) / half)
    raise ConfigError(f"unknown scheduler {kind!r}")


def _coerce_option(recipe: str, key: str, default: Any, value: Any) -> Any:
    """Numbers for numeric options: YAML reads `-o adv_weight=4e-4` as the string '4e-4' (1.1 floats need a dot)."""
    if isinstance(default, bool) or not isinstance(default, (int, float)) or isinstance(value, bool):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"recipe {recipe!r}: option {key} must be a number, got {value!r}") from None
    if isinstance(default, int) and number.is_integer():
        return int(number)
    return number


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)
