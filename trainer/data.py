"""Training and validation data: face folders read in place, deterministic per-step batches, per-sample pipelines.

Accepted training sources (`--data`):
- an aligned folder with ``landmarks68.csv`` (``file,x0,y0,...,x67,y67`` in pixel coordinates of the image; ``file``
  relative to the folder or absolute), e.g. ../shared/data/faces128, read in place (nothing is copied);
- a CSV file in that format (a manifest referencing images anywhere by path);
- a dataset made by ``prepare`` (``manifest.json`` with ``train/`` and ``val/``);
- a plain folder of face images (no landmarks: only for families without prior supervision).

Batches are a pure function of (seed, step): the permutation of each epoch is drawn from a generator seeded by
(seed, epoch) and every sample's augmentation/degradation RNG by (seed, step, slot). Nothing about the data has to be
saved in a checkpoint for a resumed run to see exactly the batches an uninterrupted run would, with any number of
loader workers or processes (DDP ranks take disjoint slots of the same global batch).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import cv2
import numpy as np
import torch
from PIL import Image

from engine.degrade import degrade, pil_resize
from engine.io import IMAGE_SUFFIXES, ImageReadError, read_image, to_rgb8

from . import targets as T

LANDMARK_CSV = "landmarks68.csv"


class DataError(ValueError):
    """A dataset that cannot be trained on (missing, empty, wrong format, too small); raised before training."""


@dataclass(frozen=True)
class FaceRecord:
    path: str
    landmarks: np.ndarray | None  # 68 x 2 in the image's own pixel coordinates


# ----- reading sources -------------------------------------------------------------------------------------------
def read_landmark_csv(csv_path: str | Path, root: str | Path | None = None) -> list[FaceRecord]:
    """Rows ``file,x0,y0,...,x67,y67``; a header row (first cell 'file') is skipped. Paths resolve against `root`."""
    csv_path = Path(csv_path)
    root = Path(root) if root is not None else csv_path.parent
    records: list[FaceRecord] = []
    with open(csv_path, newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.reader(f), 1):
            if not row or (line_no == 1 and row[0].strip().lower() == "file"):
                continue
            if len(row) != 1 + 136:
                raise DataError(f"{csv_path}:{line_no}: expected file + 136 coordinates, got {len(row) - 1} values")
            try:
                pts = np.asarray(row[1:], np.float64).reshape(68, 2)
            except ValueError as exc:
                raise DataError(f"{csv_path}:{line_no}: non-numeric landmark ({exc})") from None
            records.append(FaceRecord(str(root / row[0]), pts))
    return records


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def resolve_train_source(data: str | Path) -> tuple[list[FaceRecord], Path | None]:
    """Records of a training source and the val folder it brings along (a prepared dataset's ``val/``), if any."""
    data = Path(data).expanduser()
    if not data.exists():
        raise DataError(f"{data}: no such file or folder")
    if data.is_file():
        if data.suffix.lower() != ".csv":
            raise DataError(f"{data}: expected a folder or a landmark CSV manifest")
        return read_landmark_csv(data, data.parent), None
    if (data / "manifest.json").is_file() and (data / "train").is_dir():
        val = data / "val"
        records, _ = resolve_train_source(data / "train")
        has_val = (val / "HR").is_dir() and any((val / "HR").iterdir())
        return records, (val if has_val else None)  # a tiny dataset may hold out nothing: train without validation
    if (data / LANDMARK_CSV).is_file():
        return read_landmark_csv(data / LANDMARK_CSV, data), None
    if (data / "HR").is_dir():  # a val-style folder used for training
        records, _ = resolve_train_source(data / "HR")
        return records, None
    return [FaceRecord(str(p), None) for p in list_images(data)], None


def check_records(records: Sequence[FaceRecord], batch: int, need_landmarks: bool, source: str) -> None:
    """Fail before training on an empty/too-small set, missing files, non-images or missing landmarks."""
    if not records:
        raise DataError(f"{source}: no face images found (expected images or a {LANDMARK_CSV})")
    if len(records) < batch:
        raise DataError(f"{source}: {len(records)} faces, fewer than one batch ({batch}); lower --batch or add faces")
    if need_landmarks and any(r.landmarks is None for r in records):
        raise DataError(f"{source}: this model needs 68-point landmarks ({LANDMARK_CSV}); "
                        f"run `prepare` on the folder first")
    missing = [r.path for r in records if not Path(r.path).is_file()]
    if missing:
        raise DataError(f"{source}: {len(missing)} listed images are missing, e.g. {missing[0]}")
    probe = records[:: max(1, len(records) // 8)][:8]
    bad = []
    for r in probe:
        try:
            read_rgb(r.path)
        except OSError as exc:
            bad.append(str(exc))
    if bad:
        raise DataError(f"{source}: not readable as images: {'; '.join(bad[:3])}")


def read_rgb(path: str) -> np.ndarray:
    """Through engine.io, like every other reader: upright (EXIF), 16-bit and grey handled, oversized files refused."""
    try:
        return to_rgb8(read_image(path).pixels)
    except ImageReadError as exc:
        raise OSError(str(exc)) from None


def fit_size(image: np.ndarray, landmarks: np.ndarray | None, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Resize a square face to `size` (area down, cubic up) and its landmarks with it."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image, landmarks
    interp = cv2.INTER_AREA if max(h, w) > size else cv2.INTER_CUBIC
    out = cv2.resize(image, (size, size), interpolation=interp)
    if landmarks is not None:
        landmarks = (landmarks + 0.5) * np.array([size / w, size / h]) - 0.5
    return out, landmarks


# ----- per-sample pipeline ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleSpec:
    """What a recipe needs from each sample; a data description, so the loader never branches on model names."""

    hr_size: int = 128
    lr_size: int = 16
    upsample_input: bool = True  # network input is the LR resized back to hr_size (FSRNet, SPARNet)
    degradation: str = "bicubic8"  # per-sample kind; "learned" yields clean bicubic LR, degraded per batch
    hflip: bool = False
    resized_crop: tuple[float, float] | None = None  # RandomResizedCrop area-scale range (SPARNet: (0.7, 1.0))
    gray_p: float = 0.0  # SPARNetHD: random grayscale of the HR (so LR and HR are gray)
    priors: bool = False  # FSRNet heatmap + parsing targets
    landmarks: bool = False  # records must have landmarks
    patch: int = 0  # same-size pairs (HD): train on a random patch of this side, cut after the full-face degradation
    soft_p: float = 0.0  # probability that the HR face is softened first (see soften), target and input alike
    soft_scale: tuple[float, float] = (0.35, 0.8)  # the softened face's true resolution, as a fraction of its side


def random_resized_crop(image: np.ndarray, landmarks: np.ndarray | None, rng: np.random.Generator,
                        scale: tuple[float, float], ratio: tuple[float, float] = (3 / 4, 4 / 3)
                        ) -> tuple[np.ndarray, np.ndarray | None]:
    """torchvision RandomResizedCrop's sampling (10 tries, centre-crop fallback), PIL bicubic back to the size."""
    h, w = image.shape[:2]
    area = h * w
    box = None
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1])))
        cw, ch = int(round(np.sqrt(target * aspect))), int(round(np.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            box = (int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1)), cw, ch)
            break
    if box is None:
        side = min(h, w)
        box = ((w - side) // 2, (h - side) // 2, side, side)
    x0, y0, cw, ch = box
    crop = pil_resize(image[y0:y0 + ch, x0:x0 + cw], (w, h))
    if landmarks is not None:
        landmarks = (landmarks - [x0, y0] + 0.5) * np.array([w / cw, h / ch]) - 0.5
    return crop, landmarks


def make_sample(image: np.ndarray, landmarks: np.ndarray | None, spec: SampleSpec,
                rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """uint8 RGB face (+ landmarks) -> the training pair (+ prior targets) as tensors (images stay uint8 CHW)."""
    image, landmarks = fit_size(image, landmarks, spec.hr_size)
    if spec.resized_crop is not None:
        image, landmarks = random_resized_crop(image, landmarks, rng, spec.resized_crop)
    if spec.hflip and rng.random() < 0.5:
        image = np.ascontiguousarray(image[:, ::-1])
        if landmarks is not None:
            landmarks = T.flip_landmarks(landmarks, spec.hr_size)
    if spec.soft_p > 0 and rng.random() < spec.soft_p:
        image = soften(image, rng.uniform(*spec.soft_scale))
    if spec.gray_p > 0 and rng.random() < spec.gray_p:
        gray = np.asarray(Image.fromarray(image).convert("L"))
        image = np.repeat(gray[..., None], 3, axis=2)
    kind = "bicubic8" if spec.degradation == "learned" else spec.degradation
    # same-size pairs (the blind restorers) draw the face's size in the photo per sample
    lr = degrade(kind, image, lr_size=spec.lr_size if spec.lr_size != spec.hr_size else None, rng=rng)
    net_in = pil_resize(lr, spec.hr_size) if spec.upsample_input and lr.shape[0] != spec.hr_size else lr
    if spec.patch and spec.patch < spec.hr_size:
        image, lr, net_in = random_patch([image, lr, net_in], spec.patch, rng)
    sample = {"hr": _chw(image), "lr": _chw(lr), "input": _chw(net_in)}
    if spec.priors:
        sample["priors"] = torch.from_numpy(T.fsrnet_targets(landmarks, spec.hr_size))
    if landmarks is not None:
        sample["landmarks"] = torch.from_numpy(landmarks.astype(np.float32))
    return sample


def soften(image: np.ndarray, fraction: float) -> np.ndarray:
    """The face as a photo of lower true resolution holds it: shrunk to `fraction` of its side and back.

    A restorer trained only on sharp HR faces (FFHQ) learns that every face has fine detail and over-sharpens
    faces that never had it (CelebA-like crops, soft focus, faces enlarged by the photographer's software); with
    some soft targets it must read from the input how much detail the face holds."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(2, round(w * fraction)), max(2, round(h * fraction))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def random_patch(images: list[np.ndarray], size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The same random size x size window of same-size images (a fully convolutional net trains 4-16x cheaper on
    patches and still sees every degradation, which was applied to the whole face)."""
    h, w = images[0].shape[:2]
    if any(im.shape[:2] != (h, w) for im in images):
        raise ValueError("patches need images of one size (an HD same-size pair)")
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return [np.ascontiguousarray(im[y:y + size, x:x + size]) for im in images]


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1)))


class FaceDataset(torch.utils.data.Dataset):
    """Indexed by (record index, sample seed) pairs from :class:`StepBatches`; a corrupt image is replaced by the
    next readable record (deterministically) and reported once."""

    def __init__(self, records: Sequence[FaceRecord], spec: SampleSpec):
        self.records = list(records)
        self.spec = spec
        self.bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, tuple[int, ...]]) -> dict[str, torch.Tensor]:
        index, seed = key
        for offset in range(len(self.records)):
            i = (index + offset) % len(self.records)
            try:
                image = read_rgb(self.records[i].path)
            except OSError as exc:
                if i not in self.bad:
                    self.bad.add(i)
                    print(f"warning: skipping unreadable training image: {exc}", flush=True)
                continue
            return make_sample(image, self.records[i].landmarks, self.spec, np.random.default_rng(seed))
        raise DataError("no readable training image left")


class StepBatches(torch.utils.data.Sampler):
    """Yields, for steps start..stop-1, the list of (index, seed) keys of this rank's share of the global batch."""

    def __init__(self, n: int, batch: int, seed: int, start: int, stop: int, rank: int = 0, world: int = 1):
        self.n, self.batch, self.seed, self.start, self.stop = n, batch, seed, start, stop
        self.rank, self.world = rank, world
        self._epoch, self._perm = -1, None

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.n, generator=g)
        return self._perm

    def keys(self, step: int) -> list[tuple[int, tuple[int, ...]]]:
        out = []
        for slot in range(self.rank, self.batch, self.world):
            g = step * self.batch + slot
            out.append((int(self.permutation(g // self.n)[g % self.n]), (self.seed, step, slot)))
        return out

    def __iter__(self) -> Iterator[list[tuple[int, tuple[int, ...]]]]:
        for step in range(self.start, self.stop):
            yield self.keys(step)


# ----- validation ----------------------------------------------------------------------------------------------
@dataclass
class ValSet:
    """A folder laid out like celeba_val128: ``HR/`` (+ ``LR_x<scale>/`` with the same names, + landmarks68.csv)."""

    root: Path
    names: list[str]
    hr: list[np.ndarray]
    lr: list[np.ndarray]
    landmarks: list[np.ndarray | None]
    lr_source: str  # "folder" or the degradation used to synthesise it

    def __len__(self) -> int:
        return len(self.names)


def load_val(folder: str | Path, hr_size: int, lr_size: int, limit: int = 0, degradation: str = "bicubic8",
             seed: int = 0) -> ValSet:
    """Read (at most `limit`, 0 = all) val faces; LR comes from the folder when present, else is synthesised once
    with a fixed seed per image so every validation sees the same inputs."""
    root = Path(folder).expanduser()
    hr_dir = root / "HR" if (root / "HR").is_dir() else root
    if not hr_dir.is_dir():
        raise DataError(f"{root}: validation folder not found")
    files = [p for p in sorted(hr_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError(f"{hr_dir}: no validation images")
    if limit:
        files = files[:limit]
    scale = hr_size // lr_size
    lr_dir = root / f"LR_x{scale}"
    marks = {}
    if (root / LANDMARK_CSV).is_file():
        marks = {Path(r.path).name: r.landmarks for r in read_landmark_csv(root / LANDMARK_CSV, hr_dir)}
    return _build_val(root, [str(p) for p in files], [marks.get(p.name) for p in files], hr_size, lr_size,
                      degradation, seed, lr_dir)


def val_from_records(records: Sequence[FaceRecord], hr_size: int, lr_size: int, limit: int = 0,
                     degradation: str = "bicubic8", seed: int = 0) -> ValSet:
    """Validation faces held out of a training source (LR synthesised with fixed seeds)."""
    records = list(records)[:limit] if limit else list(records)
    root = Path(records[0].path).parent if records else Path(".")
    return _build_val(root, [r.path for r in records], [r.landmarks for r in records], hr_size, lr_size,
                      degradation, seed, None)


def _build_val(root: Path, paths: list[str], marks: list[np.ndarray | None], hr_size: int, lr_size: int,
               degradation: str, seed: int, lr_dir: Path | None) -> ValSet:
    kind = "bicubic8" if degradation == "learned" else degradation
    from_folder = lr_dir is not None and lr_dir.is_dir() and lr_size != hr_size
    val = ValSet(root, [], [], [], [], "folder" if from_folder else kind)
    for i, (path, lm) in enumerate(zip(paths, marks)):
        hr, lm = fit_size(read_rgb(path), lm, hr_size)
        lr_path = lr_dir / Path(path).name if lr_dir is not None else None
        if from_folder and lr_path is not None and lr_path.is_file():
            lr = read_rgb(str(lr_path))
        else:
            lr = degrade(kind, hr, lr_size=lr_size if lr_size != hr_size else None,
                         rng=np.random.default_rng([seed, i]))
        val.names.append(Path(path).name)
        val.hr.append(hr)
        val.lr.append(lr)
        val.landmarks.append(lm)
    return val


def describe_source(records: Sequence[FaceRecord]) -> dict[str, Any]:
    """Counts per top-level subfolder (e.g. utk/lfw/celeba) for the model card."""
    counts: dict[str, int] = {}
    for r in records:
        parent = Path(r.path).parent.name
        counts[parent] = counts.get(parent, 0) + 1
    return {"images": len(records), "by_folder": dict(sorted(counts.items()))}
