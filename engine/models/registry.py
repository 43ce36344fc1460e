"""The variant registry: one place that knows every named network and how to feed it.

Family modules (one per network family, as BasicSR keeps one architecture per file) call :func:`register` at import
time; :mod:`engine.zoo` adds weight discovery and loading on top. A :class:`Variant` also owns the conversion between
plain uint8 face crops and the tensors its network expects, so the pipeline, the trainer and the evaluator feed every
family the same way and nobody writes an if-chain over model names.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..degrade import pil_resize

# What a family's forward() returns, reduced to the restored image and its by-products (priors, attention, ...).
Extractor = Callable[[Any], "tuple[torch.Tensor, dict[str, torch.Tensor]]"]


@dataclass(frozen=True)
class Variant:
    """A named, buildable network configuration and its input/output protocol.

    lr_size: side of the low-resolution face the user supplies (16 for the x8 models, 512 for SPARNetHD, whose input
        is a degraded 512 face). hr_size: side of the output. upsample_input: feed the network the LR face
        bicubic-upsampled to hr_size (FSRNet, SPARNet) instead of the LR itself (SelFSR). value_range: the network's
        pixel range, (0, 1) for FSRNet, (-1, 1) for SPARNet and SelFSR. crop: the face protocol the network was
        trained on ("coarse128": square 1.25x landmark box; "ffhq512": FFHQ 5-point template).
    native_max: a same-size restorer that is fully convolutional and trained on random patches can restore a face
        larger than its crop at the face's own resolution (a crop of side `input_side`, at most native_max): shrinking
        a 370 px face to 256 and upscaling the result back throws away the detail the photo has. 0: fixed size.
    native_multiple: the native side is rounded up to a multiple of this (the network's total downsampling).
    """

    name: str
    family: str
    config: Any
    builder: Callable[[Any], nn.Module]
    extract: Extractor
    lr_size: int
    hr_size: int
    upsample_input: bool
    value_range: tuple[float, float]
    crop: str
    task: str = "restore"  # "restore" or "degrade" (SelFSR's degradation network)
    description: str = ""
    licence: str = ""
    official_file: str | None = None
    forward_kwargs: Mapping[str, Any] = field(default_factory=dict)
    native_max: int = 0
    native_multiple: int = 8

    @property
    def scale(self) -> int:
        return self.hr_size // self.lr_size

    @property
    def same_size(self) -> bool:
        """A restorer whose input is the face crop itself at the output size (the blind and HD models): its output
        differs from its input only by what it restored, so the pipeline can paste that difference."""
        return self.task == "restore" and self.lr_size == self.hr_size and not self.upsample_input

    def build(self, **overrides: Any) -> nn.Module:
        """A freshly initialised network; `overrides` replace fields of the config dataclass."""
        config = dataclasses.replace(self.config, **overrides) if overrides else self.config
        return self.builder(config)

    def input_side(self, source_px: float) -> int:
        """The crop side this variant restores a face at whose crop covers `source_px` photo pixels: lr_size, or
        for a native variant and a larger face, the face's own resolution (see native_max)."""
        if not self.native_max or source_px <= self.lr_size:
            return self.lr_size
        step = self.native_multiple
        return int(min(self.native_max, math.ceil(source_px / step) * step))

    def accepts(self, side: int) -> bool:
        """Whether a square input of this side can be fed as is (lr_size, or a native side)."""
        return side == self.lr_size or bool(
            self.native_max and self.lr_size < side <= self.native_max and side % self.native_multiple == 0)

    # ----- tensors <-> images -------------------------------------------------------------------------------------
    def to_input(self, lr_faces: Sequence[np.ndarray] | np.ndarray) -> torch.Tensor:
        """uint8 RGB LR faces (each lr_size x lr_size x 3) -> the network's input batch (float32, NCHW)."""
        batch = []
        for face in lr_faces:
            face = np.asarray(face)
            if face.dtype != np.uint8 or face.ndim != 3 or face.shape[2] != 3:
                raise ValueError(f"{self.name}: expected uint8 HxWx3 RGB faces, got {face.dtype} {face.shape}")
            if face.shape[0] != face.shape[1] or not self.accepts(face.shape[0]):
                native = (f" (or a multiple of {self.native_multiple} up to {self.native_max})"
                          if self.native_max else "")
                raise ValueError(f"{self.name}: expected {self.lr_size}x{self.lr_size}{native} faces, "
                                 f"got {face.shape[:2]}")
            if face.shape != np.shape(lr_faces[0]):
                raise ValueError(f"{self.name}: one input size per batch, got {np.shape(lr_faces[0])[:2]} and "
                                 f"{face.shape[:2]}")
            if self.upsample_input and self.hr_size != self.lr_size:
                face = pil_resize(face, self.hr_size)
            batch.append(face)
        x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float().div_(255.0)
        return self.normalize(x)

    def normalize(self, x01: torch.Tensor) -> torch.Tensor:
        lo, hi = self.value_range
        return x01 if (lo, hi) == (0.0, 1.0) else x01 * (hi - lo) + lo

    def denormalize(self, y: torch.Tensor) -> torch.Tensor:
        lo, hi = self.value_range
        y = y if (lo, hi) == (0.0, 1.0) else (y - lo) / (hi - lo)
        return y.clamp(0.0, 1.0)

    def run(self, model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Forward a prepared batch; returns the image in [0, 1] and the family's by-product maps.

        Runtimes other than PyTorch (engine.onnx_runtime.OnnxModel) provide `run_extracted` and skip the extractor.
        """
        runner = getattr(model, "run_extracted", None)
        image, maps = runner(x) if runner else self.extract(model(x, **self.forward_kwargs))
        return self.denormalize(image.float()), {k: v.float() for k, v in maps.items()}


def to_uint8(images01: torch.Tensor) -> np.ndarray:
    """NCHW float [0,1] -> NHWC uint8, rounding (the official code truncates; only metrics care, see engine.metrics)."""
    arr = images01.detach().float().clamp(0, 1).mul(255.0).round().byte()
    return arr.permute(0, 2, 3, 1).cpu().numpy()


_REGISTRY: dict[str, Variant] = {}


def register(variant: Variant) -> Variant:
    if variant.name in _REGISTRY:
        raise ValueError(f"variant {variant.name!r} registered twice")
    _REGISTRY[variant.name] = variant
    return variant


def registered() -> dict[str, Variant]:
    return _REGISTRY
