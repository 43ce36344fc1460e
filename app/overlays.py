"""Turn a face's by-product maps into things to draw over the photo (plain numpy, no Qt, no model code).

The engine returns maps in the coordinates of the model's aligned crop (``FaceResult.crops[protocol]``); drawing them
over the photo only needs the crop's inverse matrix, which the views apply as a transform. These helpers pick the maps
out of ``FaceResult.maps`` whatever their exact layout (one combined "priors" stack or separate "heatmaps"/"parsing"),
and colour them for display. The crop of a model's maps is that of the variant behind its output for this face
(``FaceResult.variant_of``: auto picks per face), and the no-harm check's map (``FaceResult.checks[label].map``) is
drawn the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .backend import crop_protocol

N_LANDMARKS = 68
# FSRNet's 11 Helen classes: background, skin, brows (L, R), eyes (L, R), nose, upper lip, inner mouth, lower lip, hair.
PARSING_NAMES = ("background", "skin", "brow_left", "brow_right", "eye_left", "eye_right", "nose",
                 "upper_lip", "inner_mouth", "lower_lip", "hair")
PARSING_COLOURS = np.array([
    (0, 0, 0), (255, 204, 153), (153, 102, 51), (102, 51, 0), (0, 153, 255), (0, 102, 204), (255, 153, 0),
    (255, 51, 102), (153, 0, 51), (204, 0, 102), (102, 204, 0),
], np.uint8)
# The consistency map is the mean absolute difference (grey levels) between the restored face shrunk to the photo's
# resolution and the photo; drawn on one fixed scale for every face so a contradicting face stands out: transparent
# at 0, fully coloured at this many grey levels (the engine's 24 dB threshold is an RMS difference of ~16).
CONSISTENCY_FULL_SCALE = 32.0


@dataclass
class FaceOverlay:
    """What can be drawn for one face, all in crop pixel coordinates of a crop of side `crop_size`."""

    crop_to_photo: np.ndarray  # 2 x 3 affine: crop pixel -> photo pixel
    crop_size: int
    landmarks: np.ndarray | None = None  # 68 x 2, crop pixels
    parsing_rgba: np.ndarray | None = None  # h x w x 4 uint8 (any h = w; scaled to crop_size when drawn)
    attention_rgba: np.ndarray | None = None  # h x w x 4 uint8
    consistency_rgba: np.ndarray | None = None  # h x w x 4 uint8, the no-harm check's disagreement map


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a crop's 2x3 photo -> crop matrix (engine.faces.align.invert)."""
    from engine.faces.align import invert

    return np.asarray(invert(matrix), np.float64)


def _array(x: Any) -> np.ndarray | None:
    if x is None:
        return None
    if hasattr(x, "detach"):  # a torch tensor slipped through
        x = x.detach().float().cpu().numpy()
    a = np.asarray(x, np.float32)
    while a.ndim > 3 and a.shape[0] == 1:  # drop batch dims
        a = a[0]
    return a


def prior_maps(maps: Mapping[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(landmark heatmaps L x h x w, parsing maps P x h x w) from an FSRNet maps dict, or Nones."""
    heat, parsing = _array(maps.get("heatmaps")), _array(maps.get("parsing"))
    priors = _array(maps.get("priors"))
    if priors is not None and priors.ndim == 3:
        if heat is None and priors.shape[0] >= N_LANDMARKS:
            heat = priors[:N_LANDMARKS]
        if parsing is None and priors.shape[0] > N_LANDMARKS:
            parsing = priors[N_LANDMARKS:]
    return heat, parsing


def landmarks_from(maps: Mapping[str, Any], crop_size: int) -> np.ndarray | None:
    """68 x 2 crop-pixel landmarks: the engine's own "landmarks" entry, else the peaks of the heatmaps."""
    pts = _array(maps.get("landmarks"))
    if pts is not None and pts.shape[-2:] == (N_LANDMARKS, 2):
        return pts.reshape(N_LANDMARKS, 2)
    heat, _ = prior_maps(maps)
    if heat is None:
        return None
    import torch

    from engine.models.fsrnet import heatmap_peaks

    peaks = heatmap_peaks(torch.from_numpy(np.ascontiguousarray(heat))[None], crop_size)[0]
    return peaks.numpy().astype(np.float32)


def colour_parsing(parsing: np.ndarray, alpha: int = 140) -> np.ndarray:
    """P x h x w soft class maps -> h x w x 4 uint8: each pixel the colour of its arg-max class; background clear."""
    labels = np.argmax(parsing, axis=0)
    n = min(len(PARSING_COLOURS), parsing.shape[0])
    rgb = PARSING_COLOURS[np.clip(labels, 0, n - 1)]
    a = np.where(labels == 0, 0, alpha).astype(np.uint8)
    return np.dstack([rgb, a])


def colour_heat(values: np.ndarray, alpha_max: int = 170) -> np.ndarray:
    """h x w values -> h x w x 4 uint8 heat map (normalised per face; transparency follows the value)."""
    import cv2

    v = np.asarray(values, np.float32)
    if v.ndim == 3:
        v = v.mean(0)
    lo, hi = float(v.min()), float(v.max())
    norm = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    u8 = np.round(norm * 255).astype(np.uint8)
    rgb = cv2.applyColorMap(u8, cv2.COLORMAP_JET)[:, :, ::-1]
    a = np.round(40 + norm * (alpha_max - 40)).astype(np.uint8)
    return np.ascontiguousarray(np.dstack([rgb, a]))


def prior_key(maps: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The first model in a FaceResult's maps that carries landmark priors (FSRNet/FSRGAN and their fine-tunes)."""
    return next((m for m, d in maps.items() if any(k in d for k in ("landmarks", "priors", "heatmaps"))), None)


def attention_key(maps: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The first model in a FaceResult's maps that carries an attention map (SPARNet family)."""
    return next((m for m, d in maps.items() if "attention" in d), None)


def colour_consistency(values: np.ndarray, full_scale: float = CONSISTENCY_FULL_SCALE,
                       alpha_max: int = 200) -> np.ndarray:
    """h x w disagreement (grey levels) -> h x w x 4 uint8 on a fixed scale: clear where the restoration agrees with
    the photo, red where it contradicts it."""
    import cv2

    v = np.asarray(values, np.float32)
    if v.ndim == 3:
        v = v.mean(-1) if v.shape[-1] in (1, 3) else v.mean(0)
    norm = np.clip(v / float(full_scale), 0.0, 1.0)
    u8 = np.round(norm * 255).astype(np.uint8)
    rgb = cv2.applyColorMap(u8, cv2.COLORMAP_JET)[:, :, ::-1]
    a = np.round(np.sqrt(norm) * alpha_max).astype(np.uint8)
    return np.ascontiguousarray(np.dstack([rgb, a]))


def face_overlay(result: Any, crop_of: Callable[[str], str | None] | None = None,
                 consistency: str | None = None) -> list[FaceOverlay] | None:
    """The drawable maps of one FaceResult, one FaceOverlay per crop (None when nothing can be anchored).

    crop_of(model) names the crop protocol a model's maps live in (default: :func:`crop_protocol`, per face);
    landmarks and parsing come from the first prior-carrying model, the heat map from the first attention-carrying
    one, and with `consistency` (a model label) the no-harm check's map of that model's output, each in its own crop.
    """
    if result is None or not result.crops:
        return None
    if crop_of is None:
        def crop_of(model: str) -> str | None:
            return crop_protocol(result, model)
    prior, att = prior_key(result.maps), attention_key(result.maps)
    check = getattr(result, "checks", {}).get(consistency) if consistency else None
    overlays: list[FaceOverlay] = []
    for model in dict.fromkeys(m for m in (prior, att, consistency if check is not None else None) if m):
        protocol = crop_of(model)
        crop = result.crops.get(protocol) if protocol else None
        if crop is None:
            continue
        ov = FaceOverlay(crop_to_photo=invert_affine(crop.matrix), crop_size=int(crop.image.shape[0]))
        maps = result.maps.get(model, {})
        if model == prior:
            ov.landmarks = landmarks_from(maps, ov.crop_size)
            _, parsing = prior_maps(maps)
            if parsing is not None and parsing.ndim == 3:
                ov.parsing_rgba = colour_parsing(parsing)
        if model == att:
            a = _array(maps.get("attention"))
            if a is not None:
                ov.attention_rgba = colour_heat(a)
        if model == consistency and check is not None:
            ov.consistency_rgba = colour_consistency(check.map)
        overlays.append(ov)
    return overlays or None
