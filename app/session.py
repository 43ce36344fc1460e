"""The plain (Qt-free) state of a working session: the photos, their faces and the user's per-face decisions.

Views read this and the controller mutates it; keeping it free of Qt makes the decisions (include/exclude, per-face
model) testable and saveable without a window, as napari keeps its layer model apart from its Qt views.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")


@dataclass(eq=False)  # identity, not field equality (fields hold numpy arrays)
class FaceItem:
    """One detected face and what the user decided about it."""

    detection: Any  # engine.faces.detect.Detection
    include: bool = True
    model: str | None = None  # None: use the session's default model
    result: Any = None  # engine.restore.FaceResult, outputs of every model run so far merged in
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> identity/landmark badges
    busy: bool = False

    def has_output(self, model: str) -> bool:
        return self.result is not None and model in self.result.outputs

    def has_run(self, model: str) -> bool:
        """The model ran on this face: it has an output, or (auto) chose to keep the original."""
        from .backend import ran

        return ran(self.result, model)

    def variant(self, model: str) -> str | None:
        """The variant behind `model`'s output for this face (auto's per-face pick), or None without one."""
        if self.result is None or model not in self.result.outputs:
            return None
        try:
            return self.result.variant_of(model)
        except ValueError:
            return None


@dataclass(eq=False)
class PhotoDoc:
    """A photo in the list: its pixels once loaded, its faces once detected, its restored composite once made."""

    path: Path
    image: Any = None  # engine.io.LoadedImage
    rgb: np.ndarray | None = None  # HxWx3 uint8 for display, thumbnails and detection
    display: Any = None  # the same, prepared for the screen by the UI layer (a QImage made off the UI thread)
    faces: list[FaceItem] = field(default_factory=list)
    detected: bool = False
    restored: np.ndarray | None = None  # composite of the chosen models, same dtype class as the input
    restored_signature: tuple = ()  # which (face, model) choices `restored` reflects
    restored_display: Any = None  # `restored` prepared for the screen (QImage), made off the UI thread
    generation: int = 0  # bumped each time faces are (re)detected, so views know their face widgets are stale
    status: str = "queued"  # queued, loading, ready, restoring, restored, error
    error: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def model_of(self, face: FaceItem, default: str) -> str:
        return face.model or default

    def signature(self, default: str, scale: float, no_harm: bool = True) -> tuple:
        """What the composite of the current choices reflects (backend.restore_signature)."""
        from .backend import restore_signature

        return restore_signature(scale, {i: self.model_of(f, default) for i, f in enumerate(self.faces)
                                         if f.include}, no_harm)

    def included(self) -> list[int]:
        return [i for i, f in enumerate(self.faces) if f.include]


class Session:
    """The ordered photo list; adding the same file twice is a no-op."""

    def __init__(self) -> None:
        self.photos: list[PhotoDoc] = []

    def find(self, path: Path) -> PhotoDoc | None:
        key = _key(path)
        return next((p for p in self.photos if _key(p.path) == key), None)

    def add(self, paths: Iterable[Path]) -> list[PhotoDoc]:
        added = []
        for path in paths:
            if self.find(path) is None:
                doc = PhotoDoc(Path(path))
                self.photos.append(doc)
                added.append(doc)
        return added

    def remove(self, doc: PhotoDoc) -> None:
        self.photos.remove(doc)


def _key(path: Path) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(path)


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Dropped or opened paths -> (photo files to load, [(path, why it was skipped)]).

    Folders are scanned one level deep with the suffixes the engine reads; a file with another suffix is skipped with a
    reason instead of silently, while a corrupt file with a photo suffix is accepted here and reported when it fails to
    load (only decoding can tell).
    """
    photos: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES
                           and not p.name.startswith("."))
            if not found:
                skipped.append((path, "the folder holds no photos (" + ", ".join(PHOTO_SUFFIXES) + ")"))
            photos.extend(found)
        elif path.is_file():
            if path.suffix.lower() in PHOTO_SUFFIXES:
                photos.append(path)
            else:
                skipped.append((path, f"not a supported photo type ({path.suffix or 'no suffix'}); "
                                      "supported: JPEG, PNG, WebP, TIFF, BMP"))
        else:
            skipped.append((path, "no such file or folder"))
    unique = list(dict.fromkeys(photos))
    return unique, skipped
