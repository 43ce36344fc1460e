"""Badges for a Compare pane: time, and the fidelity evidence that can be computed for that model's output.

- time: the engine's per-face seconds for the model.
- identity and landmarks: measured in a background job by backend.face_metrics with the engine's independent dlib
  judge (face-embedding distance to the input crop, same person below 0.6; NRMSE of the 68 points found on the
  output against the detector's points), for outputs in the coarse 128 crop.
- prior NRMSE: for models with a landmark prior (FSRNet/FSRGAN), how far the prior's own 68 points are from the
  detector's, when the detector gives 68 points (dlib).
- auto's pick (the variant it used for this face) and the engine's no-harm check (engine.consistency: the output
  shrunk back to the face's size in the photo against the photo's pixels, in dB; below the threshold the face keeps
  its original).
Badges that cannot be computed are left out rather than faked.

:func:`face_status` is the same evidence for a face card: what made the face, the check's verdict, and why the
chosen model is a poor match for the face's size (the engine's size note).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

AUTO = "auto"


def landmark_error(result: Any, model: str, detection: Any, protocol: str) -> float | None:
    from engine.faces.align import transform_points
    from engine.metrics import landmark_nrmse

    from .overlays import landmarks_from

    maps = result.maps.get(model) or {}
    crop = result.crops.get(protocol)
    if crop is None or detection is None or getattr(detection, "landmarks68", None) is None:
        return None
    pred = landmarks_from(maps, int(crop.image.shape[0])) if maps else None
    if pred is None:
        return None
    target = transform_points(crop.matrix, np.asarray(detection.landmarks68, np.float64))
    try:
        return landmark_nrmse(pred, target)
    except ValueError:
        return None


def model_notes(result: Any, label: str) -> list[str]:
    """The face's notes about `label`'s output: the engine prefixes each note with the label or the variant that
    made it (auto: its pick, and the reason it picked it)."""
    if result is None:
        return []
    prefixes = {f"{label}: "}
    variant = result.chosen.get(label) if hasattr(result, "chosen") else None
    if variant:
        prefixes.add(f"{variant}: ")
    return [n for n in result.notes if any(str(n).startswith(p) for p in prefixes)]


def size_warning(result: Any, label: str) -> tuple[str, str]:
    """(short, full): why an explicitly chosen model is a poor match for this face's size, or ("", "").

    The engine notes it when the model runs (engine.restore.size_note: an x8 model's 16 px input throws away the
    detail of a face above 32 px, an HD model invents the detail of a small face); before that, the same function
    answers from the face's size, which any earlier restoration of the face measured.
    """
    if result is None or label == AUTO or not result.crops:
        return "", ""
    from engine.restore import size_note, variant_for

    try:
        variant = variant_for(result.variant_of(label))
    except ValueError:
        return "", ""
    note = next((n for n in result.notes if str(n).startswith(f"{label}: face is")), None)
    if note is None:
        note = size_note(result.size_px, variant.lr_size, label)[1]
    if not note:
        return "", ""
    full = str(note)[len(label) + 2:] if str(note).startswith(f"{label}: ") else str(note)
    short = full
    px = int(round(result.size_px))
    if variant.lr_size == 16 and result.size_px > 2 * variant.lr_size:
        short = f"x8 model on a {px} px face: detail above 16 px is discarded"
        full += (f". {label} is an x8 model, made for faces of about 16 px in the photo; auto picks a model for "
                 f"the face's size")
    return short, full


@dataclass
class FaceStatus:
    """What a face card says about the face's current model."""

    pick: str  # "auto → sparnet-blind", "auto → original", or the model's own name
    verdict: str  # "✓ 31.2 dB", "✗ kept original", "" when there is no output or no check
    passed: bool | None  # the no-harm check's verdict, None without one
    warning: str  # size_warning, short (for the card)
    warning_detail: str  # size_warning, in full (its tooltip)
    tooltip: str  # the check's describe() and the face's notes for this model


def face_status(result: Any, label: str, no_harm: bool = True) -> FaceStatus:
    from .backend import ran

    chosen = getattr(result, "chosen", {}) if result is not None else {}
    if label == AUTO:
        pick = f"auto → {result.made_by(label)}" if label in chosen else ("auto → original" if ran(result, label) else "auto")
    else:
        pick = label
    check = getattr(result, "checks", {}).get(label) if result is not None else None
    verdict, passed = "", None
    if check is not None and label in result.outputs:
        passed = bool(check.passed)
        if check.passed:
            verdict = f"✓ {check.score:.1f} dB"
        elif no_harm:
            verdict = "✗ kept original"
        else:
            verdict = f"✗ {check.score:.1f} dB (pasted, check off)"
    lines = [check.describe()] if check is not None else []
    if check is not None and not check.passed:
        lines.append("not pasted: the face keeps its upscaled original" if no_harm else
                     "pasted anyway: the no-harm check is off in Settings")
    lines += [n for n in model_notes(result, label) if n not in lines and "consistency" not in str(n)]
    warning, detail = size_warning(result, label)
    return FaceStatus(pick, verdict, passed, warning, detail, "\n".join(lines))


def badges_for(result: Any, model: str, detection: Any, measured: dict[str, float] | None = None,
               no_harm: bool = True) -> list[str]:
    """Badge texts for one pane; `measured` is backend.face_metrics' row for the model (computed in a job)."""
    from .backend import crop_protocol

    protocol = crop_protocol(result, model)
    out = []
    if model == AUTO and model in getattr(result, "chosen", {}):
        out.append(f"auto → {result.made_by(model)}")
    check = getattr(result, "checks", {}).get(model)
    if check is not None:
        out.append(f"consistency {check.score:.1f} dB " + ("✓" if check.passed else
                                                           ("✗ kept original" if no_harm else "✗")))
    secs = result.seconds.get(model)
    if secs is not None:
        out.append(f"time {secs * 1000:.0f} ms" if secs < 1 else f"time {secs:.2f} s")
    measured = measured or {}
    if "identity" in measured:
        out.append(f"identity dist {measured['identity']:.2f}")
    if "landmarks" in measured:
        out.append(f"landmarks NRMSE {measured['landmarks']:.3f}")
    prior = landmark_error(result, model, detection, protocol) if protocol else None
    if prior is not None:
        out.append(f"prior NRMSE {prior:.3f}")
    return out


BADGE_HELP = ("auto → variant: the model auto chose for this face's size\n"
              "consistency: the no-harm check, the output shrunk back to the face's size in the photo against the "
              "photo (PSNR; below the threshold the face keeps its original)\n"
              "time: this model's seconds on this face\n"
              "identity dist: dlib face-embedding distance between the input crop and the output "
              "(dlib: same person below 0.6; lower is closer)\n"
              "landmarks NRMSE: dlib's 68 points on the output vs. the detector's points on the input, "
              "per inter-ocular distance (lower: the geometry was kept)\n"
              "prior NRMSE: the same for the model's own landmark prior (FSRNet/FSRGAN)")
