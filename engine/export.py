"""Write a restoration's by-products: face crops, restored faces, comparison strips and prior maps.

Shared by ``fsr-studio enhance`` (--save-faces, --save-priors) and the GUI's Export, so both produce the same files:
- ``cropped_faces/<stem>_<idx:02d>.png``, ``restored_faces/<stem>_<idx:02d>_<model>.png``,
  ``cmp/<stem>_<idx:02d>.png`` (the crop followed by each model's face), GFPGAN's layout;
- ``priors/<stem>_<idx:02d>_<model>/``: one PNG per map channel (landmark heatmaps, parsing maps, attention, ...),
  ``composite.png`` (parsing colours + landmark peaks over the restored face), ``maps.npz`` (every map, float32)
  and ``landmarks.json`` (detected and model-predicted landmarks in original-photo pixels).
All writes are atomic.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .util import atomic_write

# 11 FSRNet parsing classes (and a background) get distinct colours in the composite.
PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
                    [0, 128, 128], [220, 190, 255], [170, 110, 40], [255, 250, 200], [128, 0, 0]], np.uint8)
MAX_CHANNEL_PNGS = 128  # wide feature maps (SelFSR conditions) go to the .npz only beyond this


def safe_name(text: str) -> str:
    """A label usable in file names ("fsrnet:my run" -> "fsrnet-my-run")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def write_png(path: Path, image: np.ndarray, inputs: Iterable[Path] = ()) -> Path:
    from .io import check_not_input

    check_not_input(path, inputs)
    return atomic_write(path, png_bytes(image))


def map_to_uint8(channel: np.ndarray) -> np.ndarray:
    """One map channel -> 8-bit grey: negative values clipped, scaled by the channel's maximum."""
    c = np.clip(np.asarray(channel, np.float32), 0, None)
    peak = float(c.max())
    return np.zeros(c.shape, np.uint8) if peak <= 0 else np.round(c / peak * 255).astype(np.uint8)


def prior_groups(variant: Any, maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Name each map group for export: FSRNet priors split into landmark heatmaps and parsing maps."""
    groups: dict[str, np.ndarray] = {}
    for key, value in maps.items():
        if key == "landmarks" or np.asarray(value).ndim < 2:
            continue
        arr = np.asarray(value, np.float32)
        arr = arr[None] if arr.ndim == 2 else arr
        if key == "priors" and getattr(variant, "family", "") == "fsrnet":
            from .models.fsrnet import split_priors

            groups["landmark"], groups["parsing"] = split_priors(arr, variant.config)
        elif key == "coarse":  # FSRNet's coarse image is an image, not a map
            continue
        else:
            groups[key] = arr
    return groups


def composite(face: np.ndarray, groups: dict[str, np.ndarray]) -> np.ndarray:
    """Colour picture of the priors over the restored face: parsing classes coloured, landmark peaks as yellow dots,
    other maps (attention, conditions) as a yellow heat overlay."""
    import cv2

    n = face.shape[0]
    out = face.astype(np.float32)
    if "parsing" in groups and len(groups["parsing"]):
        parsing = groups["parsing"]
        labels = parsing.argmax(0) + 1
        labels[parsing.max(0) < 0.1 * max(float(parsing.max()), 1e-6)] = 0
        colours = PALETTE[labels % len(PALETTE)].astype(np.float32)
        colours = cv2.resize(colours, (n, n), interpolation=cv2.INTER_NEAREST)
        has = cv2.resize((labels > 0).astype(np.float32), (n, n), interpolation=cv2.INTER_NEAREST)[..., None]
        out = out * (1 - 0.45 * has) + colours * 0.45 * has
    for key, maps in groups.items():
        if key in ("parsing", "landmark") or not len(maps):
            continue
        heat = np.asarray(maps, np.float32).mean(0)  # attention / condition maps: one overlay per group
        heat = (heat - heat.min()) / max(float(np.ptp(heat)), 1e-6)
        heat = cv2.resize(heat, (n, n), interpolation=cv2.INTER_LINEAR)[..., None] * 0.5
        out = out * (1 - heat) + np.array([255, 230, 0], np.float32) * heat
    if "landmark" in groups and len(groups["landmark"]):
        marks = groups["landmark"]
        h, w = marks.shape[-2:]
        idx = marks.reshape(len(marks), -1).argmax(1)
        radius = max(1, n // 96)
        for y, x in zip(idx // w, idx % w):
            centre = (int(round((x + 0.5) * n / w - 0.5)), int(round((y + 0.5) * n / h - 0.5)))
            cv2.circle(out, centre, radius, (255, 230, 0), -1, lineType=cv2.LINE_AA)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def save_faces(folder: Path, stem: str, faces: Iterable[Any], models: list[str],
               inputs: Iterable[Path] = ()) -> list[Path]:
    """cropped_faces/, restored_faces/ and cmp/ strips for every restored face; returns the files written.

    A strip shows each output after the crop it was made from: when a model works on another crop protocol than the
    one before it (the HD restorer's FFHQ crop after a 128 coarse crop), that crop is shown first, so every before and
    after pair is framed the same way."""
    from .degrade import pil_resize
    from .restore import variant_for

    written = []
    inputs = list(inputs)
    for face in faces:
        if face.skipped:
            continue
        tag = f"{stem}_{face.index:02d}"
        crop = next(iter(face.crops.values()))
        written.append(write_png(folder / "cropped_faces" / f"{tag}.png", crop.image, inputs))
        strip, shown = [crop.image], crop.protocol
        for label in models:
            out = face.outputs.get(label)
            if out is None:
                continue
            written.append(write_png(folder / "restored_faces" / f"{tag}_{safe_name(label)}.png", out, inputs))
            protocol = variant_for(face.variant_of(label)).crop
            if protocol != shown and protocol in face.crops:
                strip.append(face.crops[protocol].image)
                shown = protocol
            strip.append(out)
        side = max(s.shape[0] for s in strip)
        strip = [s if s.shape[0] == side else pil_resize(s, side) for s in strip]
        written.append(write_png(folder / "cmp" / f"{tag}.png", np.hstack(strip), inputs))
    return written


def face_landmarks_record(face: Any, label: str, variant: Any, source: str | None) -> dict[str, Any]:
    """JSON-ready landmarks of one face in original-photo pixels (detected and, for FSRNet, predicted)."""
    from .restore import crop_to_photo

    crop = face.crops.get(variant.crop)
    record: dict[str, Any] = {
        "photo": source, "face": face.index, "model": label, "coordinates": "input photo pixels (x right, y down)",
        "box": [round(v, 2) for v in face.box], "score": round(face.score, 4),
        "landmarks5": np.round(face.landmarks5, 2).tolist(),
        "landmarks68": None if face.landmarks68 is None else np.round(face.landmarks68, 2).tolist(),
    }
    predicted = face.maps.get(label, {}).get("landmarks")
    if predicted is not None and crop is not None:
        record["predicted_landmarks68"] = np.round(crop_to_photo(predicted, crop), 2).tolist()
        record["predicted_landmarks68_crop"] = np.round(predicted, 2).tolist()
    if crop is not None:
        record["crop"] = {"protocol": crop.protocol, "size": crop.size, "matrix_photo_to_crop": crop.matrix.tolist()}
    return record


def save_priors(folder: Path, stem: str, faces: Iterable[Any], label: str, variant: Any, source: str | None = None,
                inputs: Iterable[Path] = ()) -> list[Path]:
    """priors/<stem>_<idx>_<model>/: per-channel PNGs, composite.png, maps.npz and landmarks.json."""
    written = []
    inputs = list(inputs)
    for face in faces:
        maps = face.maps.get(label)
        if not maps or label not in face.outputs:
            continue
        target = folder / "priors" / f"{stem}_{face.index:02d}_{safe_name(label)}"
        groups = prior_groups(variant, maps)
        for name, arr in groups.items():
            for c in range(min(len(arr), MAX_CHANNEL_PNGS)):
                written.append(write_png(target / f"{name}_{c:02d}.png", map_to_uint8(arr[c]), inputs))
        written.append(write_png(target / "composite.png", composite(face.outputs[label], groups), inputs))
        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: np.asarray(v, np.float32) for k, v in maps.items()})
        written.append(atomic_write(target / "maps.npz", buf.getvalue()))
        record = face_landmarks_record(face, label, variant, source)
        written.append(atomic_write(target / "landmarks.json", (json.dumps(record, indent=1) + "\n").encode()))
    return written
