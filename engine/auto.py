"""`auto` and family names: which weights restore a face best, decided per face from its size in the photo.

Two questions, one module:

- **auto**: the x8 networks only know faces shrunk to exactly 16 px, the blind 128 restorers take the face at its
  real size (12-~110 px), the HD restorer at 256 has the pixels for large faces. :data:`AUTO_BANDS` maps the face's
  source size (the side of its coarse crop in photo pixels) to an ordered list of candidates; the first whose
  weights exist wins, and a band with no available candidate keeps the upscaled original (plain Lanczos), which is
  what every model loses to outside its range. The bands come from the face-size benchmark (`fsr-studio eval
  --face-sizes`) on training-side hold-outs, never on the validation sets reported in the README.
- **family names**: ``-m sparnet`` means "the SPARNet family, whatever weights I have". An exact variant with
  weights is used as is; otherwise the first member of :data:`FAMILY_PREFERENCE` with weights stands in, and the
  caller says which.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

AUTO = "auto"


@dataclass(frozen=True)
class Blend:
    """How much of a restorer's correction a face gets, and which second restorer's correction joins it.

    A restorer's output is the face plus a correction. Scaled by `weight` < 1 it is pulled towards the photo's own
    pixels; `partner`'s correction, scaled by `partner_weight`, is added in the same crop. Two restorers trained on
    different faces (FFHQ, CelebA) err differently, and one trained on sharp FFHQ faces over-sharpens softer faces:
    on held-out faces a blend of the two beats either alone (the numbers are beside AUTO_BANDS)."""

    weight: float = 1.0
    partner: str = ""
    partner_weight: float = 0.0

    def lead_only(self) -> "Blend":
        """This blend without its partner (no weights for it, or it could not restore the face)."""
        return Blend(self.weight)

    def describe(self, name: str) -> str:
        """The blend in words, with `name` the lead: "sparnethd-blind256 x0.6 + sparnet-blind-large x0.5"."""
        lead = f"{name} x{self.weight:g}"
        return f"{lead} + {self.partner} x{self.partner_weight:g}" if self.partner else lead


@dataclass(frozen=True)
class Band:
    """Faces whose coarse crop covers [min_px, max_px) photo pixels, and the variants to try, best first.

    portrait: better but slower variants tried first when the photo has few faces (at most
    RestoreSettings.portrait_faces): a portrait can afford seconds per face, a group photo of 30 cannot."""

    min_px: float
    max_px: float
    candidates: tuple[str, ...]
    why: str
    portrait: tuple[str, ...] = ()
    portrait_why: str = ""
    blends: Mapping[str, Blend] = field(default_factory=dict)  # candidate -> its blend (absent: its output as is)

    @property
    def span(self) -> str:
        """The band's sizes in words: "44-80 px", "380 px and up"."""
        return f"{self.min_px:g}-{self.max_px:g} px" if self.max_px != float("inf") else f"{self.min_px:g} px and up"

    def shown(self, name: str) -> str:
        """A candidate as the band uses it: its name, or its blend ("a x0.6 + b x0.3")."""
        return self.blends[name].describe(name) if name in self.blends else name

    def ordered(self, portrait: bool) -> tuple[str, ...]:
        """The candidates to try, best first, for a portrait (few faces) or a group photo."""
        if not portrait:
            return self.candidates
        return self.portrait + tuple(n for n in self.candidates if n not in self.portrait)


# Face size in the photo -> candidates. Measured with the face-size benchmark on faces the weights never trained on
# (the 200 faces held out of faces128 by the blind 128 restorers' training, first 100 by name; the 100 faces held
# out of ffhq256's training split by the HD restorer's, `--tail 300 --limit 100`; never the validation sets), with the
# residual paste; the 128 restorers of session 10, the HD restorer's fourth version (session 12): `python
# scripts/holdout_folder.py ../shared/data/faces128 200 -o runs/holdout128`, then `fsr-studio eval --face-sizes
# 12,16,24,32,48,64 -m fsrnet-blind,sparnet-blind-u,sparnet-blind-large --data runs/holdout128 --limit 100
# --no-judge`, `fsr-studio eval --face-sizes 48,64,96,128 -m sparnethd-blind256,sparnet-blind-large --data
# runs/holdout128 --limit 100 --no-judge` and `fsr-studio eval --face-sizes 128,160,192,224,256 -m sparnethd-blind256
# --data ../shared/data/ffhq256 --tail 300 --limit 100 --no-judge`. Sizes below are the coarse crop's side: the
# face's size on faces128, 0.73 x it on FFHQ crops.
# - 12-32 px: sparnet-blind-u +0.97/+1.10/+1.06/+1.06 dB over Lanczos at 12/16/24/32, sparnet-blind-large
#   +0.25/+0.36/+0.50/+0.75, fsrnet-blind +0.54/+0.61/+0.58/+0.50; the x8 weights +0.0-0.15 (the fallback).
# - 48 px: sparnet-blind-large +1.07, sparnet-blind-u +1.01, the HD restorer +0.82: the edge is at 44 px.
# - 64/96/128 px: the HD restorer +0.90/+0.53/+0.47, sparnet-blind-large +0.78/+0.39/+0.21 (sparnet-blind-u +0.72 at
#   64): the HD restorer is the best from ~56 px but costs ~7-10x a 128 restorer per face (`fsr-studio bench --models
#   sparnet-blind-large,sparnethd-blind256 --batches 8 --repeat 2 --threads 1`: 1.13 s fp32 / 0.78 s bf16 against
#   0.15 s OpenVINO f32 / 0.08 s bf16), which would multiply a group photo's time (the Solvay photo's 28 faces are
#   72-112 px). So a portrait (at most RestoreSettings.portrait_faces faces) gets it from 56 px, a group photo from
#   112 px; `-m sparnethd` asks for it on every face.
# - Session 13 (residual paste fading in over 1/16 of the crop instead of 1/8, engine/faces/paste.py; second
#   sparnet-blind-large, fifth HD restorer), the same commands: sparnet-blind-large +0.85/+1.32/+1.02/+0.54/+0.33 at
#   32/48/64/96/128 px (the first version, new mask: +1.26/+0.94/+0.46/+0.25 at 48-128), sparnet-blind-u
#   +1.22/+1.18/+0.84 at 32/48/64, the HD restorer +0.82/+0.97/+0.59/+0.53 at 48/64/96/128 and on the FFHQ hold-out
#   +1.04/+0.92/+0.92/+0.72/+0.52 at 128-256 (fourth version, new mask: +1.03/+0.91/+0.91/+0.70/+0.48; a previous
#   version is measured by the same command with its weights file and card in a folder named by $FSR_STUDIO_MODELS,
#   which zoo.find_weights reads before resources/weights). So the 128
#   restorer now serves 56-80 px faces of portraits too (at 64 px it beats the HD one), which keeps 80 px and up.
#   The numbers above this item are the earlier sessions' (old mask), kept for the history of the edges.
# - FFHQ faces (coarse side): 93/116/139/163/186 px: the HD restorer's fourth version (session 12)
#   +0.87/+0.75/+0.76/+0.60/+0.36 (the second gained only +0.02 at 186 px; the third, +0.26 there, was the first
#   trained with one face in five at the crop's own resolution). Larger faces, from hd512 (never trained on by it;
#   `python scripts/landmarks_folder.py ../shared/data/hd512 -o runs/hd512_lm`, then `fsr-studio eval --face-sizes
#   256,320,384,512 -m sparnethd-blind256 --data runs/hd512_lm --limit 40 --no-judge`): +0.39/+0.19/-0.06/-0.91 at
#   256/320/384/512 px (crops of ~186/233/280/373 px; the third version +0.34/+0.12/-0.14/-0.98) when every face
#   was shrunk to its 256 px crop, which holds fewer pixels than the photo. Since session 13 a face larger than that
#   crop runs at its own resolution (Variant.native_max; the network is fully convolutional and trained on 128 px
#   patches): the same command gives +0.39/+0.31/+0.21/-0.45 (fourth version; the fifth with session 13's paste seam:
#   +0.45/+0.35/+0.23/-0.44). So it serves faces up to 280 px (the largest size measured with a gain); faces above
#   keep the photo's own pixels: at 373 px the restorer, trained on faces at the 256 crop's scale, loses to them.
# - Session 14, blends (Blend; `python scripts/blend_grid.py`, commands in its docstring, on the same hold-outs): the
#   HD restorer, trained on sharp FFHQ faces, over-sharpens softer ones: its correction at full weight is best on the
#   FFHQ hold-out only (+1.08/+1.02 dB at 128/192 px; x0.9 +1.09/+1.02), while on faces128 and hd512 a share of it
#   wins (faces128 at 64/80/96/112/128 px: x1 +0.97/+1.12/+0.59/+0.54/+0.53, x0.6 +1.00/+1.21/+0.96/+0.96/+0.98;
#   hd512 at 256/320/384: x1 +0.45/+0.35/+0.23, x0.65 +0.54/+0.50/+0.50). Adding a share of sparnet-blind-large's
#   correction (trained on CelebA-like faces, so it errs differently) gains more: HD x0.6 + large x0.4 gives
#   +0.99/+0.99 dB on faces128 96 px / FFHQ 128 px (the same sizes in the photo; x1 alone +0.59/+1.08), HD x0.6 +
#   large x0.3 +0.97/+0.89/+0.55 on faces128 128 / FFHQ 192 / FFHQ 256 (x1 +0.53/+1.02/+0.50), HD x0.5 + large x0.6
#   +1.25/+1.31 at 64/80 px (large alone +1.02 at 64; at 48 px +1.29 against large alone's +1.31, hence the 56 px
#   edge). The weights are a compromise between the FFHQ hold-out and the others, chosen by the worst of them. Below
#   44 px sparnet-blind-u x0.7 + large x0.3 keeps the PSNR gain (+1.17/+1.22/+1.26 at 24/32/40 px against u alone's
#   +1.23/+1.22/+1.20) and lifts the identity cosine above Lanczos's (0.9177/0.9375/0.9517 against 0.9146/0.9358/
#   0.9511; u alone 0.9151/0.9360/0.9498). For group photos, sparnet-blind-large + sparnet-blind-u x0.3 gained only
#   +0.07/+0.06/+0.00 at 64/80/96 px for a second network per face: not used. The largest faces: on hd512 (`--sizes
#   256,320,384,448,512 --partner none`, crops of ~186/233/280/326/373 px) the HD restorer alone gains
#   +0.45/+0.35/+0.23/+0.03/-0.44, x0.6 +0.54/+0.50/+0.51/+0.38/+0.20, x0.5 +0.49/+0.46/+0.49/+0.38/+0.27: so x0.6 up
#   to 300 px, x0.5 up to 380 (the largest size measured), the original above.
# - Session 15, the HD restorer's sixth version (0.5 x the fifth + 0.5 x a fine-tune of it with soft targets, so that
#   it over-sharpens softer faces less; its card). The HD restorer's regions on the same hold-outs (runs/s14/dump.py,
#   the pipeline with the no-harm check), every blend scored by its margin over the goal (+1.0 dB up to 128 px, +0.5
#   above; hd512 +0.5) and chosen by the worst hold-out size in the band (scored by runs/s15/pick_blend.py,
#   git-ignored; `scripts/blend_grid.py` gives the same grids, e.g. +1.04/+1.03 for x0.7 + large x0.3 at faces128
#   96 px / FFHQ 128 px): 56-80 px (faces128 64/80) x0.5 + large x0.6 stays (+1.27/+1.32; fifth
#   +1.25/+1.31); 80-112 px (faces128 80/96, FFHQ 128) x0.7 + large x0.3 +1.36/+1.04/+1.03 (fifth at its x0.6 +
#   large x0.4 +1.32/+0.99/+0.99); 112-200 px (faces128 112/128, FFHQ 192/256, hd512 256) x0.7 alone
#   +1.03/+1.02/+0.87/+0.52/+0.53 (fifth at x0.6 + large x0.3 +0.97/+0.97/+0.89/+0.55/+0.54: the partner no longer
#   helps); 200-300 px (hd512 320/384) x0.7 +0.49/+0.49 (fifth x0.6 +0.50/+0.51). The fine-tune alone gained more on
#   faces128 (+1.10 at 96 px) and lost on FFHQ 192/256 and hd512 (+0.94/+0.48, +0.48 at 320 px). 300-380 px (hd512
#   448/512): x0.4 +0.34/+0.31, x0.5 +0.38/+0.29, x0.6 +0.39/+0.24 (fifth x0.5 +0.38/+0.27): x0.4.
AUTO_BANDS: tuple[Band, ...] = (
    Band(0, 20, ("sparnet-blind-u", "sparnet-blind", "sparnet-light3d", "selfsr-lite", "fsrnet"),
         "tiny face: blind 128 restorer (x8 weights as fallback)"),
    Band(20, 44, ("sparnet-blind-u", "sparnet-blind"), "blind 128 restorer with U-Net skips at the face's real size",
         blends={"sparnet-blind-u": Blend(0.7, "sparnet-blind-large", 0.3)}),
    Band(44, 56, ("sparnet-blind-large", "sparnet-blind"),
         "blind 128 restorer trained on the milder damage of larger faces"),
    Band(56, 80, ("sparnet-blind-large", "sparnet-blind"),
         "blind 128 restorer trained on the milder damage of larger faces (a group photo: the HD one costs ~7-10x)",
         portrait=("sparnethd-blind256",), portrait_why="few faces: HD 256 restorer blended with the 128 one",
         blends={"sparnethd-blind256": Blend(0.5, "sparnet-blind-large", 0.6)}),
    Band(80, 112, ("sparnet-blind-large", "sparnet-blind"),
         "blind 128 restorer trained on the milder damage of larger faces (a group photo: the HD one costs ~7-10x)",
         portrait=("sparnethd-blind256",), portrait_why="few faces: HD 256 restorer blended with the 128 one",
         blends={"sparnethd-blind256": Blend(0.7, "sparnet-blind-large", 0.3)}),
    Band(112, 200, ("sparnethd-blind256", "sparnet-blind-large"), "large face: HD 256 restorer, 0.7 of its correction",
         blends={"sparnethd-blind256": Blend(0.7)}),
    Band(200, 300, ("sparnethd-blind256",), "very large face: HD restorer at the face's own resolution",
         blends={"sparnethd-blind256": Blend(0.7)}),
    Band(300, 380, ("sparnethd-blind256",), "very large face: HD restorer at the face's own resolution, 0.4 of its "
         "correction", blends={"sparnethd-blind256": Blend(0.4)}),
    Band(380, float("inf"), (), "very large face: no restorer was measured on faces this large (the HD restorer's "
         "gain shrinks with size)"),
)

FAMILY_PREFERENCE: dict[str, tuple[str, ...]] = {
    "fsrnet": ("fsrnet",),
    "fsrgan": ("fsrgan",),
    "sparnet": ("sparnet", "sparnet-light3d", "sparnet-blind-u", "sparnet-blind", "sparnet-blind-large"),
    "sparnethd": ("sparnethd", "sparnethd-3d", "sparnethd-blind256", "sparnethd-lite"),
    "selfsr": ("selfsr", "selfsr-lite"),
}


def band_for(source_px: float, bands: Sequence[Band] | None = None) -> Band:
    bands = AUTO_BANDS if bands is None else bands
    for band in bands:
        if band.min_px <= source_px < band.max_px:
            return band
    return bands[-1]


def blend_for(source_px: float, name: str, available: Callable[[str], bool],
              bands: Sequence[Band] | None = None) -> Blend | None:
    """The blend auto applies to `name`'s output for a face of `source_px` (None: the output as is); a partner
    without weights drops out of it."""
    blend = band_for(source_px, bands).blends.get(name)
    if blend is not None and blend.partner and not available(blend.partner):
        blend = blend.lead_only()
    return blend


def choose(source_px: float, available: Callable[[str], bool], bands: Sequence[Band] | None = None,
           portrait: bool = False) -> tuple[str | None, str]:
    """(variant or None to keep the original, reason) for a face whose coarse crop covers `source_px` pixels;
    `portrait`: the photo has few faces, so a band's slower portrait candidates come first. The variant's blend,
    if its band has one, is :func:`blend_for`'s and the reason names it."""
    band = band_for(source_px, bands)
    names = band.ordered(portrait)
    why = band.portrait_why if portrait and band.portrait else band.why
    for name in names:
        if available(name):
            reason = why if name == names[0] else f"{why}; {names[0]} has no weights"
            blend = blend_for(source_px, name, available, bands)
            shown = blend.describe(name) if blend is not None else name
            return name, f"auto: face is {int(round(source_px))} px -> {shown} ({reason})"
    if not band.candidates:
        return None, f"auto: face is {int(round(source_px))} px ({band.why}): kept the upscaled original"
    return None, (f"auto: face is {int(round(source_px))} px and none of {', '.join(band.candidates)} has weights: "
                  f"kept the upscaled original")


def candidates(bands: Sequence[Band] | None = None) -> list[str]:
    """Every variant auto may use, in first-appearance order."""
    bands = AUTO_BANDS if bands is None else bands
    seen: list[str] = []
    for band in bands:
        partners = [b.partner for b in band.blends.values() if b.partner]
        seen += [n for n in (*band.ordered(True), *partners) if n not in seen]
    return seen


def resolve_family(name: str, available: Callable[[str], bool]) -> tuple[str, str | None]:
    """(variant to load, note or None). Exact variants with weights, and names that are no family, pass through."""
    if available(name) or name not in FAMILY_PREFERENCE:
        return name, None
    for member in FAMILY_PREFERENCE[name]:
        if available(member):
            return member, f"{name}: no {name} weights; using {member}, the best {name}-family weights found"
    return name, None  # nothing in the family: loading reports exactly which file is missing
