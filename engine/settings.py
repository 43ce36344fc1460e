"""RestoreSettings: every option of restoring a photo in one frozen object.

Built once (by `fsr-studio enhance` from its flags, by Python users with keywords) and passed whole through
``restore_photo -> restore_faces -> each model's run -> infer_faces``, instead of a dozen keyword arguments re-typed
at every layer (BasicSR passes its ``opt`` whole for the same reason). Checked when built, so a bad value fails
before any model loads or any photo is read.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

SCALE_RANGE = (1.0, 16.0)  # a face restorer enlarges; below x1 a restored face would be pasted into a thumbnail
MASKS = ("square", "landmarks", "none")


def check_scale(scale: float) -> float:
    """The photo's final scale, refused outside SCALE_RANGE (x1e-9 once wrote a 1x1 image "with 1 face restored")."""
    lo, hi = SCALE_RANGE
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a number, got {scale!r}") from None
    if not lo <= value <= hi:
        raise ValueError(f"scale must be between {lo:g} and {hi:g}, got {value:g}")
    return value


@dataclass(frozen=True)
class RestoreSettings:
    """How to restore a photo. The defaults are the CLI's and the app's."""

    scale: float = 2.0  # final size of the photo, x1 to x16
    detector: str = "dlib"  # dlib, insightface or yunet (engine.faces.detect)
    detector_model: Any = None  # model file or folder of the insightface/yunet detectors
    only_center_face: bool = False
    aligned: bool = False  # the input is already a face crop in the model's protocol: no detection
    blend: float = 1.0  # restored face against the original, 0..1
    tta: bool = False  # fuse the 8 flips/rotations
    device: Any = None  # torch device or name; None/"auto": CUDA when available
    precision: str = "auto"  # auto (measured), an engine.accel mode, or a runtime path (engine.runtime_choice)
    color_match: bool = True  # match the restored face's colour and tone to the photo
    mask: str = "square"  # paste mask: square, landmarks (face outline) or none (aligned inputs)
    batch_size: int = 8
    no_harm: bool = True  # leave out restored faces that contradict the photo (engine.consistency)
    # auto gives mid-size faces the slower HD restorer when a call restores at most this many faces (0: never)
    portrait_faces: int = 4

    def __post_init__(self) -> None:
        from .runtime_choice import PATHS

        object.__setattr__(self, "scale", check_scale(self.scale))
        if not 0.0 <= float(self.blend) <= 1.0:
            raise ValueError(f"blend must be between 0 and 1, got {self.blend}")
        if self.mask not in MASKS:
            raise ValueError(f"mask must be one of {', '.join(MASKS)}, got {self.mask!r}")
        if self.precision != "auto" and self.precision not in PATHS:
            raise ValueError(f"precision must be auto, {', '.join(PATHS)}; got {self.precision!r}")
        why = PATHS[self.precision].missing() if self.precision in PATHS else None
        if why:
            raise ValueError(f"precision {self.precision}: {why}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if isinstance(self.portrait_faces, bool) or not isinstance(self.portrait_faces, int) or self.portrait_faces < 0:
            raise ValueError(f"portrait_faces must be a whole number >= 0, got {self.portrait_faces!r}")

    def but(self, **changes: Any) -> "RestoreSettings":
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def of(cls, settings: "RestoreSettings | None" = None, **options: Any) -> "RestoreSettings":
        """`settings` (default: the defaults) with the keyword `options` that were given (None: not given)."""
        base = settings if settings is not None else cls()
        given = {k: v for k, v in options.items() if v is not None}
        unknown = sorted(set(given) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"unknown restore option(s): {', '.join(unknown)}")
        return base.but(**given) if given else base

    def record(self) -> dict[str, Any]:
        """The settings a provenance note carries (what changes the pixels; not device, precision or batch size)."""
        return {"scale": self.scale, "detector": "aligned input" if self.aligned else self.detector,
                "blend": float(self.blend), "tta": bool(self.tta), "only_center_face": bool(self.only_center_face),
                "color_match": bool(self.color_match), "mask": self.mask, "no_harm_check": bool(self.no_harm),
                "portrait_faces": int(self.portrait_faces)}
