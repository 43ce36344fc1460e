"""The plain (Qt-free) state of a working session: the photos, their faces and the user's per-face decisions.

Views read this and the controller mutates it; keeping it free of Qt makes the decisions (include/exclude, per-face
model) testable and saveable without a window, as napari keeps its layer model apart from its Qt views. It holds
no Qt object: the screen-ready images of a photo live on the Qt side (the controller). Changes are announced to
the session's subscribers (:meth:`Session.subscribe`), which is how the controller's ``photoChanged`` signal is fed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from engine.io import IMAGE_SUFFIXES as PHOTO_SUFFIXES


class PhotoStatus(str, Enum):
    """Where a photo stands. A str, so that it compares equal to its value ("restored")."""

    QUEUED = "queued"  # added, not read yet (or its reading was cancelled)
    LOADING = "loading"  # being read and searched for faces
    READY = "ready"  # faces found, no up-to-date composite being made
    RESTORING = "restoring"  # a job is making its composite
    RESTORED = "restored"  # it has a composite
    ERROR = "error"  # it could not be opened (PhotoDoc.error says why)

    def __str__(self) -> str:
        return self.value


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
    faces: list[FaceItem] = field(default_factory=list)
    detected: bool = False
    restored: np.ndarray | None = None  # composite of the chosen models, same dtype class as the input
    restored_signature: tuple = ()  # which (face, model) choices `restored` reflects
    generation: int = 0  # bumped each time faces are (re)detected, so views know their face widgets are stale
    status: PhotoStatus = PhotoStatus.QUEUED  # set through Session.set_status, which announces it
    error: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def model_of(self, index: int, default: str) -> str:
        """The model of face `index`: its own choice, else the session's default model."""
        return self.faces[index].model or default

    def included(self) -> list[int]:
        return [i for i, f in enumerate(self.faces) if f.include]

    def face_models(self, default: str) -> dict[int, str]:
        """Included face -> its model: what the composite is made of."""
        return {i: self.model_of(i, default) for i in self.included()}

    def signature(self, default: str, scale: float, no_harm: bool = True) -> tuple:
        """What the composite of the current choices reflects (backend.restore_signature)."""
        from .backend import restore_signature

        return restore_signature(scale, self.face_models(default), no_harm)

    def settled_status(self) -> PhotoStatus:
        """The status once no job works on the photo: restored with a composite, ready with its faces found,
        else queued (not read yet)."""
        if self.restored is not None:
            return PhotoStatus.RESTORED
        return PhotoStatus.READY if self.detected else PhotoStatus.QUEUED


Listener = Callable[[PhotoDoc], None]


class Session:
    """The ordered photo list; adding the same file twice is a no-op. Subscribers hear of every photo's change."""

    def __init__(self) -> None:
        self.photos: list[PhotoDoc] = []
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(doc)` after every announced change of a photo (status, faces, composite, decisions)."""
        self._listeners.append(listener)

    def changed(self, doc: PhotoDoc) -> None:
        """Announce that `doc` changed."""
        for listener in list(self._listeners):
            listener(doc)

    def set_status(self, doc: PhotoDoc, status: PhotoStatus | str, error: str | None = None) -> None:
        """The one place a photo's status changes (error: its reason, when given); announces the change."""
        doc.status = PhotoStatus(status)
        if error is not None:
            doc.error = error
        self.changed(doc)

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
