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


# Face size in the photo -> candidates. Measured with the face-size benchmark on faces the weights never trained on
# (the 200 faces held out of faces128 by the blind 128 restorers' training, first 100 by name; the last 100 of
# ffhq256's training split for the large faces; never the validation sets): `python scripts/holdout_folder.py
# ../shared/data/faces128 200 -o runs/holdout128`, then `fsr-studio eval --face-sizes 12,16,24,32,48,64,96,128
# -m sparnet-blind,sparnet-blind-u,sparnethd-blind256 --data runs/holdout128 --limit 100 --no-judge` (and
# `--face-sizes 96,128,160,192,256 --data ../shared/data/ffhq256 --tail 300 --limit 100`). On degraded faces of
# 12-24 px the blind restorers beat Lanczos by +0.8 dB, the x8 weights by +0.0-0.15 (the fallback for tiny faces).
# sparnet-blind-u (U-Net skips) gained +0.84/+0.80/+0.56 dB at 32/48/64 px where sparnet-blind gained
# +0.80/+0.70/+0.44, tied at 12-16 px (-0.02/+0.01), and fell behind it above (96 px: -0.16 against +0.12; 128 px:
# -1.03 against -0.23); the two cross near 72 px. On FFHQ faces of 192 px (coarse crop ~170 px) both lost
# (-0.17/-0.43 dB; at 160 px +0.01/-0.13), and the HD restorer trained so far (sparnethd-blind256, not shipped)
# lost too at 160-192 px and on 96 px faces held out of faces128 (-0.39). Above 112 px only an HD restorer could add
# detail; without its weights the face keeps the upscaled original, never worse than Lanczos.
AUTO_BANDS: tuple[Band, ...] = (
    Band(0, 20, ("sparnet-blind-u", "sparnet-blind", "sparnet-light3d", "selfsr-lite", "fsrnet"),
         "tiny face: blind 128 restorer (x8 weights as fallback)"),
    Band(20, 72, ("sparnet-blind-u", "sparnet-blind"), "blind 128 restorer with U-Net skips at the face's real size"),
    Band(72, 112, ("sparnet-blind",), "blind 128 restorer at the face's real size"),
    Band(112, float("inf"), ("sparnethd-blind256",), "large face: HD 256 restorer"),
)

FAMILY_PREFERENCE: dict[str, tuple[str, ...]] = {
    "fsrnet": ("fsrnet",),
    "fsrgan": ("fsrgan",),
    "sparnet": ("sparnet", "sparnet-light3d", "sparnet-blind-u", "sparnet-blind"),
    "sparnethd": ("sparnethd", "sparnethd-3d", "sparnethd-blind256", "sparnethd-lite"),
    "selfsr": ("selfsr", "selfsr-lite"),
}


def band_for(source_px: float, bands: Sequence[Band] | None = None) -> Band:
    bands = AUTO_BANDS if bands is None else bands
    for band in bands:
        if band.min_px <= source_px < band.max_px:
            return band
    return bands[-1]


def choose(source_px: float, available: Callable[[str], bool], bands: Sequence[Band] | None = None
           ) -> tuple[str | None, str]:
    """(variant or None to keep the original, reason) for a face whose coarse crop covers `source_px` pixels."""
    band = band_for(source_px, bands)
    for name in band.candidates:
        if available(name):
            reason = band.why if name == band.candidates[0] else f"{band.why}; {band.candidates[0]} has no weights"
            return name, f"auto: face is {int(round(source_px))} px -> {name} ({reason})"
    return None, (f"auto: face is {int(round(source_px))} px and none of {', '.join(band.candidates)} has weights: "
                  f"kept the upscaled original")


def candidates(bands: Sequence[Band] | None = None) -> list[str]:
    """Every variant auto may use, in first-appearance order."""
    bands = AUTO_BANDS if bands is None else bands
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
