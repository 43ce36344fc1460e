"""Badges for a Compare pane: time, and the fidelity evidence that can be computed for that model's output.

- time: the engine's per-face seconds for the model.
- landmark error: NRMSE (engine.metrics.landmark_nrmse) between the landmarks the model's prior predicted and the
  detector's 68 landmarks mapped into the same crop; only models with a landmark prior (FSRNet/FSRGAN) and detectors
  with 68 points (dlib) make this computable.
- identity: cosine similarity of face embeddings of input and output, when the engine offers an embedding function
  (an ArcFace model the user installed); otherwise the badge is left out rather than faked.
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


def identity_similarity(result: Any, model: str, protocol: str) -> float | None:
    """Input/output embedding similarity through the engine's identity model, if the engine has one installed."""
    try:
        from engine import identity  # type: ignore[attr-defined]
    except ImportError:
        return None
    crop = result.crops.get(protocol)
    out = result.outputs.get(model)
    fn = getattr(identity, "similarity", None)
    if crop is None or out is None or fn is None:
        return None
    try:
        return float(fn(crop.image, out))
    except Exception:  # noqa: BLE001 - no model installed, wrong size: no badge
        return None


def badges_for(result: Any, model: str, detection: Any, protocol: str) -> list[str]:
    out = []
    secs = result.seconds.get(model)
    if secs is not None:
        out.append(f"time {secs * 1000:.0f} ms" if secs < 1 else f"time {secs:.2f} s")
    err = landmark_error(result, model, detection, protocol)
    if err is not None:
        out.append(f"landmarks NRMSE {err:.3f}")
    sim = identity_similarity(result, model, protocol)
    if sim is not None:
        out.append(f"identity {sim:.2f}")
    return out
