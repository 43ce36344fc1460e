"""SPARNet and SPARNetHD (Chen et al., IEEE TIP 2021): face SR with Face Attention Units (FAU).

Described in docs/models.md#sparnet-and-sparnethd. The SPARNet paper body is not in our sources, so the *released*
builder (official code, [C]) is the ground truth: module names, widths and hourglass depths follow it exactly so that
the released checkpoints load strictly (state_dict layout in docs/models.md#sparnet-checkpoints). Parameter counts:
sparnet 10,518,867, sparnet-light3d 5,242,211, sparnethd 85,793,412, sparnethd-3d 90,093,793.

Deviations that do not change any state_dict key: the HD generator is built with plain convolutions (official files
carry legacy spectral norm; :func:`engine.zoo.fold_spectral_norm` folds them, bit-exact in eval mode), and
:meth:`SPARNet.forward` returns the image *and* the attention map of the last decoder FAU (see :class:`SPARNetOutput`).
Call :func:`add_legacy_spectral_norm` to train with spectral norm as the official HD recipe does.

Input and output are RGB in [-1, 1]; the output is linear (no tanh). The x8 models take the 16x16 LR face
PIL-bicubic-upsampled to 128x128; SPARNetHD takes a degraded FFHQ-aligned 512x512 face.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Variant, register

NORMS = ("bn", "in", "none")
ATTENTIONS = ("spar", "spar3d")  # 2-D spatial attention (1 channel) / 3-D attention (one map per channel)
HOURGLASS_WIDTH = 64  # c_mid of every attention hourglass (official constant)
LRELU_SLOPE = 0.2


def _exact_log2(ratio: float, what: str) -> int:
    """log2 of a ratio that must be a positive power of two (a builder step count)."""
    steps = round(math.log2(ratio)) if ratio > 0 else -1
    if steps < 0 or 2 ** steps != ratio:
        raise ValueError(f"SPARNetConfig: {what} must be a power-of-two ratio >= 1, got {ratio}")
    return steps


@dataclass(frozen=True)
class SPARNetConfig:
    """Arguments of the official builder (docs/models.md#sparnet-builder); defaults: released SPARNet S16_V4_Attn2D."""

    min_ch: int = 32
    max_ch: int = 128
    in_size: int = 128
    out_size: int = 128
    min_feat_size: int = 16
    res_depth: int = 10
    norm: str = "bn"  # "bn" | "in" | "none"
    att: str = "spar"  # "spar" (2-D) | "spar3d" (3-D)
    bottleneck_size: int = 4  # side of the attention hourglass bottleneck for a 128 input
    # Not in the official nets: output = input + gain * net(input), gain a learnt scalar starting at 0 (residual
    # learning with a ReZero gain), so a same-size restorer starts as the identity of its cubic-upsampled input;
    # only the CPU-trained variants use it. skip_gain_init 1 (the blind variants) also zeroes the last conv: the
    # residual is on from the first step (a gain starting at 0 barely moves under Adam), and the net still starts as
    # the identity. Not with spectral norm in training (the norm of a zero weight is NaN): sparnethd-lite keeps 0.
    input_skip: bool = False
    skip_gain_init: float = 0.0
    # Not in the official nets either: U-Net skips. The official decoder sees the face only through the min_feat_size
    # bottleneck, so it cannot tell noise, JPEG blocks or blur at the pixel level from detail; that is all there is
    # to restore on a large, mildly degraded face. With `unet_skips`, each decoder FAU's output gets a small conv
    # stack (conv-LReLU-conv-LReLU-conv, last conv zeroed) of the encoder feature at the same resolution (the stem's
    # at full size), so a new variant starts as exactly the net it was initialised from.
    unet_skips: bool = False
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"norm": NORMS, "att": ATTENTIONS}  # model-card check

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"SPARNetConfig.norm must be one of {NORMS}, got {self.norm!r}")
        if self.att not in ATTENTIONS:
            raise ValueError(f"SPARNetConfig.att must be one of {ATTENTIONS}, got {self.att!r}")
        if not 0 < self.min_ch <= self.max_ch:
            raise ValueError(f"SPARNetConfig: need 0 < min_ch <= max_ch, got {self.min_ch}, {self.max_ch}")
        if self.up_steps < 1:
            raise ValueError("SPARNetConfig: out_size must exceed min_feat_size (the decoder needs one FAU)")
        if self.res_blocks < 0:
            raise ValueError(f"SPARNetConfig: res_depth {self.res_depth} gives a negative number of middle FAUs")
        if self.encoder_hg_depth(self.down_steps - 1) < 0 or self.middle_hg_depth < 0:
            raise ValueError("SPARNetConfig: bottleneck_size too large for the number of down-sampling steps")
        if self.input_skip and self.in_size != self.out_size:
            raise ValueError("SPARNetConfig: input_skip needs in_size == out_size")
        if self.unet_skips and self.in_size != self.out_size:
            raise ValueError("SPARNetConfig: unet_skips needs in_size == out_size")

    # ----- the builder arithmetic (docs/models.md#sparnet-builder) ------------------------------------------------
    def clip(self, channels: int) -> int:
        return max(self.min_ch, min(channels, self.max_ch))

    @property
    def down_steps(self) -> int:
        return _exact_log2(self.in_size / self.min_feat_size, "in_size / min_feat_size")

    @property
    def up_steps(self) -> int:
        return _exact_log2(self.out_size / self.min_feat_size, "out_size / min_feat_size")

    @property
    def base_channels(self) -> int:
        """n0 = clip(max_ch // (down + 1)); 512 // 5 = 102 gives SPARNetHD its odd widths 102/204/408."""
        return self.clip(self.max_ch // (self.down_steps + 1))

    @property
    def res_blocks(self) -> int:
        return self.res_depth + 3 - self.down_steps

    @property
    def _top_hg_depth(self) -> int:
        return int(math.log2(HOURGLASS_WIDTH / self.bottleneck_size))

    def encoder_hg_depth(self, i: int) -> int:
        return self._top_hg_depth - i

    @property
    def middle_hg_depth(self) -> int:
        return self._top_hg_depth - self.down_steps + 1

    def decoder_hg_depth(self, k: int) -> int:
        return self.middle_hg_depth + 1 + k


# ----- primitives -------------------------------------------------------------------------------------------------
class NormLayer(nn.Module):
    """Holds the real norm in `.norm`, which is why official keys read `conv1.norm.norm.weight`."""

    def __init__(self, channels: int, kind: str):
        super().__init__()
        if kind == "bn":
            self.norm: nn.Module = nn.BatchNorm2d(channels)
        elif kind == "in":
            self.norm = nn.InstanceNorm2d(channels, affine=True)  # no running stats: none in the checkpoints
        elif kind == "none":
            self.norm = nn.Identity()
        else:
            raise ValueError(f"unknown norm {kind!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


def _activation(act: bool) -> nn.Module:
    # Never in-place: after an Identity norm the activation would overwrite the block input.
    return nn.LeakyReLU(LRELU_SLOPE) if act else nn.Identity()


class ConvLayer(nn.Module):
    """[nearest x2 up] -> reflection pad -> conv (stride 2 for 'down') -> norm -> [LReLU 0.2].

    The conv has a bias only without a norm, as in the official layer (the checkpoints depend on it).
    """

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, scale: str = "none", norm: str = "none",
                 act: bool = False, pad: bool = True):
        super().__init__()
        if scale not in ("none", "up", "down"):
            raise ValueError(f"unknown scale {scale!r}")
        self.upsample = scale == "up"
        self.pad = nn.ReflectionPad2d(kernel // 2) if pad else nn.Identity()
        self.conv2d = nn.Conv2d(c_in, c_out, kernel, 2 if scale == "down" else 1, bias=norm == "none")
        self.norm = NormLayer(c_out, norm)
        self.relu = _activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.relu(self.norm(self.conv2d(self.pad(x))))


class HourGlassBlock(nn.Module):
    """Attention hourglass: strided-conv down, nearest up, skip at every level; ends in a sigmoid map.

    Sub-modules b1_l/b2_l (l = depth..1), b2_plus_1, b3_l (l = 1..depth), out_block, registered in the official
    order. Depth 0 (never used by released models) passes the input through with an all-ones map.
    """

    def __init__(self, depth: int, c_in: int, c_att: int, c_mid: int = HOURGLASS_WIDTH, norm: str = "bn"):
        super().__init__()
        if depth < 0:
            raise ValueError(f"hourglass depth must be >= 0, got {depth}")
        self.depth = depth
        if depth == 0:
            return
        self._add_level(depth, c_in, c_mid, norm)
        self.out_block = nn.Sequential(ConvLayer(c_mid, c_att), nn.Sigmoid())

    def _add_level(self, level: int, c_in: int, c_mid: int, norm: str) -> None:
        c1 = c_in if level == self.depth else c_mid
        self.add_module(f"b1_{level}", ConvLayer(c1, c_mid, norm=norm, act=True))
        self.add_module(f"b2_{level}", ConvLayer(c1, c_mid, scale="down", norm=norm, act=True))
        if level > 1:
            self._add_level(level - 1, c_in, c_mid, norm)
        else:
            self.add_module("b2_plus_1", ConvLayer(c_mid, c_mid, norm=norm, act=True))
        self.add_module(f"b3_{level}", ConvLayer(c_mid, c_mid, scale="up", norm=norm, act=True))

    def _level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        up = getattr(self, f"b1_{level}")(x)
        low = getattr(self, f"b2_{level}")(x)
        low = self._level(level - 1, low) if level > 1 else self.b2_plus_1(low)
        up2 = getattr(self, f"b3_{level}")(low)
        if up2.shape[2:] != up.shape[2:]:  # odd sizes: stride-2 then x2 does not return to the same side
            up2 = F.interpolate(up2, size=up.shape[2:], mode="nearest")
        return up + up2

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The sigmoid map A (B x c_att x H x W) that gates `x`."""
        if self.depth == 0:
            return torch.ones_like(x[:, :1])
        return self.out_block(self._level(self.depth, x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)


class ResidualBlock(nn.Module):
    """Face Attention Unit: out = shortcut(x) + r * A(r), r = conv2(conv1(preact(x))); A from r itself.

    'down' puts the stride-2 in conv2, 'up' the nearest x2 in conv1; the shortcut is a biased 3x3 ConvLayer with the
    same scale unless the block keeps both size and width (then identity, no keys).
    """

    def __init__(self, c_in: int, c_out: int, scale: str, hg_depth: int, att: str, norm: str):
        super().__init__()
        same = scale == "none" and c_in == c_out
        self.shortcut_func: nn.Module = nn.Identity() if same else ConvLayer(c_in, c_out, scale=scale)
        self.preact_func = nn.Sequential(NormLayer(c_in, norm), _activation(True))
        scale1, scale2 = {"down": ("none", "down"), "up": ("up", "none"), "none": ("none", "none")}[scale]
        self.conv1 = ConvLayer(c_in, c_out, scale=scale1, norm=norm, act=True)
        self.conv2 = ConvLayer(c_out, c_out, scale=scale2, norm=norm, act=False)
        c_att = 1 if att == "spar" else c_out
        self.att_func = HourGlassBlock(hg_depth, c_out, c_att, norm=norm)

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The block output and its attention map A (B x c_att x H x W), for visualisation."""
        r = self.conv2(self.conv1(self.preact_func(x)))
        a = self.att_func.attention(r)
        return self.shortcut_func(x) + r * a, a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_attention(x)[0]


FaceAttentionUnit = ResidualBlock  # the paper's name; the official class name is kept for readers of their code


class SkipBranch(nn.Module):
    """conv-LReLU-conv-LReLU-conv from an encoder feature to the decoder at the same resolution (unet_skips); the
    last conv starts at zero, so adding the branch leaves the net's output unchanged until training moves it."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(ConvLayer(channels, channels, act=True), ConvLayer(channels, channels, act=True),
                                  ConvLayer(channels, channels))

    def zero_last_(self) -> None:
        with torch.no_grad():
            self.body[-1].conv2d.weight.zero_()
            self.body[-1].conv2d.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


# ----- generator --------------------------------------------------------------------------------------------------
class SPARNetOutput(NamedTuple):
    image: torch.Tensor  # B x 3 x out x out, [-1, 1] (linear, unclipped)
    # B x 1 x out x out in [0, 1]: channel mean of the last decoder FAU's sigmoid attention (the map itself for 2-D).
    # Produced as a by-product of the forward; costs one mean over the last block's attention tensor.
    attention: torch.Tensor


class SPARNet(nn.Module):
    """encoder (conv + `down` FAUs) -> res_layers (middle FAUs) -> decoder (`up` FAUs) -> out_conv."""

    def __init__(self, cfg: SPARNetConfig = SPARNetConfig()):
        super().__init__()
        self.config = cfg
        n0, down, up = cfg.base_channels, cfg.down_steps, cfg.up_steps

        def fau(c_in: int, c_out: int, scale: str, depth: int) -> ResidualBlock:
            return ResidualBlock(c_in, c_out, scale, depth, cfg.att, cfg.norm)

        self.encoder = nn.Sequential(
            ConvLayer(3, n0),
            *(fau(cfg.clip(n0 * 2 ** i), cfg.clip(n0 * 2 ** (i + 1)), "down", cfg.encoder_hg_depth(i))
              for i in range(down)),
        )
        mid = cfg.clip(n0 * 2 ** down)
        self.res_layers = nn.Sequential(*(fau(mid, mid, "none", cfg.middle_hg_depth) for _ in range(cfg.res_blocks)))
        self.decoder = nn.Sequential(
            *(fau(cfg.clip(n0 * 2 ** (up - k)), cfg.clip(n0 * 2 ** (up - k - 1)), "up", cfg.decoder_hg_depth(k))
              for k in range(up)),
        )
        self.out_conv = ConvLayer(cfg.clip(n0), 3)
        if cfg.unet_skips:  # decoder block k meets the encoder feature of its resolution (the stem's for the last)
            self.skips = nn.ModuleList(SkipBranch(cfg.clip(n0 * 2 ** (up - k - 1))) for k in range(up))
        init_official_(self)
        if cfg.input_skip:  # ReZero gain: starts as the identity, and survives the spectral norm of training
            self.skip_gain = nn.Parameter(torch.zeros(1))
            self.start_as_identity_()

    def start_as_identity_(self) -> None:
        """With skip_gain_init != 0: gain = skip_gain_init and a zero last conv, so output == input at step 0."""
        if self.config.unet_skips and hasattr(self, "skips"):
            for branch in self.skips:
                branch.zero_last_()
        if self.config.input_skip and self.config.skip_gain_init and hasattr(self, "skip_gain"):
            with torch.no_grad():
                self.skip_gain.fill_(float(self.config.skip_gain_init))
                self.out_conv.conv2d.weight.zero_()
                if self.out_conv.conv2d.bias is not None:
                    self.out_conv.conv2d.bias.zero_()

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Bottleneck features, and with unet_skips the encoder features by resolution, full size first."""
        if not self.config.unet_skips:
            return self.encoder(x), []
        feats = []
        for layer in self.encoder:
            x = layer(x)
            feats.append(x)
        return feats[-1], feats[:-1]

    def forward(self, x: torch.Tensor) -> SPARNetOutput:
        """(image, attention); training code uses `.image` (the official net returns the image alone)."""
        feat, skips = self._encode(x)
        feat = self.res_layers(feat)
        last = len(self.decoder) - 1
        for k, block in enumerate(self.decoder):
            if k < last:
                feat = block(feat)
            else:
                feat, att = block.forward_with_attention(feat)
            if skips:
                feat = feat + self.skips[k](skips[last - k])
        image = self.out_conv(feat)
        if self.config.input_skip:
            image = x + self.skip_gain * image
        return SPARNetOutput(image, att.mean(1, keepdim=True))


def init_official_(model: nn.Module) -> nn.Module:
    """The official initialisation (docs/models.md#sparnet-training): conv N(0, 0.02), biases 0, BN gamma N(1, 0.02);
    IN stays 1/0."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
        for m in model.modules():
            if isinstance(m, SPARNet):
                m.start_as_identity_()
    return model


def add_legacy_spectral_norm(model: nn.Module) -> nn.Module:
    """Wrap every Conv2d in the legacy `torch.nn.utils.spectral_norm` (1 power iteration, dim 0), in place.

    This is what the official HD generator and discriminator train with; its state_dict keys (weight_orig, weight_u,
    weight_v) are those of the released HD files. The newer parametrizations API would name them differently.
    """
    for m in list(model.modules()):
        if isinstance(m, nn.Conv2d):
            nn.utils.spectral_norm(m)
    return model


# ----- SPARNetHD discriminator --------------------------------------------------------------------------------------
class NLayerDiscriminator(nn.Module):
    """PatchGAN: 3x3 conv + LReLU, `depth` stride-2 ConvLayers with norm, then an unpadded 3x3 score conv.

    With the HD settings (depth 4, IN, 64..512) a 512 input gives a 30x30 score map; 3,916,801 parameters.
    """

    def __init__(self, in_ch: int = 3, base_ch: int = 64, max_ch: int = 512, depth: int = 4, norm: str = "in"):
        super().__init__()
        layers = [ConvLayer(in_ch, base_ch, act=True)]
        c_out = base_ch
        for i in range(depth):
            c_in, c_out = min(base_ch * 2 ** i, max_ch), min(base_ch * 2 ** (i + 1), max_ch)
            layers.append(ConvLayer(c_in, c_out, scale="down", norm=norm, act=True))
        self.model = nn.Sequential(*layers)
        self.score_out = ConvLayer(c_out, 1, pad=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(score map, outputs of the depth + 1 feature layers) - the features feed the feature-matching loss."""
        feats = []
        for layer in self.model:
            x = layer(x)
            feats.append(x)
        return self.score_out(x), feats


class MultiScaleDiscriminator(nn.Module):
    """The SPARNetHD discriminator: `num_d` NLayerDs on the image and its bicubic halvings (512, 256, 128).

    11,750,403 parameters with the defaults. Pass spectral=True for the official training set-up (legacy spectral
    norm on every conv), or call :func:`add_legacy_spectral_norm` later.
    """

    def __init__(self, in_ch: int = 3, base_ch: int = 64, max_ch: int = 512, n_layers: int = 4, norm: str = "in",
                 num_d: int = 3, spectral: bool = False):
        super().__init__()
        self.D_pool = nn.ModuleList(NLayerDiscriminator(in_ch, base_ch, max_ch, n_layers, norm) for _ in range(num_d))
        init_official_(self)
        if spectral:
            add_legacy_spectral_norm(self)

    def forward(self, x: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        """Per scale, full resolution first: (score map, list of feature maps)."""
        results = []
        for i, netd in enumerate(self.D_pool):
            if i:  # bicubic, align_corners False, no antialias (official)
                x = F.interpolate(x, scale_factor=0.5, mode="bicubic", align_corners=False)
            results.append(netd(x))
        return results


# ----- variants -------------------------------------------------------------------------------------------------
def _extract(out: SPARNetOutput) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Image plus the last decoder FAU's mean attention ("attention", B x 1 x H x W in [0, 1]) for the heat map."""
    return out.image, {"attention": out.attention}


_LICENCE = ("Architecture and official weights: SPARNet/SPARNetHD (Chen et al., IEEE TIP 2021, "
            "chaofengc/Face-SPARNet), CC BY-NC-SA 4.0: non-commercial use, share alike, with attribution.")

_X8 = dict(lr_size=16, hr_size=128, upsample_input=True, value_range=(-1.0, 1.0), crop="coarse128")
_HD = dict(lr_size=512, hr_size=512, upsample_input=False, value_range=(-1.0, 1.0), crop="ffhq512")
# Blind same-size restorers (not official): the face crop at its real size in the photo, cubic-upsampled to the
# protocol size, is restored in place; output = input + net (see SPARNetConfig.input_skip).
_BLIND128 = dict(lr_size=128, hr_size=128, upsample_input=False, value_range=(-1.0, 1.0), crop="coarse128")
# The HD blind restorer trains on 128 px patches of its 256 crop, so it is indifferent to the crop's size: a face larger
# than 256 px runs at its own resolution (up to 512; sides a multiple of 256 / min_feat_size = 8).
_BLIND256 = dict(lr_size=256, hr_size=256, upsample_input=False, value_range=(-1.0, 1.0), crop="ffhq256",
                 native_max=512, native_multiple=8)
_BLIND_U = SPARNetConfig(res_depth=1, att="spar3d", input_skip=True, skip_gain_init=1.0, unet_skips=True)
_HD_CONFIG = SPARNetConfig(min_ch=32, max_ch=512, in_size=512, out_size=512, min_feat_size=32, res_depth=10,
                           norm="in", att="spar")

for _name, _cfg, _proto, _file, _desc in (
    ("sparnet", SPARNetConfig(), _X8, "SPARNet-V16-S4-epoch20.pth",
     "SPARNet x8 (16->128), 2-D spatial attention FAUs, L1-trained (released S16_V4_Attn2D, 10.5 M)"),
    ("sparnet-light3d", SPARNetConfig(res_depth=1, att="spar3d"), _X8, "SPARNetLight_Attn3D-epoch20.pth",
     "SPARNet-Light x8 (16->128), 3-D attention, one middle FAU (released, 5.2 M)"),
    ("sparnethd", _HD_CONFIG, _HD, "SPARNetHD_V4_Attn2D_net_H-epoch10.pth",
     "SPARNetHD blind restoration of a degraded 512 FFHQ-aligned face, 2-D attention, GAN-trained (85.8 M)"),
    ("sparnethd-3d", dataclasses.replace(_HD_CONFIG, att="spar3d"), _HD,
     "SPARNetHD_V4_Attn3D_net_H-epoch10.pth",
     "SPARNetHD blind restoration of a degraded 512 FFHQ-aligned face, 3-D attention, GAN-trained (90.1 M)"),
    ("sparnethd-lite", SPARNetConfig(min_ch=16, max_ch=64, in_size=512, out_size=512, min_feat_size=32,
                                     res_depth=1, norm="in", att="spar", input_skip=True), _HD, None,
     "SPARNetHD-Lite: the HD builder at 512 with reduced width/depth and an input skip, trainable on a CPU "
     "(not an official model)"),
    ("sparnet-blind", SPARNetConfig(res_depth=1, att="spar3d", input_skip=True, skip_gain_init=1.0), _BLIND128,
     None, "SPARNet-Light-3D blind restorer of real-photo faces of any size (coarse 128 crop, residual over the "
     "cubic-upsampled crop; started from the x8 weights; not an official model)"),
    ("sparnet-blind-u", _BLIND_U, _BLIND128, None,
     "sparnet-blind with U-Net skips: blind restorer of real-photo faces that also sees pixel-level noise, JPEG "
     "blocks and blur (coarse 128 crop, residual over the cubic-upsampled crop; not an official model)"),
    ("sparnet-blind-large", SPARNetConfig(res_depth=1, att="spar3d", input_skip=True, skip_gain_init=1.0),
     _BLIND128, None, "sparnet-blind fine-tuned for large faces (about 60-128 px in the photo) on milder damage "
     "(the photo_mild degradation), so sharp large faces are cleaned, not over-corrected (not an official model)"),
    ("sparnet-blind-gan", _BLIND_U, _BLIND128, None,
     "sparnet-blind-u fine-tuned adversarially (SPARNetHD's GAN terms over its L1): the sharper option, more "
     "detail and texture at some cost in fidelity (PSNR); coarse 128 crop at the face's real size (not an "
     "official model)"),
    ("sparnethd-blind256", dataclasses.replace(_BLIND_U, in_size=256, out_size=256, min_feat_size=32), _BLIND256,
     None, "sparnet-blind-u's architecture at 256 on the FFHQ-aligned crop (same weight shapes, one more pixel per "
     "feature): blind restorer for large faces (residual over the crop; not an official model)"),
):
    register(Variant(name=_name, family="sparnet", config=_cfg, builder=SPARNet, extract=_extract,
                     description=_desc, licence=_LICENCE, official_file=_file, **_proto))
