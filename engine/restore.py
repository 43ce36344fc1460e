"""The one-call API: restore every face of a photo with one or several models and paste them back.

    result = engine.restore_photo("solvay.jpg", models=["fsrnet", "fsrgan"], scale=2)
    result.image          # restored photo of models[0] (numpy, same channels and dtype class as the input)
    result.faces[0].maps  # FSRNet priors, landmarks, SPARNet attention, ...

The building blocks are public too, so a GUI can detect first and restore only the faces the user picked:
``engine.faces.detect.detect_faces`` -> :func:`restore_faces` -> :func:`compose_photo`.
Arrays are RGB (not OpenCV's BGR), HxW (grey), HxWx3 or HxWx4 (alpha), uint8 or uint16.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .faces.align import AlignedFace
from .faces.detect import Detection

ModelSpec = "str | tuple[str, Any]"  # a zoo name, or (name, nn.Module) for user/untrained networks
Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]


class Cancelled(RuntimeError):
    """Raised when the ``cancel()`` callback returned True; nothing partial is returned."""


@dataclass
class FaceResult:
    """Everything known about one face: where it is, its crops, each model's output and by-products."""

    index: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in input-photo pixels
    score: float
    landmarks5: np.ndarray  # 5 x 2, input-photo pixels
    landmarks68: np.ndarray | None  # 68 x 2 or None
    crops: dict[str, AlignedFace] = field(default_factory=dict)  # crop protocol -> aligned crop
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # model name -> restored face, uint8 RGB
    maps: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # model -> {"priors", "landmarks", ...}
    seconds: dict[str, float] = field(default_factory=dict)  # model -> seconds spent on this face
    notes: list[str] = field(default_factory=list)  # too small/large, skipped, fallbacks, ...
    skipped: bool = False  # True when no model output was pasted for this face


@dataclass
class PhotoResult:
    """A restored photo: the composite per model, every face, timings and the metadata to write back."""

    image: np.ndarray  # restored photo of models[0]
    images: dict[str, np.ndarray]  # model name -> restored photo
    faces: list[FaceResult]
    timings: dict[str, float]
    source: str | None
    metadata: Any  # engine.io.ImageMetadata
    scale: float = 2.0
    models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)  # model, weights sha256, settings


def restore_faces(image: np.ndarray, detections: Sequence[Detection], models: Sequence[Any] = ("fsrnet",), *,
                  aligned: bool = False, tta: bool = False, device: Any = None,
                  progress: Progress | None = None, cancel: Cancel | None = None) -> list[FaceResult]:
    """Crop each detected face per model protocol and run every model on it (batched, inference mode)."""
    raise NotImplementedError


def compose_photo(image: np.ndarray, faces: Sequence[FaceResult], model: str, scale: float = 2, *,
                  blend: float = 1.0, alpha: np.ndarray | None = None, color_match: bool = True,
                  mask: str = "square") -> np.ndarray:
    """Upscale the photo (Lanczos) and paste one model's restored faces back into it."""
    raise NotImplementedError


def restore_photo(source: str | Path | np.ndarray, models: Sequence[Any] = ("fsrnet",), scale: float = 2, *,
                  detector: str = "dlib", detector_model: str | Path | None = None, only_center_face: bool = False,
                  aligned: bool = False, blend: float = 1.0, tta: bool = False, device: Any = None,
                  progress: Progress | None = None, cancel: Cancel | None = None) -> PhotoResult:
    """Read (if a path), detect, align, restore with every model, paste back; see the module docstring."""
    raise NotImplementedError
