"""FSRNet and FSRGAN (Chen et al., CVPR 2018): x8 face SR guided by landmark heatmaps and parsing maps.

Described in docs/models.md#fsrnet-and-fsrgan. The paper's Fig. 2 is missing from our sources, so some choices are ours
(docs/models.md#fsrnet-deviations): pre-activation units (BN-ReLU-Conv) after the first conv of every sub-network,
Newell bottleneck residual modules in the prior branch, and the Newell merge between hourglass stacks. With the paper
configuration (68 landmarks, 11 parsing maps, 2 hourglasses) the network has 3,295,396 parameters.

Input and output are RGB in [0, 1] (the official demo's range): the input is the 16x16 LR face bicubic-upsampled to
128x128.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple, TypeVar

import torch
from torch import nn

from .registry import Variant, register

Priors = TypeVar("Priors")  # a torch.Tensor or a numpy array of prior maps


@dataclass(frozen=True)
class FSRNetConfig:
    landmarks: int = 68
    parsing: int = 11
    stacks: int = 2
    width: int = 64  # image branches
    prior_width: int = 128  # hourglass features
    hourglass_depth: int = 4
    coarse_blocks: int = 3
    encoder_blocks: int = 12
    decoder_blocks: int = 3
    # "priors": the decoder sees the predicted maps (Eq. 3, recommended); "features": the last 128-ch HG feature.
    decoder_input: str = "priors"
    # Residual over the input (the blind variant): the coarse and the fine image are the input plus a correction,
    # so a face that needs little keeps its own pixels. Both last convs start at zero: the net starts as the identity.
    input_skip: bool = False
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"decoder_input": ("priors", "features")}  # card check

    @property
    def prior_channels(self) -> int:
        return self.landmarks + self.parsing


class FSRNetOutput(NamedTuple):
    coarse: torch.Tensor  # B x 3 x 128 x 128
    priors: list[torch.Tensor]  # per stack: B x (landmarks + parsing) x 64 x 64
    image: torch.Tensor  # B x 3 x 128 x 128


def preact_conv(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """BN-ReLU-Conv: the pre-activation "Conv" unit of the paper's Fig. 2 caption."""
    return nn.Sequential(
        nn.BatchNorm2d(c_in), nn.ReLU(inplace=True), nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2)
    )


class ResBlock(nn.Module):
    """Pre-activation basic residual block of the image branches."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(preact_conv(channels, channels), preact_conv(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Bottleneck(nn.Module):
    """Newell-style residual module of the prior branch (1x1 -> 3x3 -> 1x1, projection skip when widths differ)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        mid = c_out // 2
        self.body = nn.Sequential(preact_conv(c_in, mid, 1), preact_conv(mid, mid, 3), preact_conv(mid, c_out, 1))
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.body(x)


class Hourglass(nn.Module):
    """Recursive hourglass: the upper path keeps resolution, the lower path pools, recurses and upsamples back."""

    def __init__(self, depth: int, channels: int):
        super().__init__()
        self.upper = Bottleneck(channels, channels)
        self.down = Bottleneck(channels, channels)
        self.inner = Hourglass(depth - 1, channels) if depth > 1 else Bottleneck(channels, channels)
        self.up = Bottleneck(channels, channels)
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.up(self.inner(self.down(self.pool(x))))
        return self.upper(x) + self.upsample(low)


class PriorStack(nn.Module):
    """One hourglass stack: shared features, then separate 1x1 landmark and parsing heads."""

    def __init__(self, cfg: FSRNetConfig):
        super().__init__()
        c = cfg.prior_width
        self.hourglass = Hourglass(cfg.hourglass_depth, c)
        self.residual = Bottleneck(c, c)
        self.post = nn.Sequential(nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.landmark_head = nn.Conv2d(c, cfg.landmarks, 1)
        self.parsing_head = nn.Conv2d(c, cfg.parsing, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feature = self.post(self.residual(self.hourglass(x)))
        priors = torch.cat([self.landmark_head(feature), self.parsing_head(feature)], dim=1)
        return feature, priors


class PriorNet(nn.Module):
    """Prior estimation network P: 7x7/2 stem, three residual modules, stacked hourglasses with Newell merges."""

    def __init__(self, cfg: FSRNetConfig):
        super().__init__()
        c = cfg.prior_width
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            Bottleneck(64, c), Bottleneck(c, c), Bottleneck(c, c),
        )
        self.stacks = nn.ModuleList(PriorStack(cfg) for _ in range(cfg.stacks))
        self.merge_features = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(cfg.stacks - 1))
        self.merge_priors = nn.ModuleList(nn.Conv2d(cfg.prior_channels, c, 1) for _ in range(cfg.stacks - 1))

    def forward(self, y_coarse: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.stem(y_coarse)
        priors: list[torch.Tensor] = []
        feature = x
        for i, stack in enumerate(self.stacks):
            feature, p = stack(x)
            priors.append(p)
            if i < len(self.merge_features):
                x = x + self.merge_features[i](feature) + self.merge_priors[i](p)
        return feature, priors


class FSRNet(nn.Module):
    """Coarse SR net -> (fine encoder || prior net) -> fine decoder on concat(features, priors)."""

    def __init__(self, cfg: FSRNetConfig = FSRNetConfig()):
        super().__init__()
        self.config = cfg
        w = cfg.width
        self.coarse = nn.Sequential(
            nn.Conv2d(3, w, 3, 1, 1), *(ResBlock(w) for _ in range(cfg.coarse_blocks)), preact_conv(w, 3)
        )
        self.encoder = nn.Sequential(
            nn.Conv2d(3, w, 3, 2, 1), *(ResBlock(w) for _ in range(cfg.encoder_blocks)), preact_conv(w, w)
        )
        self.prior = PriorNet(cfg)
        side = cfg.prior_channels if cfg.decoder_input == "priors" else cfg.prior_width
        self.decoder = nn.Sequential(
            nn.Conv2d(w + side, w, 3, 1, 1),
            nn.BatchNorm2d(w), nn.ReLU(inplace=True), nn.ConvTranspose2d(w, w, 4, 2, 1),
            *(ResBlock(w) for _ in range(cfg.decoder_blocks)),
            preact_conv(w, 3),
        )
        if cfg.input_skip:
            self.start_as_identity_()

    def start_as_identity_(self) -> None:
        """Zero the convs that write the coarse and the fine correction: with input_skip, output == input."""
        with torch.no_grad():
            for branch in (self.coarse, self.decoder):
                conv = branch[-1][-1]
                conv.weight.zero_()
                conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> FSRNetOutput:
        y_coarse = self.coarse(x)
        if self.config.input_skip:
            y_coarse = x + y_coarse
        f = self.encoder(y_coarse)
        feature, priors = self.prior(y_coarse)
        side = priors[-1] if self.config.decoder_input == "priors" else feature
        y = self.decoder(torch.cat([f, side], dim=1))
        if self.config.input_skip:
            y = x + y
        return FSRNetOutput(y_coarse, priors, y)


class FSRGANDiscriminator(nn.Module):
    """Conditional 70x70 PatchGAN on concat(image, LR input) (ours, docs/models.md#fsrgan); logits, ~2.77 M params."""

    def __init__(self, in_channels: int = 6, width: int = 64):
        super().__init__()

        def block(c_in: int, c_out: int, stride: int, norm: bool) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, stride, 1, bias=not norm)]
            if norm:
                layers.append(nn.BatchNorm2d(c_out))
            return layers + [nn.LeakyReLU(0.2, inplace=True)]

        self.net = nn.Sequential(
            *block(in_channels, width, 2, False),
            *block(width, width * 2, 2, True),
            *block(width * 2, width * 4, 2, True),
            *block(width * 4, width * 8, 1, True),
            nn.Conv2d(width * 8, 1, 4, 1, 1),
        )

    def forward(self, image: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image, condition], dim=1))


def split_priors(priors: Priors, cfg: FSRNetConfig | None = None) -> tuple[Priors, Priors]:
    """A prior stack -> (landmark heatmaps, parsing maps): its first `cfg.landmarks` channels and the rest.

    The channels are the third axis from the end, so a batch (B x C x h x w) and one face's maps (C x h x w), torch
    tensors and numpy arrays alike, split the same way (views, nothing copied).
    """
    n = (cfg or FSRNetConfig()).landmarks
    return priors[..., :n, :, :], priors[..., n:, :, :]


def heatmap_peaks(heatmaps: torch.Tensor, out_size: int) -> torch.Tensor:
    """B x L x h x w heatmaps -> B x L x 2 (x, y) landmark positions in an out_size x out_size image.

    Sub-pixel: soft-argmax over the 3x3 neighbourhood of the peak, so landmarks do not snap to the 2-pixel grid of the
    64x64 prior maps.
    """
    b, n, h, w = heatmaps.shape
    flat = heatmaps.reshape(b, n, -1)
    idx = flat.argmax(-1)
    py, px = (idx // w).float(), (idx % w).float()
    padded = torch.nn.functional.pad(heatmaps, (1, 1, 1, 1), mode="replicate")
    offsets = torch.tensor([-1.0, 0.0, 1.0], device=heatmaps.device)
    iy, ix = (idx // w), (idx % w)
    gather_y = (iy[..., None, None] + torch.arange(3, device=heatmaps.device)[:, None]).clamp(0, h + 1)
    gather_x = (ix[..., None, None] + torch.arange(3, device=heatmaps.device)[None, :]).clamp(0, w + 1)
    bi = torch.arange(b, device=heatmaps.device)[:, None, None, None]
    ni = torch.arange(n, device=heatmaps.device)[None, :, None, None]
    patch = padded[bi, ni, gather_y, gather_x].clamp(min=0)
    mass = patch.sum((-1, -2)).clamp(min=1e-6)
    dy = (patch.sum(-1) * offsets).sum(-1) / mass
    dx = (patch.sum(-2) * offsets).sum(-1) / mass
    scale = out_size / w
    return torch.stack([(px + dx + 0.5) * scale - 0.5, (py + dy + 0.5) * scale - 0.5], dim=-1)


def _extract(out: FSRNetOutput) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    return out.image, {"coarse": out.coarse, "priors": out.priors[-1]}


_LICENCE = "Architecture: FSRNet (Chen et al., CVPR 2018). Bundled weights: non-commercial research use (data terms)."

for _name, _desc in (
    ("fsrnet", "FSRNet x8 (16->128), landmark + parsing priors, PSNR-oriented"),
    ("fsrgan", "FSRGAN x8 (16->128): FSRNet generator fine-tuned with adversarial + perceptual losses, sharper"),
):
    register(Variant(
        name=_name, family="fsrnet", config=FSRNetConfig(), builder=FSRNet, extract=_extract,
        lr_size=16, hr_size=128, upsample_input=True, value_range=(0.0, 1.0), crop="coarse128",
        description=_desc, licence=_LICENCE,
    ))

register(Variant(
    name="fsrnet-blind", family="fsrnet", config=FSRNetConfig(input_skip=True), builder=FSRNet, extract=_extract,
    lr_size=128, hr_size=128, upsample_input=False, value_range=(0.0, 1.0), crop="coarse128",
    description="FSRNet blind restorer of real-photo faces of any size (coarse 128 crop at the face's real size, "
                "residual over the cubic-upsampled crop, started from the x8 weights; not an official model)",
    licence=_LICENCE,
))
