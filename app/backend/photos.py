"""Opening a photo: read it (engine.io), make its 8-bit RGB for the screen, and find its faces (engine.restore)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .common import Cancel, Progress, check_cancel

if TYPE_CHECKING:
    from engine.settings import RestoreSettings


@dataclass
class LoadedPhoto:
    """What opening a photo gives the UI: the engine's LoadedImage, its faces, its display RGB8, a note or None."""

    image: Any  # engine.io.LoadedImage
    detections: list[Any]  # engine.faces.detect.Detection, in photo pixels
    rgb: np.ndarray  # HxWx3 uint8 for display, thumbnails and detection
    note: str | None  # e.g. "faces searched on a downscaled copy"


def read_photo(path: Path) -> Any:
    """engine.io.read_image: upright pixels, alpha, metadata; ImageReadError names the file and the reason."""
    from engine import io

    return io.read_image(path)


def display_rgb8(pixels: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 for the screen (16-bit, grey and alpha photos included)."""
    from engine import io

    return io.to_rgb8(pixels)


def detect(image: np.ndarray, settings: RestoreSettings) -> tuple[list[Any], str | None]:
    """engine.restore.detect_in_photo with the settings' back end and model file: huge photos are searched on a
    downscaled copy, as on the command line. Returns (detections in photo pixels, a note for the user or None)."""
    from engine.restore import detect_in_photo

    faces, note = detect_in_photo(image, settings.detector, settings.detector_model or None)
    return list(faces), note


def load_and_detect(path: Path, settings: RestoreSettings, *, progress: Progress | None = None,
                    cancel: Cancel | None = None) -> LoadedPhoto:
    """Read a photo and find its faces with the settings' detector."""
    if progress:
        progress(0, 2, f"reading {path.name}")
    loaded = read_photo(path)
    rgb = display_rgb8(loaded.pixels)
    check_cancel(cancel)
    if progress:
        progress(1, 2, f"finding faces in {path.name}")
    detections, note = detect(rgb, settings)
    if progress:
        progress(2, 2, f"{len(detections)} faces in {path.name}")
    return LoadedPhoto(loaded, detections, rgb, note)
