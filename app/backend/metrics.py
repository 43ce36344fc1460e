"""Fidelity evidence for the Compare badges: identity distance and landmark error of each output, measured with the
engine's independent dlib judge off the UI thread."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .common import Cancel, Progress
from .restoring import RestoreOutcome, RestoreRequest, crop_protocol, run_restore

if TYPE_CHECKING:
    from engine.settings import RestoreSettings

_JUDGE: Any = None


def judge() -> Any:
    """engine.evaluate.FaceJudge (dlib's 68-point predictor and face embedding), loaded once, off the UI thread."""
    global _JUDGE
    if _JUDGE is None:
        from engine.evaluate import FaceJudge

        _JUDGE = FaceJudge()
    return _JUDGE


def face_metrics(result: Any, detection: Any, models: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per model: identity (distance between the dlib face embeddings of the input crop and the output; dlib calls
    two faces the same person below 0.6) and landmarks (NRMSE of dlib's 68 points found on the output against the
    detector's points in the same crop).

    Only for outputs in the coarse 128 crop, whose layout the judge assumes (the face box is the crop's central 80 %);
    FFHQ-aligned SPARNetHD outputs get no numbers rather than wrong ones.
    """
    from engine import metrics as m
    from engine.faces.align import transform_points

    out: dict[str, dict[str, float]] = {model: {} for model in models}  # an empty row: tried, nothing computable
    crop = result.crops.get("coarse128") if result is not None else None
    if crop is None:
        return out
    j = judge()
    reference = None
    target = None
    if getattr(detection, "landmarks68", None) is not None:
        target = transform_points(crop.matrix, np.asarray(detection.landmarks68, np.float64))
    for model in models:
        face = result.outputs.get(model)
        if face is None or crop_protocol(result, model) != "coarse128":
            continue
        face = face if face.shape[0] == crop.size else _resize(face, crop.size)
        row: dict[str, float] = {}
        try:
            if reference is None:
                reference = j.embedding(crop.image)
            # dlib's embedding is built for Euclidean distance (same person below 0.6); cosine barely moves
            row["identity"] = float(np.linalg.norm(np.asarray(j.embedding(face)) - np.asarray(reference)))
            if target is not None:
                row["landmarks"] = m.landmark_nrmse(j.landmarks(face), target)
        except Exception:  # noqa: BLE001 - a face dlib cannot read gets no badge, not an error
            pass
        out[model] = row
    return out


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    from engine.models.registry import pil_resize

    return pil_resize(image, size)


def compare_face(index: int, metric_models: Sequence[str], request: RestoreRequest, settings: RestoreSettings, *,
                 progress: Progress | None = None, cancel: Cancel | None = None) -> RestoreOutcome:
    """run_restore for the Compare tab's face, then the fidelity metrics of each pane's output."""
    outcome = run_restore(request, settings, progress=progress, cancel=cancel)
    result = outcome.results.get(index, request.existing[index])
    if progress:
        progress(0, 1, "measuring identity and landmarks")
    outcome.metrics = {index: face_metrics(result, request.detections[index], metric_models)}
    return outcome
