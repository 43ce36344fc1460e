"""`auto` and family names: which weights restore a face best, decided per face from its size in the photo.

Two questions, one module:

- **auto**: the x8 networks only know faces shrunk to exactly 16 px, the blind 128 restorers take the face at its
  real size (12-~180 px), the HD restorer at 256 has the pixels for large faces. :data:`AUTO_BANDS` maps the face's
  source size (the side of its coarse crop in photo pixels) to an ordered list of candidates; the first whose
  weights exist wins, and a band with no available candidate keeps the upscaled original (plain Lanczos), which is
  what every model loses to outside its range. The bands come from the face-size benchmark (`fsr-studio eval
  --face-sizes`) on training-side hold-outs, never on the validation sets reported in the README.
- **family names**: ``-m sparnet`` means "the SPARNet family, whatever weights I have". An exact variant with
  weights is used as is; otherwise the first member of :data:`FAMILY_PREFERENCE` with weights stands in, and the
  caller says which.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

AUTO = "auto"


@dataclass(frozen=True)
class Band:
    """Faces whose coarse crop covers [min_px, max_px) photo pixels, and the variants to try, best first."""

    min_px: float
    max_px: float
    candidates: tuple[str, ...]
    why: str


# Face size in the photo -> candidates. The x8 weights stay first below 14 px (their 16 px protocol); the blind 128
# restorer covers the middle; above ~160 px the coarse 128 crop would throw pixels away, so the HD 256 restorer
# (FFHQ-aligned crop) takes over when it exists, else the 128 restorer still beats the original there.
AUTO_BANDS: tuple[Band, ...] = (
    Band(0, 14, ("sparnet-blind", "sparnet-light3d", "selfsr-lite", "fsrnet"),
         "tiny face: blind 128 restorer (x8 weights as fallback)"),
    Band(14, 160, ("sparnet-blind",), "blind 128 restorer at the face's real size"),
    Band(160, float("inf"), ("sparnethd-blind256", "sparnet-blind"), "large face: HD 256 restorer"),
)

FAMILY_PREFERENCE: dict[str, tuple[str, ...]] = {
    "fsrnet": ("fsrnet",),
    "fsrgan": ("fsrgan",),
    "sparnet": ("sparnet", "sparnet-light3d", "sparnet-blind"),
    "sparnethd": ("sparnethd", "sparnethd-3d", "sparnethd-blind256", "sparnethd-lite"),
    "selfsr": ("selfsr", "selfsr-lite"),
}


def band_for(source_px: float, bands: Sequence[Band] = AUTO_BANDS) -> Band:
    for band in bands:
        if band.min_px <= source_px < band.max_px:
            return band
    return bands[-1]


def choose(source_px: float, available: Callable[[str], bool], bands: Sequence[Band] = AUTO_BANDS
           ) -> tuple[str | None, str]:
    """(variant or None to keep the original, reason) for a face whose coarse crop covers `source_px` pixels."""
    band = band_for(source_px, bands)
    for name in band.candidates:
        if available(name):
            reason = band.why if name == band.candidates[0] else f"{band.why}; {band.candidates[0]} has no weights"
            return name, f"auto: face is {int(round(source_px))} px -> {name} ({reason})"
    return None, (f"auto: face is {int(round(source_px))} px and none of {', '.join(band.candidates)} has weights: "
                  f"kept the upscaled original")


def candidates(bands: Sequence[Band] = AUTO_BANDS) -> list[str]:
    """Every variant auto may use, in first-appearance order."""
    seen: list[str] = []
    for band in bands:
        seen += [n for n in band.candidates if n not in seen]
    return seen


def resolve_family(name: str, available: Callable[[str], bool]) -> tuple[str, str | None]:
    """(variant to load, note or None). Exact variants with weights, and names that are no family, pass through."""
    if available(name) or name not in FAMILY_PREFERENCE:
        return name, None
    for member in FAMILY_PREFERENCE[name]:
        if available(member):
            return member, f"{name}: no {name} weights; using {member}, the best {name}-family weights found"
    return name, None  # nothing in the family: loading reports exactly which file is missing
