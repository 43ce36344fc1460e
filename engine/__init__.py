"""FSR Studio engine: models, faces, restoration and metrics. No Qt here.

``engine.restore_photo`` is resolved lazily (PEP 562) so that ``import engine`` stays cheap: torch, OpenCV and dlib
load only when a photo is actually restored.
"""
from __future__ import annotations

from typing import Any

__all__ = ["restore_photo", "restore_faces", "PhotoResult", "FaceResult"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import restore

        return getattr(restore, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
