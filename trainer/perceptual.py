"""Perceptual losses without torchvision: our own VGG-16/19 feature stack, loading a user-supplied torchvision-layout
state_dict, and documented fallbacks when none is present (nothing can be downloaded here).

Where the VGG file is looked for, first hit wins: the recipe option ``vgg_weights`` (a path), then the user models
folder and the bundled weights folder (engine.zoo.search_dirs) for ``vgg16*.pth`` / ``vgg19*.pth`` /
``*.safetensors`` (torchvision's own names are vgg16-397923af.pth and vgg19-dcbb9e9d.pth). Only the ``features.*``
tensors are used; ``classifier.*`` is ignored.

Fallbacks, in order, each logged and recorded in the model card:
1. ``fsrnet-prior``: the frozen prior branch (stem + hourglass stacks) of a trained FSRNet: face-structure features
   (landmarks/parsing) learned on faces; its last 128-channel hourglass feature at 64x64, MSE. Needs FSRNet weights
   (the recipe's init, or the fsrnet weights the zoo finds).
2. ``gradients``: L1 between Sobel image gradients of output and target at three scales: rewards sharp edges where
   the target has them, needs no pretrained network.

SPARNetHD detail (docs/models.md#sparnethd-training): the official loss nominally taps conv1_2..conv5_4 pre-ReLU but
torchvision's in-place ReLU overwrites the first four, so it effectively uses relu1_2, relu2_2, relu3_4, relu4_4 and
conv5_4; we tap those.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from . import losses

VGG_CFG = {
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_features(depth: int) -> nn.Sequential:
    """torchvision's ``vgg{depth}().features`` layer list (same indices, so its state_dict keys load)."""
    layers: list[nn.Module] = []
    c_in = 3
    for v in VGG_CFG[depth]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c_in, int(v), 3, padding=1), nn.ReLU(inplace=False)]
            c_in = int(v)
    return nn.Sequential(*layers)


def find_vgg(depth: int, explicit: str | None = None) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{path}: VGG weights not found (option vgg_weights)")
        return path
    from engine import zoo

    for folder in zoo.search_dirs():
        for pattern in (f"vgg{depth}*.pth", f"vgg{depth}*.safetensors"):
            hits = sorted(folder.glob(pattern)) if folder.is_dir() else []
            if hits:
                return hits[0]
    return None


def load_vgg(depth: int, path: Path) -> nn.Sequential:
    from engine import zoo

    features = vgg_features(depth)
    raw = zoo.read_state_dict(path)
    state = {k.removeprefix("features."): v for k, v in raw.items() if k.startswith("features.")}
    if not state:
        raise zoo.CheckpointError(f"{path}: no 'features.*' tensors (expected a torchvision VGG-{depth} state_dict)")
    zoo.check_state_dict(features, state, path)
    features.load_state_dict({k: v.float() for k, v in state.items()})
    return features


class PerceptualLoss(nn.Module):
    """Frozen feature network + distance; `describe` says which network is used (for logs and the card)."""

    def __init__(self, describe: str):
        super().__init__()
        self.describe = describe

    def train(self, mode: bool = True) -> "PerceptualLoss":
        return super().train(False)  # frozen: BN (FSRNet fallback) stays in eval mode


class VGGLoss(PerceptualLoss):
    """Distance between VGG features at the tapped layer indices (torchvision indices of the ReLU/conv outputs)."""

    def __init__(self, features: nn.Sequential, taps: Sequence[int], distance: str, weights: Sequence[float],
                 value_range: tuple[float, float], min_size: int, describe: str):
        super().__init__(describe)
        self.features = features[: max(taps) + 1].eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.taps, self.weights, self.distance = list(taps), list(weights), distance
        self.lo, self.hi = value_range
        self.min_size = min_size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def prep(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.lo) / (self.hi - self.lo)
        if self.min_size and x.shape[-1] < self.min_size:
            x = F.interpolate(x, size=(self.min_size, self.min_size), mode="bilinear", align_corners=False)
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        fs = self.feats(self.prep(sr))
        with torch.no_grad():
            fh = self.feats(self.prep(hr))
        dist = losses.l1 if self.distance == "l1" else losses.mse
        return sum(w * dist(a, b) for w, a, b in zip(self.weights, fs, fh))


class PriorFeatureLoss(PerceptualLoss):
    """MSE between the frozen FSRNet prior branch's last hourglass features of output and target (fallback 1)."""

    def __init__(self, prior: nn.Module, value_range: tuple[float, float], size: int, describe: str):
        super().__init__(describe)
        self.prior = prior.eval()
        for p in self.prior.parameters():
            p.requires_grad_(False)
        self.lo, self.hi, self.size = value_range[0], value_range[1], size

    def prep(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.lo) / (self.hi - self.lo)  # FSRNet works in [0, 1]
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="area")
        return x

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        fs = self.prior(self.prep(sr))[0]
        with torch.no_grad():
            fh = self.prior(self.prep(hr))[0]
        return losses.mse(fs, fh)


class GradientLoss(PerceptualLoss):
    """L1 between Sobel gradients of output and target at full, 1/2 and 1/4 resolution (fallback 2)."""

    def __init__(self, describe: str):
        super().__init__(describe)
        k = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
        self.register_buffer("kernel", torch.stack([k, k.t()])[:, None])

    def grads(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = F.conv2d(x.reshape(b * c, 1, h, w), self.kernel.to(x.dtype), padding=1)
        return g.reshape(b, c * 2, h, w)

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        loss = sr.new_zeros((), dtype=torch.float32)
        for _ in range(3):
            loss = loss + losses.l1(self.grads(sr), self.grads(hr))
            sr, hr = F.avg_pool2d(sr, 2), F.avg_pool2d(hr, 2)
        return loss


# What each consumer asks of VGG: depth, tapped torchvision indices, weights, distance, minimum input side.
VGG_SPECS = {
    "fsrgan": dict(depth=16, taps=[29], weights=[1.0], distance="mse", min_size=0,
                   name="VGG-16 relu5_3, MSE (FSRGAN, docs/models.md#fsrgan)"),
    "sparnethd": dict(depth=19, taps=[3, 8, 17, 26, 34], weights=[1.0] * 5, distance="l1", min_size=224,
                      name="VGG-19 relu1_2/relu2_2/relu3_4/relu4_4/conv5_4, L1 "
                           "(SPARNetHD, docs/models.md#sparnethd-training)"),
}


def build(kind: str, value_range: tuple[float, float], vgg_path: str | None = None,
          fsrnet_weights: str | Path | None = None, log: Callable[[str], None] = print) -> PerceptualLoss:
    """The perceptual loss for `kind` ("fsrgan" | "sparnethd"), falling back as the module doc says; logs the choice."""
    spec = VGG_SPECS[kind]
    path = find_vgg(spec["depth"], vgg_path)
    if path is not None:
        loss: PerceptualLoss = VGGLoss(load_vgg(spec["depth"], path), spec["taps"], spec["distance"],
                                       spec["weights"], value_range, spec["min_size"], f"{spec['name']} from {path}")
    else:
        prior = fsrnet_prior(fsrnet_weights)
        if prior is not None:
            loss = PriorFeatureLoss(prior[0], value_range, 128,
                                    f"fallback: frozen FSRNet prior-branch features (no VGG-{spec['depth']} file "
                                    f"found), from {prior[1]}")
        else:
            loss = GradientLoss(f"fallback: multi-scale Sobel gradient L1 (no VGG-{spec['depth']} file and no FSRNet "
                                f"weights found)")
    log(f"perceptual loss: {loss.describe}")
    return loss


def fsrnet_prior(weights: str | Path | None) -> tuple[nn.Module, str] | None:
    """The prior branch of trained FSRNet weights (explicit file, else what the zoo finds), or None."""
    from engine import zoo

    path = Path(weights) if weights else zoo.find_weights("fsrnet")
    if path is None or not Path(path).is_file():
        return None
    model = zoo.load("fsrnet", weights=path, device="cpu")
    return model.prior, str(path)
