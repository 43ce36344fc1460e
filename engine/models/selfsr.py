"""SelFSR (arXiv 2112.10683): self-conditioned progressive face SR trained on flow-field-degraded pseudo pairs.

Described in docs/models.md#selfsr. No SelFSR code is public and our copy of the paper has lost its figures,
equations and inline numbers, so the architecture here is a *reconstruction* from the paper's prose: every choice the
text leaves open is ours and is marked "reconstruction" below, with the docs/models.md section that describes it. What
the text does fix [P]:
a flow-field degradation network in LR space, progressive x2 growth up to x8, self-conditioned blocks whose
condition image (the LR face resized to the level) predicts a spatial gamma multiplying batch-normalised activations
(no beta), equalized learning rate in the SR generator and discriminator, hinge loss with R1.

Sizes (checked by the tests): SR generator ``selfsr`` 18,218,636 parameters (docs/models.md#selfsr-generator; the paper
reports 17.89 M), ``selfsr-lite`` 1,153,964, degrader 447,813, LR discriminator 1,249,921, HR discriminator 23,887,489.
All images are RGB in [-1, 1] (our choice, docs/models.md#conventions).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Mapping, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .registry import Variant, register

SQRT2 = math.sqrt(2.0)


def _lrelu(x: torch.Tensor, slope: float = 0.2) -> torch.Tensor:
    return F.leaky_relu(x, slope)


# ----- equalized learning rate (ProGAN) ---------------------------------------------------------------------------
class EqConv2d(nn.Module):
    """Conv2d with equalized learning rate: N(0,1) stored weights, scaled at run time by gain/sqrt(fan_in).

    Scaling at run time instead of at init makes Adam's per-parameter step the same relative size for every layer, which
    is what lets the paper train with lr 0.003 (docs/models.md#selfsr-reconstruction). `init_std` < 1 shrinks the stored
    init (used only for the gamma head, see SelfConditionedBlock); it does not change the run-time scale.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, gain: float = SQRT2, bias: bool = True,
                 bias_init: float = 0.0, init_std: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel) * init_std)
        self.bias = nn.Parameter(torch.full((c_out,), float(bias_init))) if bias else None
        self.scale = gain / math.sqrt(c_in * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        c_out, c_in, k, _ = self.weight.shape
        return f"{c_in}, {c_out}, kernel={k}, scale={self.scale:.4g}, bias={self.bias is not None}"


class EqLinear(nn.Module):
    """Linear layer with equalized learning rate (same rule as EqConv2d, fan_in = in_features)."""

    def __init__(self, c_in: int, c_out: int, gain: float = SQRT2, bias: bool = True, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in))
        self.bias = nn.Parameter(torch.full((c_out,), float(bias_init))) if bias else None
        self.scale = gain / math.sqrt(c_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        c_out, c_in = self.weight.shape
        return f"{c_in}, {c_out}, scale={self.scale:.4g}, bias={self.bias is not None}"


# ----- SR generator -------------------------------------------------------------------------------------------------
GAMMA_MODES = ("bias", "one_plus", "one_plus_tanh")


@dataclass(frozen=True)
class SelFSRConfig:
    """SR generator shape. Defaults give the x8 synthetic-setting model (16 -> 128) of 18,218,636 parameters.

    widths: feature channels per level, level k working at lr_size * 2**k; the real-world x4 model is the first three
    levels. gamma_mode: how gamma starts at 1 ("bias": last gamma bias initialised to 1; "one_plus": 1 + gamma;
    "one_plus_tanh": 1 + tanh(gamma), docs/models.md#selfsr-generator). gamma_init_std: std of the stored N(0,1)-style
    init of the gamma head's weights; small so gamma ~ 1 +- 0.05 at init and training starts as plain BatchNorm.
    """

    lr_size: int = 16
    widths: tuple[int, ...] = (512, 512, 256, 128)  # reconstruction (docs/models.md#selfsr-generator)
    gamma_hidden: int = 256  # reconstruction (docs/models.md#selfsr-generator): near the paper's 17.89 M
    blocks_per_level: int = 2  # reconstruction (docs/models.md#selfsr-generator): "balanced" [P] = same count per level
    gamma_mode: str = "bias"  # reconstruction (docs/models.md#selfsr-generator)
    gamma_init_std: float = 0.1  # reconstruction (docs/models.md#selfsr-generator): gamma ~ 1 at init
    slope: float = 0.2  # reconstruction (docs/models.md#selfsr-generator): LReLU 0.2, ProGAN's
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"gamma_mode": GAMMA_MODES}  # model-card check

    def __post_init__(self) -> None:
        if not self.widths or self.blocks_per_level < 1:
            raise ValueError("SelFSRConfig needs at least one level and one SCB per level")
        if self.gamma_mode not in GAMMA_MODES:
            raise ValueError(f"gamma_mode must be one of {GAMMA_MODES}, got {self.gamma_mode!r}")

    @property
    def final_stage(self) -> int:
        return len(self.widths) - 1

    def output_size(self, stage: int | None = None) -> int:
        return self.lr_size * 2 ** (self.final_stage if stage is None else stage)


class SelFSROutput(NamedTuple):
    image: torch.Tensor  # B x 3 x S x S, S = lr_size * 2**stage, linear output meant for [-1, 1]
    conditions: list[torch.Tensor]  # per active level: channel mean of its last SCB's gamma, B x 1 x r x r


class SelfConditionedBlock(nn.Module):
    """SCB: h -> LReLU(gamma(c) * BN(EqConv(h))), gamma a spatial map predicted from the condition image c.

    [P]: BatchNorm statistics (per channel over batch and space) and a multiplicative gamma with no beta.
    reconstruction (docs/models.md#selfsr-generator): parameter-free BN with running stats, a 2-conv gamma branch
    (3 -> hidden -> c_out, LReLU between), gamma started at 1 so the block begins as plain BN.
    """

    def __init__(self, c_in: int, c_out: int, cfg: SelFSRConfig):
        super().__init__()
        self.mode = cfg.gamma_mode
        self.slope = cfg.slope
        self.conv = EqConv2d(c_in, c_out, 3)
        self.norm = nn.BatchNorm2d(c_out, affine=False)  # batch stats in training, running stats in eval
        self.gamma_hidden = EqConv2d(3, cfg.gamma_hidden, 3)
        # reconstruction (docs/models.md#selfsr-generator): linear gamma head (gain 1), last bias 1 in "bias" mode,
        # small init.
        self.gamma_out = EqConv2d(cfg.gamma_hidden, c_out, 3, gain=1.0, bias_init=1.0 if self.mode == "bias" else 0.0,
                                  init_std=cfg.gamma_init_std)

    def gamma(self, condition: torch.Tensor) -> torch.Tensor:
        g = self.gamma_out(_lrelu(self.gamma_hidden(condition), self.slope))
        if self.mode == "one_plus":
            return 1.0 + g
        if self.mode == "one_plus_tanh":
            return 1.0 + torch.tanh(g)
        return g

    def forward(self, h: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gamma = self.gamma(condition)
        return _lrelu(self.norm(self.conv(h)) * gamma, self.slope), gamma


class SelFSRLevel(nn.Module):
    """One resolution level: (nearest x2 up from the second level on), SCBs, and its own 1x1 ToRGB."""

    def __init__(self, c_in: int, c_out: int, cfg: SelFSRConfig, upsample: bool):
        super().__init__()
        self.upsample = upsample
        self.blocks = nn.ModuleList(
            SelfConditionedBlock(c_in if i == 0 else c_out, c_out, cfg) for i in range(cfg.blocks_per_level)
        )
        self.to_rgb = EqConv2d(c_out, 3, 1, gain=1.0)  # linear output, gain 1 (docs/models.md#selfsr-generator)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and the last gamma map; the condition is the LR input x resized to this level (bicubic)."""
        if self.upsample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")  # reconstruction (docs/models.md#selfsr-generator)
        condition = condition_image(x, h.shape[-1])
        gammas = []
        for block in self.blocks:
            h, gamma = block(h, condition)
            gammas.append(gamma)
        return h, gammas[-1]


def condition_image(x: torch.Tensor, size: int) -> torch.Tensor:
    """The LR face bicubic-resized to a level's side (the input itself at the LR level) [P: resized LR per level]."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)


def up2(rgb: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 used by the fade-in (docs/models.md#selfsr-generator)."""
    return F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False)


class SelFSRGenerator(nn.Module):
    """Progressive SR generator: stem, then levels 16 -> 32 -> 64 -> 128, each with SCBs and a ToRGB.

    The stage and fade-in alpha are explicit forward arguments (docs/models.md#selfsr-generator), so the trainer owns
    the schedule and inference is a plain call: stage None = the last level. Stage k outputs lr_size * 2**k
    (1 -> 32, 2 -> 64, 3 -> 128); with alpha < 1 the output is alpha * ToRGB_k + (1 - alpha) * up2(ToRGB_{k-1}).
    """

    def __init__(self, cfg: SelFSRConfig = SelFSRConfig()):
        super().__init__()
        self.config = cfg
        w = cfg.widths
        self.stem = EqConv2d(3, w[0], 3)  # reconstruction (docs/models.md#selfsr-generator)
        self.levels = nn.ModuleList(
            SelFSRLevel(w[max(k - 1, 0)], w[k], cfg, upsample=k > 0) for k in range(len(w))
        )

    def forward(self, x: torch.Tensor, stage: int | None = None, alpha: float = 1.0) -> SelFSROutput:
        stage = self._check_stage(stage, alpha)
        h = _lrelu(self.stem(x), self.config.slope)
        feats: list[torch.Tensor] = []
        conditions: list[torch.Tensor] = []
        for level in self.levels[: stage + 1]:
            h, gamma = level(h, x)
            feats.append(h)
            conditions.append(gamma.mean(dim=1, keepdim=True))  # cheap by-product for the GUI's condition maps
        rgb = self.levels[stage].to_rgb(feats[-1])
        if stage > 0 and alpha < 1.0:
            rgb = alpha * rgb + (1.0 - alpha) * up2(self.levels[stage - 1].to_rgb(feats[-2]))
        return SelFSROutput(rgb, conditions)

    def _check_stage(self, stage: int | None, alpha: float) -> int:
        stage = self.config.final_stage if stage is None else int(stage)
        if not 0 <= stage <= self.config.final_stage:
            raise ValueError(f"stage must be in 0..{self.config.final_stage}, got {stage}")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        return stage


# ----- flow-field degradation network (LR space) -------------------------------------------------------------------
@dataclass(frozen=True)
class FlowDegraderConfig:
    """G_D, the flow-field degrader (reconstruction, docs/models.md#selfsr-degrader). noise_channel: append an N(0,1)
    map to the input (stochastic degradations; off by default, the paper only perturbs the flow). image_residual:
    "atanh" adds the image head's residual before the tanh in atanh(x) space so I_m == x_c exactly when the residual is
    0; "linear" is the literal tanh(x_c + r), which squashes bright and dark pixels at init.
    """

    width: int = 64  # reconstruction (docs/models.md#selfsr-degrader)
    blocks: int = 6  # reconstruction (docs/models.md#selfsr-degrader)
    noise_channel: bool = False  # reconstruction (docs/models.md#selfsr-degrader)
    image_residual: str = "atanh"  # reconstruction (docs/models.md#selfsr-degrader): identity at init
    slope: float = 0.2
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"image_residual": ("atanh", "linear")}  # model-card check


class DegraderOutput(NamedTuple):
    noisy: torch.Tensor  # x_n, B x 3 x H x W: I_m sampled at p + flow(p)
    flow: torch.Tensor  # B x 2 x H x W, (dx, dy) in LR pixels
    intermediate: torch.Tensor  # I_m, B x 3 x H x W


class PlainResBlock(nn.Module):
    """Conv3x3-LReLU-Conv3x3 plus identity, no normalisation (docs/models.md#selfsr-degrader)."""

    def __init__(self, width: int, slope: float):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, 1, 1)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(_lrelu(self.conv1(x), self.slope))


def flow_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample `image` at p + flow(p) (bilinear, border padding, align_corners=True; docs/models.md#selfsr-degrader).

    With align_corners=True pixel centres map to -1..1 exactly, so a zero flow reproduces the image bit for bit.
    """
    _, _, h, w = image.shape
    ys = torch.arange(h, dtype=image.dtype, device=image.device)
    xs = torch.arange(w, dtype=image.dtype, device=image.device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    px = gx + flow[:, 0]
    py = gy + flow[:, 1]
    nx = px / max((w - 1) / 2.0, 1e-6) - 1.0
    ny = py / max((h - 1) / 2.0, 1e-6) - 1.0
    grid = torch.stack([nx, ny], dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


class FlowDegrader(nn.Module):
    """Clean LR x_c -> (flow, intermediate I_m) -> x_n = warp(I_m, flow), the paper's flow-field degradation [P].

    Starts as the identity: both heads are zero-initialised and the image head is a residual on x_c, so the
    adversarial loss only has to learn the difference between clean and real-world LR.
    """

    def __init__(self, cfg: FlowDegraderConfig = FlowDegraderConfig()):
        super().__init__()
        if cfg.image_residual not in ("atanh", "linear"):
            raise ValueError(f"image_residual must be 'atanh' or 'linear', got {cfg.image_residual!r}")
        self.config = cfg
        c_in = 3 + int(cfg.noise_channel)
        self.head = nn.Conv2d(c_in, cfg.width, 3, 1, 1)
        self.trunk = nn.Sequential(*(PlainResBlock(cfg.width, cfg.slope) for _ in range(cfg.blocks)))
        self.flow_head = nn.Conv2d(cfg.width, 2, 3, 1, 1)
        self.image_head = nn.Conv2d(cfg.width, 3, 3, 1, 1)
        # Zero flow head: the warp starts as the identity. reconstruction (docs/models.md#selfsr-degrader): the image
        # head is zeroed too, so I_m == x_c at init (the default init moved pixels by up to ~0.5).
        for conv in (self.flow_head, self.image_head):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> DegraderOutput:
        inp = x
        if self.config.noise_channel:
            if noise is None:
                noise = torch.randn_like(x[:, :1])
            inp = torch.cat([x, noise], dim=1)
        feat = self.trunk(_lrelu(self.head(inp), self.config.slope))
        flow = self.flow_head(feat)
        intermediate = self._intermediate(x, self.image_head(feat))
        return DegraderOutput(flow_warp(intermediate, flow), flow, intermediate)

    def _intermediate(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        if self.config.image_residual == "linear":
            return torch.tanh(x + residual)
        x = x.clamp(-0.999, 0.999)
        # atanh written out: the TorchScript ONNX exporter has no symbolic for aten::atanh
        return torch.tanh(0.5 * torch.log((1 + x) / (1 - x)) + residual)


# ----- discriminators --------------------------------------------------------------------------------------------
class LRDiscriminator(nn.Module):
    """D_LR: spectrally normalised PatchGAN on 16x16 LR faces; B x 1 x 4 x 4 logits, 1,249,921 parameters.

    reconstruction (docs/models.md#selfsr-discriminators): layer list and spectral norm are ours; used with
    BCE-with-logits (non-saturating).
    """

    def __init__(self, width: int = 64, slope: float = 0.2):
        super().__init__()
        w = width
        convs = [nn.Conv2d(3, w, 3, 1, 1), nn.Conv2d(w, 2 * w, 4, 2, 1), nn.Conv2d(2 * w, 4 * w, 4, 2, 1),
                 nn.Conv2d(4 * w, 4 * w, 3, 1, 1), nn.Conv2d(4 * w, 1, 3, 1, 1)]
        layers: list[nn.Module] = []
        for i, conv in enumerate(convs):
            layers.append(spectral_norm(conv))
            if i < len(convs) - 1:
                layers.append(nn.LeakyReLU(slope))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append one channel: the feature std across a group of samples, averaged (ProGAN), to spot mode collapse.

    Uses the largest group size <= `group` that divides the batch, so any batch size works.
    """
    b, c, h, w = x.shape
    g = max(d for d in range(1, min(group, b) + 1) if b % d == 0)
    y = x.reshape(g, b // g, c, h, w)
    std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (b // g,)
    stat = std.repeat(g).reshape(b, 1, 1, 1).expand(b, 1, h, w)
    return torch.cat([x, stat.to(x.dtype)], dim=1)


class HRDownBlock(nn.Module):
    """Residual down block (StyleGAN2 style): two 3x3 EqConvs + 1x1 skip, 2x average-pool, sum scaled by 1/sqrt(2)."""

    def __init__(self, c_in: int, c_out: int, slope: float):
        super().__init__()
        self.conv0 = EqConv2d(c_in, c_in, 3)
        self.conv1 = EqConv2d(c_in, c_out, 3)
        self.skip = EqConv2d(c_in, c_out, 1, gain=1.0, bias=False)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = _lrelu(self.conv1(_lrelu(self.conv0(x), self.slope)), self.slope)
        main = F.avg_pool2d(main, 2)
        return (main + self.skip(F.avg_pool2d(x, 2))) / SQRT2


# Channels per resolution, reconstruction (docs/models.md#selfsr-discriminators).
HR_WIDTHS: Mapping[int, int] = {128: 128, 64: 256, 32: 512, 16: 512, 8: 512, 4: 512}


class HRDiscriminator(nn.Module):
    """D_HR: residual ProGAN-style critic with equalized LR, fromRGB per resolution and a generator-mirroring fade.

    reconstruction (docs/models.md#selfsr-discriminators): widths 128/256/512.. from 128 down to 4, minibatch stddev
    (group 4) at 4x4, Conv3x3, FC 8192 -> 512, FC 512 -> 1. Full resolution (128): 23,887,489 parameters.
    forward(img, stage, alpha) takes the same stage/alpha as the generator; stage None is inferred from the image size.
    Returns B x 1 scores for the hinge loss.
    """

    def __init__(self, hr_size: int = 128, lr_size: int = 16, width_div: int = 1, mbstd_group: int = 4,
                 slope: float = 0.2):
        super().__init__()
        self.hr_size, self.lr_size, self.slope, self.mbstd_group = hr_size, lr_size, slope, mbstd_group
        width = {r: max(HR_WIDTHS.get(r, 512) // width_div, 1) for r in _powers_down(hr_size, 4)}
        self.widths = width
        self.from_rgb = nn.ModuleDict(
            {str(r): EqConv2d(3, width[r], 1) for r in _powers_down(hr_size, lr_size)}
        )
        self.blocks = nn.ModuleDict(
            {str(r): HRDownBlock(width[r], width[r // 2], slope) for r in _powers_down(hr_size, 8)}
        )
        c = width[4]
        self.final_conv = EqConv2d(c + 1, c, 3)
        self.fc = EqLinear(c * 16, c)
        self.out = EqLinear(c, 1, gain=1.0)

    @property
    def final_stage(self) -> int:
        return int(math.log2(self.hr_size // self.lr_size))

    def forward(self, img: torch.Tensor, stage: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        res = img.shape[-1]
        if stage is not None and self.lr_size * 2 ** int(stage) != res:
            raise ValueError(f"stage {stage} expects {self.lr_size * 2 ** int(stage)}px images, got {res}px")
        if str(res) not in self.from_rgb:
            raise ValueError(f"image side must be one of {list(self.from_rgb)}, got {res}")
        h = self.blocks[str(res)](_lrelu(self.from_rgb[str(res)](img), self.slope))
        if res > self.lr_size and alpha < 1.0:  # mirror of the generator's fade-in
            skip = _lrelu(self.from_rgb[str(res // 2)](F.avg_pool2d(img, 2)), self.slope)
            h = alpha * h + (1.0 - alpha) * skip
        r = res // 2
        while r > 4:
            h = self.blocks[str(r)](h)
            r //= 2
        return self._head(h)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        h = _lrelu(self.final_conv(minibatch_stddev(h, self.mbstd_group)), self.slope)
        return self.out(_lrelu(self.fc(h.flatten(1)), self.slope))


def _powers_down(high: int, low: int) -> list[int]:
    """[high, high/2, ..., low] for powers of two."""
    out = []
    r = high
    while r >= low:
        out.append(r)
        r //= 2
    return out


# ----- registry ------------------------------------------------------------------------------------------------------
def _extract_generator(out: SelFSROutput) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    return out.image, {"condition": out.conditions[-1]}


def _extract_degrader(out: DegraderOutput) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    return out.noisy, {"flow": out.flow, "intermediate": out.intermediate}


_LICENCE = ("Architecture: our reconstruction of SelFSR (arXiv 2112.10683) from the paper text; no official code "
            "or weights exist. Bundled weights: non-commercial research use (data terms).")

LITE_CONFIG = SelFSRConfig(widths=(128, 128, 64, 32), gamma_hidden=64)

for _name, _cfg, _desc in (
    ("selfsr", SelFSRConfig(), "SelFSR x8 (16->128), self-conditioned progressive GAN (paper size, reconstruction)"),
    ("selfsr-lite", LITE_CONFIG, "SelFSR-lite x8 (16->128): reduced widths, trainable on a CPU (reconstruction)"),
):
    register(Variant(
        name=_name, family="selfsr", config=_cfg, builder=SelFSRGenerator, extract=_extract_generator,
        lr_size=16, hr_size=128, upsample_input=False, value_range=(-1.0, 1.0), crop="coarse128",
        task="restore", description=_desc, licence=_LICENCE, forward_kwargs={},
    ))

register(Variant(
    name="selfsr-degrader", family="selfsr", config=FlowDegraderConfig(), builder=FlowDegrader,
    extract=_extract_degrader, lr_size=16, hr_size=16, upsample_input=False, value_range=(-1.0, 1.0),
    crop="coarse128", task="degrade",
    description="SelFSR flow-field degradation network: clean 16x16 LR -> realistic LR (reconstruction)",
    licence=_LICENCE,
))
