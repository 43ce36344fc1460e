"""Build a training dataset from any folder of photos: detect, crop to the model protocol, 68 landmarks, parsing maps,
quality filters, train/val split, manifest. Re-running reuses the cached detections and rewrites only what changed.

Output (``DATASET_DIR``), readable by ``train --data DATASET_DIR`` (val/ is then the default validation set):

    manifest.json             parameters, counts (found, kept, dropped per reason), and one entry per kept face
    train/<name>.png          crops (size x size, PNG) + train/landmarks68.csv (file,x0,y0,...,x67,y67 crop pixels)
    train/parsing/<name>.png  11-class label maps (trainer.targets.PARSING_CLASSES indices) drawn from the landmarks
    val/HR/<name>.png         held-out crops, val/landmarks68.csv, val/parsing/, and val/LR_x8/ (PIL bicubic, the
                              celeba_val128 layout) when the size is a multiple of 8 below 512
    .cache/detections.json    per source photo (keyed by path, size and mtime): the detected faces

Protocols: ``coarse`` (the x8 models' crop of the data README: square 1.25 x the 68-landmark box, no rotation) for
every size except 512, which uses ``ffhq`` (the FFHQ 5-point template, SPARNetHD). ``--aligned`` takes the images as
already-cropped faces (resized to the size); their landmarks come from ``--landmarks CSV`` or dlib's predictor.

Filters (each reported with its count): faces whose crop region in the photo is smaller than ``min_face`` pixels
(they would be upscaled, not real high-resolution faces), or larger than ``max_face`` when given (to collect real
low-resolution faces, e.g. ``--size 16 --max-face 32 --blur-threshold 0`` for the SelFSR degrader); blurry faces
(variance of the Laplacian of the crop
area-resized to 128 px below ``blur_threshold``; bicubic x4 upscales score ~20, sharp faces 100-500); duplicates
(64-bit DCT perceptual hash within ``dup_distance`` bits of an earlier kept face).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from engine.io import IMAGE_SUFFIXES
from engine.util import atomic_write

from .data import LANDMARK_CSV, DataError, read_landmark_csv
from .targets import parsing_label_map

MANIFEST_VERSION = 1


@dataclass
class PrepareOptions:
    size: int = 128
    protocol: str | None = None  # None: "ffhq" at 512, else "coarse"
    aligned: bool = False
    landmarks: str | None = None  # CSV (file,x0,...,y67) in the source images' pixel coordinates
    min_face: int | None = None  # None: size // 2
    max_face: int | None = None  # drop larger faces (collecting real low-resolution faces, e.g. --size 16)
    blur_threshold: float = 25.0
    dup_distance: int = 4
    val_fraction: float = 0.1
    largest_only: bool = False
    detector: str = "dlib"
    detector_model: str | None = None
    min_score: float | None = None

    def resolved(self) -> "PrepareOptions":
        if self.size < 8:
            raise DataError(f"--size must be at least 8, got {self.size}")
        protocol = self.protocol or ("ffhq" if self.size == 512 else "coarse")
        if protocol not in ("coarse", "ffhq"):
            raise DataError(f"unknown protocol {protocol!r} (coarse, ffhq)")
        if not 0.0 <= self.val_fraction < 1.0:
            raise DataError("--val-fraction must be in [0, 1)")
        return PrepareOptions(**{**asdict(self), "protocol": protocol,
                                 "min_face": self.min_face if self.min_face is not None else self.size // 2})


@dataclass
class Face:
    source: str  # path relative to the photo folder
    index: int  # face index in the photo (left to right)
    landmarks68: np.ndarray  # in photo pixels
    landmarks5: np.ndarray
    score: float
    estimated: bool = False  # 68 points estimated from 5 (detector without a 68-point model)


@dataclass
class Counts:
    images: int = 0
    unreadable: int = 0
    no_face: int = 0
    faces: int = 0
    too_small: int = 0
    too_large: int = 0
    blurry: int = 0
    duplicate: int = 0
    kept: int = 0
    train: int = 0
    val: int = 0
    reused_detections: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def drop(self, reason: str, name: str) -> None:
        setattr(self, reason, getattr(self, reason) + 1)
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 5:
            self.examples[reason].append(name)


# ----- image quality ------------------------------------------------------------------------------------------------
def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the face at 128 px (resolution-independent blur score)."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if gray.shape[0] != 128:
        interp = cv2.INTER_AREA if gray.shape[0] > 128 else cv2.INTER_CUBIC
        gray = cv2.resize(gray, (128, 128), interpolation=interp)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def phash(image: np.ndarray) -> int:
    """64-bit DCT perceptual hash: sign of the 8x8 low-frequency DCT block against its median."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA)
    block = cv2.dct(small)[:8, :8].ravel()
    bits = block > np.median(block[1:])
    return int("".join("1" if b else "0" for b in bits), 2)


class DuplicateIndex:
    """Near-duplicate lookup by Hamming distance <= d: with d + 1 bands, a match shares one band exactly."""

    def __init__(self, distance: int):
        self.distance = distance
        self.bands = distance + 1
        self.width = 64 // self.bands
        self.tables: list[dict[int, list[int]]] = [{} for _ in range(self.bands)]

    def _keys(self, h: int) -> list[int]:
        mask = (1 << self.width) - 1
        return [(h >> (i * self.width)) & mask for i in range(self.bands)]

    def find(self, h: int) -> int | None:
        for table, key in zip(self.tables, self._keys(h)):
            for other in table.get(key, ()):
                if bin(h ^ other).count("1") <= self.distance:
                    return other
        return None

    def add(self, h: int) -> None:
        for table, key in zip(self.tables, self._keys(h)):
            table.setdefault(key, []).append(h)


# ----- detection (cached) ------------------------------------------------------------------------------------------
def list_photos(folder: Path, exclude: Path | None = None) -> list[Path]:
    out = []
    for p in sorted(folder.rglob("*")):
        if exclude is not None and (p == exclude or exclude in p.parents):
            continue
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            out.append(p)
    return out


def read_photo(path: Path) -> np.ndarray:
    from engine.io import read_image

    return read_image(path).rgb8()


def detect(rgb: np.ndarray, opts: PrepareOptions) -> list[dict[str, Any]]:
    from engine.faces.align import estimate_landmarks68
    from engine.faces.detect import detect_faces

    found = detect_faces(rgb, opts.detector, opts.detector_model, min_score=opts.min_score)
    faces = []
    for det in found:
        estimated = det.landmarks68 is None
        l68 = estimate_landmarks68(det.landmarks5) if estimated else det.landmarks68
        faces.append({"l68": np.asarray(l68, float).round(2).tolist(),
                      "l5": np.asarray(det.landmarks5, float).round(2).tolist(),
                      "score": round(float(det.score), 4), "estimated": bool(estimated)})
    return faces


def aligned_landmarks(rgb: np.ndarray, opts: PrepareOptions) -> list[dict[str, Any]]:
    """An already-cropped face: dlib's 68 points on the detected face, else on a box covering the image centre."""
    from engine.faces.detect import five_from_68, get_detector

    faces = detect(rgb, opts) if opts.detector == "dlib" else []
    if faces:
        return [max(faces, key=lambda f: np.ptp(np.asarray(f["l68"])[:, 0]))]
    detector = get_detector("dlib")
    h, w = rgb.shape[:2]
    import dlib

    rect = dlib.rectangle(int(w * 0.15), int(h * 0.15), int(w * 0.85), int(h * 0.85))
    with detector.lock:
        shape = detector._predictor(rgb, rect)  # noqa: SLF001 (the shared, cached predictor)
    l68 = np.array([[p.x, p.y] for p in shape.parts()], float)
    return [{"l68": l68.tolist(), "l5": five_from_68(l68).astype(float).tolist(), "score": 0.0, "estimated": False,
             "fallback_box": True}]


class DetectionCache:
    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, Any] = {}
        if path.is_file():
            try:
                self.data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                self.data = {}
        self.dirty = 0

    @staticmethod
    def key(photo: Path, opts: PrepareOptions) -> str:
        st = photo.stat()
        mode = "aligned" if opts.aligned else f"{opts.detector}:{opts.detector_model}:{opts.min_score}"
        return f"{st.st_size}:{int(st.st_mtime)}:{mode}"

    def get(self, rel: str, key: str) -> list[dict[str, Any]] | None:
        entry = self.data.get(rel)
        return entry["faces"] if entry and entry.get("key") == key else None

    def put(self, rel: str, key: str, faces: list[dict[str, Any]]) -> None:
        self.data[rel] = {"key": key, "faces": faces}
        self.dirty += 1
        if self.dirty >= 50:
            self.save()

    def save(self) -> None:
        if self.dirty:
            atomic_write(self.path, json.dumps(self.data).encode())
            self.dirty = 0


# ----- cropping ---------------------------------------------------------------------------------------------------
def crop(rgb: np.ndarray, face: dict[str, Any], opts: PrepareOptions) -> tuple[np.ndarray, np.ndarray, float]:
    """(crop, landmarks in crop pixels, side of the crop region in photo pixels)."""
    from engine.faces.align import crop_coarse, crop_ffhq, transform_points

    l68 = np.asarray(face["l68"], np.float64)
    l5 = np.asarray(face["l5"], np.float32)
    if opts.aligned:  # the image already is the crop: only resize it
        h, w = rgb.shape[:2]
        interp = cv2.INTER_AREA if max(h, w) > opts.size else cv2.INTER_CUBIC
        image = rgb if (h, w) == (opts.size, opts.size) else cv2.resize(rgb, (opts.size, opts.size),
                                                                           interpolation=interp)
        kx, ky = opts.size / w, opts.size / h
        matrix = np.array([[kx, 0.0, 0.5 * kx - 0.5], [0.0, ky, 0.5 * ky - 0.5]])
        return np.ascontiguousarray(image), transform_points(matrix, l68), float(max(h, w))
    if opts.protocol == "ffhq":
        aligned = crop_ffhq(rgb, l5, opts.size)
    else:
        aligned = crop_coarse(rgb, l5, l68.astype(np.float32), opts.size)
    return aligned.image, transform_points(aligned.matrix, l68), aligned.source_px


def face_name(rel: str, index: int) -> str:
    stem = os.path.splitext(rel)[0].replace("/", "__").replace("\\", "__").replace(" ", "_")
    return f"{stem}_{index:02d}.png"


def is_val(rel: str, fraction: float) -> bool:
    """Split by source photo (all faces of one photo on one side), stable across runs and machines."""
    digest = int(hashlib.sha1(rel.encode()).hexdigest()[:8], 16)
    return (digest % 10_000) < fraction * 10_000


# ----- the run ----------------------------------------------------------------------------------------------------
def prepare(source: str | Path, out: str | Path, opts: PrepareOptions,
            progress: Callable[[int, int], None] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the whole preparation; returns the manifest (also written to out/manifest.json)."""
    source, out = Path(source).expanduser(), Path(out).expanduser()
    opts = opts.resolved()
    if not source.is_dir():
        raise DataError(f"{source}: not a folder of photos")
    photos = list_photos(source, exclude=out)
    if not photos:
        raise DataError(f"{source}: no images found ({', '.join(IMAGE_SUFFIXES)})")
    given = load_given_landmarks(opts.landmarks, source)
    out.mkdir(parents=True, exist_ok=True)
    cache = DetectionCache(out / ".cache" / "detections.json")
    counts = Counts(images=len(photos))
    dups = DuplicateIndex(opts.dup_distance)
    kept: list[dict[str, Any]] = []
    t0 = time.monotonic()
    for i, photo in enumerate(photos):
        rel = photo.relative_to(source).as_posix()
        if progress:
            progress(i, len(photos))
        try:
            rgb = read_photo(photo)
        except Exception:  # noqa: BLE001  (engine.io raises ImageReadError; anything else is as unusable)
            counts.drop("unreadable", rel)
            continue
        faces = faces_of(rel, photo, rgb, opts, cache, given, counts)
        if not faces:
            counts.drop("no_face", rel)
            continue
        if opts.largest_only:
            faces = [max(faces, key=lambda f: np.ptp(np.asarray(f["l68"])[:, 0]))]
        for index, face in enumerate(faces):
            counts.faces += 1
            name = face_name(rel, index)
            image, marks, source_px = crop(rgb, face, opts)
            marks = np.round(marks, 2)  # exactly what the CSV holds, so maps drawn from either agree
            if source_px < opts.min_face:
                counts.drop("too_small", name)
                continue
            if opts.max_face and source_px > opts.max_face:
                counts.drop("too_large", name)
                continue
            if sharpness(image) < opts.blur_threshold:
                counts.drop("blurry", name)
                continue
            h = phash(image)
            if dups.find(h) is not None:
                counts.drop("duplicate", name)
                continue
            dups.add(h)
            split = "val" if is_val(rel, opts.val_fraction) else "train"
            write_face(out, split, name, image, marks, opts.size)
            kept.append({"file": name, "split": split, "source": rel, "face": index, "landmarks": marks,
                         "source_px": round(source_px, 1), "score": face["score"],
                         "landmarks_estimated": bool(face.get("estimated"))})
    if progress:
        progress(len(photos), len(photos))
    cache.save()
    counts.kept = len(kept)
    counts.train = sum(1 for k in kept if k["split"] == "train")
    counts.val = counts.kept - counts.train
    write_tables(out, kept, opts.size)
    remove_stale(out, kept)
    manifest = {"version": MANIFEST_VERSION, "source": str(source), "options": asdict(opts),
                "counts": {k: v for k, v in asdict(counts).items()}, "seconds": round(time.monotonic() - t0, 1),
                "layout": {"train": "train/ + train/landmarks68.csv", "val": "val/HR, val/LR_x8, val/landmarks68.csv",
                           "parsing": "*/parsing/<file> label maps, classes of trainer.targets.PARSING_CLASSES"},
                "faces": [{k: v for k, v in e.items() if k != "landmarks"} for e in kept]}
    atomic_write(out / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode())
    return manifest


def faces_of(rel: str, photo: Path, rgb: np.ndarray, opts: PrepareOptions, cache: DetectionCache,
             given: dict[str, np.ndarray], counts: Counts) -> list[dict[str, Any]]:
    if rel in given or photo.name in given:
        from engine.faces.detect import five_from_68

        l68 = given.get(rel, given.get(photo.name))
        return [{"l68": l68.tolist(), "l5": five_from_68(l68).astype(float).tolist(), "score": 1.0,
                 "estimated": False}]
    key = cache.key(photo, opts)
    faces = cache.get(rel, key)
    if faces is not None:
        counts.reused_detections += 1
        return faces
    faces = aligned_landmarks(rgb, opts) if opts.aligned else detect(rgb, opts)
    cache.put(rel, key, faces)
    return faces


def load_given_landmarks(csv_path: str | None, source: Path) -> dict[str, np.ndarray]:
    if not csv_path:
        return {}
    records = read_landmark_csv(Path(csv_path).expanduser(), source)
    out = {}
    for r in records:
        rel = Path(r.path).relative_to(source).as_posix() if Path(r.path).is_relative_to(source) else r.path
        out[rel] = r.landmarks
    return out


def write_face(out: Path, split: str, name: str, image: np.ndarray, marks: np.ndarray, size: int) -> None:
    """Crop (+ parsing label map, + x8 LR for val) as PNG, skipped when an identical file is already there."""
    folder = out / "train" if split == "train" else out / "val" / "HR"
    _write_png(folder / name, image)
    label = parsing_label_map(marks, size, supersample=1) if size <= 1024 else None
    if label is not None:
        _write_png((out / split / "parsing") / name, label)
    if split == "val" and size % 8 == 0 and size < 512:
        from engine.degrade import bicubic_x8

        _write_png(out / "val" / "LR_x8" / name, bicubic_x8(image))


def _write_png(path: Path, image: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", image[..., ::-1] if image.ndim == 3 else image)
    if not ok:
        raise OSError(f"cannot encode {path}")
    data = buf.tobytes()
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return  # re-run: unchanged
    atomic_write(path, data)


def write_tables(out: Path, kept: list[dict[str, Any]], size: int) -> None:
    for split, csv_path in (("train", out / "train" / LANDMARK_CSV), ("val", out / "val" / LANDMARK_CSV)):
        rows = [[k["file"], *np.round(k["landmarks"], 2).ravel().tolist()] for k in kept if k["split"] == split]
        lines = ["file," + ",".join(f"{a}{i}" for i in range(68) for a in ("x", "y"))]
        lines += [",".join(str(v) for v in row) for row in rows]
        atomic_write(csv_path, ("\n".join(lines) + "\n").encode())
    (out / "val" / "HR").mkdir(parents=True, exist_ok=True)


def remove_stale(out: Path, kept: list[dict[str, Any]]) -> None:
    """Faces of an earlier run that this run dropped or moved (other size, filters, split): removed, so the folders
    hold exactly what the CSVs list."""
    names = {split: {k["file"] for k in kept if k["split"] == split} for split in ("train", "val")}
    for split, folders in (("train", ("train", "train/parsing")), ("val", ("val/HR", "val/LR_x8", "val/parsing"))):
        for folder in folders:
            path = out / folder
            if not path.is_dir():
                continue
            for p in path.iterdir():
                if p.is_file() and p.suffix == ".png" and p.name not in names[split]:
                    p.unlink()


def summary(manifest: dict[str, Any]) -> str:
    c = manifest["counts"]
    lines = [f"{c['images']} images, {c['faces']} faces detected, {c['kept']} kept "
             f"({c['train']} train, {c['val']} val); reused {c['reused_detections']} cached detections",
             f"dropped: unreadable {c['unreadable']}, no face {c['no_face']}, too small {c['too_small']}, "
             f"too large {c['too_large']}, "
             f"blurry {c['blurry']}, duplicate {c['duplicate']}"]
    return "\n".join(lines)
