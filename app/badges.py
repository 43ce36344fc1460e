"""Badges for a Compare pane: time, and the fidelity evidence that can be computed for that model's output.

- time: the engine's per-face seconds for the model.
- identity and landmarks: measured in a background job by backend.face_metrics with the engine's independent dlib
  judge (face-embedding distance to the input crop, same person below 0.6; NRMSE of the 68 points found on the
  output against the detector's points), for outputs in the coarse 128 crop.
- prior NRMSE: for models with a landmark prior (FSRNet/FSRGAN), how far the prior's own 68 points are from the
  detector's, when the detector gives 68 points (dlib).
Badges that cannot be computed are left out rather than faked.
"""
from __future__ import annotations

from typing import Any

import numpy as np


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


def badges_for(result: Any, model: str, detection: Any, protocol: str,
               measured: dict[str, float] | None = None) -> list[str]:
    """Badge texts for one pane; `measured` is backend.face_metrics' row for the model (computed in a job)."""
    out = []
    secs = result.seconds.get(model)
    if secs is not None:
        out.append(f"time {secs * 1000:.0f} ms" if secs < 1 else f"time {secs:.2f} s")
    measured = measured or {}
    if "identity" in measured:
        out.append(f"identity dist {measured['identity']:.2f}")
    if "landmarks" in measured:
        out.append(f"landmarks NRMSE {measured['landmarks']:.3f}")
    prior = landmark_error(result, model, detection, protocol)
    if prior is not None:
        out.append(f"prior NRMSE {prior:.3f}")
    return out


BADGE_HELP = ("time: this model's seconds on this face\n"
              "identity dist: dlib face-embedding distance between the input crop and the output "
              "(dlib: same person below 0.6; lower is closer)\n"
              "landmarks NRMSE: dlib's 68 points on the output vs. the detector's points on the input, "
              "per inter-ocular distance (lower: the geometry was kept)\n"
              "prior NRMSE: the same for the model's own landmark prior (FSRNet/FSRGAN)")
