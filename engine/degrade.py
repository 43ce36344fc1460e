"""Degradations that turn a clean face into a network input, shared by the trainer and the inference/eval code.

Three kinds, one registry (`DEGRADATIONS`), so training data, evaluation sets and GUI previews are made the same way:

- ``bicubic8``: the paper/DIC/SPARNet protocol, PIL bicubic (antialiased) HR -> LR, exactly how
  ``../shared/data/celeba_val128/LR_x8`` was made. Deterministic.
- ``blind``: the SPARNetHD recipe (docs/models.md#sparnethd-training): optional blur (Gaussian / box / median / motion),
  resize to a random smaller size with a random interpolation, optional Gaussian noise, optional JPEG. The kernel sizes
  of the recipe are given for 512 px faces; for smaller faces they are scaled by size/512 so a 128 face is not blurred
  away.
- ``photo``: a face as a real photo holds it (the blind 128/256 models' training degradation): shrunk to a random
  source size between 12 px and the HR size (log-uniform, x1 to ~x10), blurred at that size (Gaussian, motion or
  defocus), noise (Gaussian or signal-dependent grain, grey or colour), JPEG once or twice, then back to the HR size
  with the pipeline's interpolation. Wider than the face-size benchmark's recipe (:func:`face_size_bench`) on
  purpose, so the models do not learn the benchmark.
- ``learned``: a trained SelFSR flow-field degrader (`FlowDegrader`) applied to the clean bicubic LR (batch-level,
  because it is a network; see :func:`learned`).

Per-sample randomness comes from an explicit ``numpy.random.Generator``, never from global state, so a training
run that seeds it from (seed, step, index) reproduces the same pairs after a resume.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np
import torch
from PIL import Image

BICUBIC = Image.BICUBIC


def pil_resize(image: np.ndarray, size: int | tuple[int, int], resample: int = BICUBIC) -> np.ndarray:
    """uint8 HxWx3 -> resized with PIL (antialiased when shrinking), the SPARNet/DIC resampler."""
    wh = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(wh, resample))


def _check_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 HxWx3 RGB image, got {image.dtype} {image.shape}")
    return image


def bicubic_x8(hr: np.ndarray, lr_size: int | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """HR uint8 face -> LR uint8 face by PIL bicubic (default x8: 128 -> 16), the evaluation-set protocol."""
    hr = _check_uint8(hr)
    size = lr_size or max(1, hr.shape[1] // 8)
    return pil_resize(hr, (size, size * hr.shape[0] // hr.shape[1]))


def _odd(k: float) -> int:
    k = max(1, int(round(k)))
    return k if k % 2 else k + 1


def _motion_kernel(size: int, angle_deg: float) -> np.ndarray:
    kernel = np.zeros((size, size), np.float32)
    kernel[size // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (size, size))
    return kernel / max(kernel.sum(), 1e-6)


def random_blur(image: np.ndarray, rng: np.random.Generator, unit: float = 1.0) -> np.ndarray:
    """One of the four SPARNetHD blurs; `unit` scales the 512-px kernel sizes to the image size."""
    kind = rng.integers(4)
    if kind == 0:
        sigma = rng.uniform(3, 15) * unit
        return cv2.GaussianBlur(image, (0, 0), sigmaX=max(sigma, 0.3))
    if kind == 1:
        k = max(1, int(round(rng.integers(3, 16) * unit)))
        return cv2.blur(image, (k, k))
    if kind == 2:
        k = _odd(rng.integers(3, 16) * unit)
        return cv2.medianBlur(image, k) if k > 1 else image
    k = _odd(rng.integers(5, 26) * unit)
    if k < 3:
        return image
    return cv2.filter2D(image, -1, _motion_kernel(k, rng.uniform(0, 360)), borderType=cv2.BORDER_REFLECT)


_INTERPOLATIONS = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_AREA, cv2.INTER_CUBIC)


def blind(hr: np.ndarray, lr_size: int | None = None, rng: np.random.Generator | None = None,
          upsample: int = cv2.INTER_CUBIC) -> np.ndarray:
    """SPARNetHD blind degradation of a uint8 face.

    lr_size None (or equal to the HR size, the SPARNetHD case): resize to a random side in [size/16, size/4), i.e.
    x4..x16, and back to the HR size with cubic interpolation. Otherwise the face is degraded down to lr_size (the
    x8 models take a fixed 16 px input), so only blur, interpolation, noise and JPEG are random. `upsample` is the
    interpolation back to the HR size (not random: the same rng gives the same face with a Lanczos baseline).
    """
    hr = _check_uint8(hr)
    rng = rng if rng is not None else np.random.default_rng()
    size = hr.shape[0]
    unit = size / 512.0
    img = hr
    if rng.random() < 0.5:
        img = random_blur(img, rng, unit)
    back_to_hr = lr_size is None or lr_size == size
    if back_to_hr:
        side = int(rng.integers(max(2, size // 16), max(3, size // 4)))
    else:
        side = int(lr_size)
    img = cv2.resize(img, (side, side), interpolation=_INTERPOLATIONS[rng.integers(4)])
    if rng.random() < 0.2:
        sigma = rng.uniform(0, 25.5)
        shape = img.shape if rng.random() < 0.5 else img.shape[:2] + (1,)
        img = np.clip(img.astype(np.float32) + rng.normal(0, sigma, shape), 0, 255).round().astype(np.uint8)
    if rng.random() < 0.7:
        quality = int(rng.integers(35, 91))
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    if back_to_hr:
        img = cv2.resize(img, (size, size), interpolation=upsample)
    return np.ascontiguousarray(img)


# ----- real-photo degradations (multi-scale) -------------------------------------------------------------------
PHOTO_MIN_PX = 12


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1] if ok else img


def _defocus_kernel(radius: float) -> np.ndarray:
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    kernel = np.clip(radius + 0.5 - np.sqrt(xx ** 2 + yy ** 2), 0, 1).astype(np.float32)
    return kernel / kernel.sum()


@dataclass(frozen=True)
class PhotoRecipe:
    """How hard a photo degrades a face: the probabilities and ranges of blur, noise and JPEG at the face's size.

    ``photo`` draws every face from 12 px to the HR size with the full ranges. Large faces in real photos come from
    closer or sharper shots and carry milder damage; a restorer trained on the full ranges applies the average
    (strong) correction to them and loses to plain upscaling, hence the milder preset for the large-face models."""

    min_fraction: float = 0.0  # the source side is drawn from max(12 px, min_fraction x HR size) up to the HR size
    blur_p: float = 0.75
    gauss_sigma: tuple[float, float] = (0.2, 2.0)
    motion_px: tuple[float, float] = (2.0, 7.0)
    defocus_radius: tuple[float, float] = (0.6, 2.5)
    noise_p: float = 0.7
    noise_sigma: tuple[float, float] = (1.0, 12.0)
    grain_gain: tuple[float, float] = (0.05, 0.8)  # grain std = sqrt(gain x signal): ~3.5-14 levels at mid grey
    jpeg_p: float = 0.85
    jpeg_quality: tuple[int, int] = (30, 96)  # [low, high)
    jpeg_twice_p: float = 0.25
    # drawn sizes: the chance that the face is exactly the crop's own resolution (a face at least as large as the crop,
    # which the aligner takes 1:1 or shrinks): no resampling blur at all, only the photo's own damage
    full_size_p: float = 0.0


PHOTO = PhotoRecipe()
LARGE_FACE_MIN_FRACTION = 0.35  # photo_large: the face's source side from 35 % of the HR size up (90-256 px at 256)
PHOTO_LARGE = dataclasses.replace(PHOTO, min_fraction=LARGE_FACE_MIN_FRACTION)
# photo_mild: faces from 45 % of the HR size up (58-128 px at 128, 115-256 at 256) with lighter blur, noise and
# JPEG. Still wider than the face-size benchmark's recipe (motion and defocus blur, grain, colour noise, JPEG twice,
# quality down to 35), so the models do not learn the benchmark.
PHOTO_MILD = PhotoRecipe(min_fraction=0.45, blur_p=0.6, gauss_sigma=(0.2, 1.5), motion_px=(2.0, 4.5),
                         defocus_radius=(0.6, 1.6), noise_p=0.7, noise_sigma=(1.0, 8.0), grain_gain=(0.05, 0.35),
                         jpeg_p=0.85, jpeg_quality=(35, 96), jpeg_twice_p=0.2)
# photo_mild_full: photo_mild with one face in five at the crop's own resolution. A large-face restorer trained on
# photo_mild almost never saw a face without resampling blur (sides are drawn continuously and cubic-upsampled), so it
# restored a face at exactly its crop size (a portrait's) by barely more than Lanczos; session 11's HD training.
PHOTO_MILD_FULL = dataclasses.replace(PHOTO_MILD, full_size_p=0.2)


def photo_blur(img: np.ndarray, rng: np.random.Generator, recipe: PhotoRecipe = PHOTO) -> np.ndarray:
    """Optics and shake at the photo's own resolution: Gaussian, motion or defocus, a few pixels at most."""
    kind = rng.random()
    if kind < 0.6:
        return cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(*recipe.gauss_sigma), borderType=cv2.BORDER_REFLECT)
    if kind < 0.8:
        k = _odd(rng.uniform(*recipe.motion_px))
        return cv2.filter2D(img, -1, _motion_kernel(k, rng.uniform(0, 360)), borderType=cv2.BORDER_REFLECT)
    return cv2.filter2D(img, -1, _defocus_kernel(rng.uniform(*recipe.defocus_radius)), borderType=cv2.BORDER_REFLECT)


def photo_noise(img: np.ndarray, rng: np.random.Generator, recipe: PhotoRecipe = PHOTO) -> np.ndarray:
    """Sensor noise: Gaussian or signal-dependent (Poisson-like) grain, grey or per colour channel."""
    x = img.astype(np.float32)
    shape = x.shape if rng.random() < 0.6 else x.shape[:2] + (1,)
    if rng.random() < 0.6:
        x = x + rng.normal(0.0, rng.uniform(*recipe.noise_sigma), shape)
    else:
        gain = rng.uniform(*recipe.grain_gain)
        x = x + rng.normal(0.0, 1.0, shape) * np.sqrt(gain * np.maximum(x, 1.0))
    return np.clip(x, 0, 255).round().astype(np.uint8)


_DOWN = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)


def photo_size(hr_size: int, rng: np.random.Generator, min_px: int = PHOTO_MIN_PX) -> int:
    """A face's side in the photo, log-uniform between `min_px` and the HR size."""
    return int(round(np.exp(rng.uniform(np.log(min_px), np.log(hr_size)))))


def photo_at_size(hr: np.ndarray, side: int, rng: np.random.Generator, recipe: PhotoRecipe = PHOTO) -> np.ndarray:
    """The face as a photo holds it, `side` pixels across: shrunk (PIL antialiased or OpenCV), blur, noise, JPEG."""
    img = hr
    if side != hr.shape[0]:
        if rng.random() < 0.5:
            img = pil_resize(img, side)
        else:
            img = cv2.resize(img, (side, side), interpolation=_DOWN[rng.integers(len(_DOWN))])
    if rng.random() < recipe.blur_p:
        img = photo_blur(img, rng, recipe)
    if rng.random() < recipe.noise_p:
        img = photo_noise(img, rng, recipe)
    if rng.random() < recipe.jpeg_p:
        img = _jpeg(img, int(rng.integers(*recipe.jpeg_quality)))
        if rng.random() < recipe.jpeg_twice_p:
            img = _jpeg(img, int(rng.integers(50, 96)))
    return np.ascontiguousarray(img)


def _photo_with(recipe: PhotoRecipe, hr: np.ndarray, lr_size: int | None,
                rng: np.random.Generator | None) -> np.ndarray:
    hr = _check_uint8(hr)
    rng = rng if rng is not None else np.random.default_rng()
    size = hr.shape[0]
    if lr_size and lr_size != size:
        side = int(lr_size)
    else:  # no size, or the HR size itself (a same-size pair's lr_size): draw the face's size in the photo
        # rng drawn only for recipes that use it: the older recipes' random streams stay as they were
        full = recipe.full_size_p > 0 and rng.random() < recipe.full_size_p
        side = size if full else photo_size(size, rng, min_px=max(PHOTO_MIN_PX, round(recipe.min_fraction * size)))
    small = photo_at_size(hr, side, rng, recipe)
    if side == size:
        return small
    interp = cv2.INTER_CUBIC if rng.random() < 0.8 else cv2.INTER_LINEAR  # coarse crops cubic, FFHQ warps linear
    return np.ascontiguousarray(cv2.resize(small, (size, size), interpolation=interp))


def photo(hr: np.ndarray, lr_size: int | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Blind multi-scale photo degradation of a uint8 face, returned at the HR size (the same-size pair the blind
    models train on). `lr_size` fixes the source size instead of drawing it (a benchmark of one size)."""
    return _photo_with(PHOTO, hr, lr_size, rng)


def photo_large(hr: np.ndarray, lr_size: int | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """:func:`photo` for faces from LARGE_FACE_MIN_FRACTION of the HR size up (a large-face restorer trained on
    12 px faces would waste most steps)."""
    return _photo_with(PHOTO_LARGE, hr, lr_size, rng)


def photo_mild(hr: np.ndarray, lr_size: int | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """The large-face restorers' degradation (:data:`PHOTO_MILD`): faces from 45 % of the HR size up, lighter
    blur, noise and JPEG than :func:`photo`."""
    return _photo_with(PHOTO_MILD, hr, lr_size, rng)


def photo_mild_full(hr: np.ndarray, lr_size: int | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """:func:`photo_mild` with faces at the crop's own resolution one time in five (:data:`PHOTO_MILD_FULL`)."""
    return _photo_with(PHOTO_MILD_FULL, hr, lr_size, rng)


def face_size_bench(hr: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """The face-size benchmark's degradation (kept narrower than :func:`photo` and never trained on): HR -> side
    (PIL bicubic, antialiased), Gaussian blur sigma ~ U(0, 1.2), Gaussian noise sigma ~ U(0, 6), JPEG q ~ U{55..95}.
    Returns the face at `side` pixels, as the photo holds it."""
    hr = _check_uint8(hr)
    img = pil_resize(hr, side) if side != hr.shape[0] else hr.copy()
    sigma = rng.uniform(0.0, 1.2)
    if sigma > 0.05:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    noise = rng.uniform(0.0, 6.0)
    img = np.clip(img.astype(np.float32) + rng.normal(0.0, noise, img.shape), 0, 255).round().astype(np.uint8)
    return _jpeg(img, int(rng.integers(55, 96)))


# PHOTO with JPEG always: a benchmark face must differ from its HR (at the HR size, PHOTO may draw no damage at all,
# and one undamaged face makes the mean PSNR infinite)
PHOTO_FILE = dataclasses.replace(PHOTO, jpeg_p=1.0)


def photo_face_at(hr: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """The training family's widest recipe at a fixed size, always saved as JPEG (:data:`PHOTO_FILE`): motion and
    defocus blur, grain and colour noise, JPEG down to q30 and sometimes twice. A check that auto does no harm under
    damage the benchmark's own recipe does not draw (the large-face restorers trained on the milder preset only)."""
    return photo_at_size(_check_uint8(hr), side, rng, PHOTO_FILE)


# The face-size benchmark's degradations (face at `side` px as the photo holds it), by name: "bench" is the
# benchmark's own recipe, the one every README table uses.
FACE_SIZE_DEGRADATIONS: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    "bench": face_size_bench, "photo": photo_face_at}


def learned(lr_clean: torch.Tensor, degrader: torch.nn.Module) -> torch.Tensor:
    """Apply a SelFSR FlowDegrader to a batch of clean LR faces in [-1, 1] (B x 3 x h x w); returns [-1, 1].

    The degrader may return the degraded image alone or a tuple/namedtuple whose first item is it (the flow and the
    intermediate image follow); either way only the image is returned here.
    """
    with torch.no_grad():
        out = degrader(lr_clean)
    image = out[0] if isinstance(out, (tuple, list)) else getattr(out, "image", out)
    return image.clamp(-1.0, 1.0)


def learned_uint8(lr_faces: np.ndarray, degrader: torch.nn.Module) -> np.ndarray:
    """uint8 B x h x w x 3 clean LR faces -> uint8 degraded faces (through :func:`learned`)."""
    x = torch.from_numpy(np.ascontiguousarray(lr_faces)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    param = next(degrader.parameters(), None)
    if param is not None:
        x = x.to(param.device)
    y = learned(x, degrader)
    return y.add(1.0).mul(127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()


# Per-sample degradations (uint8 HR -> uint8 LR). "learned" is batch-level (a network) and is applied by the caller.
DEGRADATIONS: dict[str, Callable[..., np.ndarray]] = {"bicubic8": bicubic_x8, "blind": blind, "photo": photo,
                                                      "photo_large": photo_large, "photo_mild": photo_mild,
                                                      "photo_mild_full": photo_mild_full}
NAMES = ("bicubic8", "blind", "photo", "photo_large", "photo_mild", "photo_mild_full", "learned")


def degrade(name: str, hr: np.ndarray, lr_size: int | None = None,
            rng: np.random.Generator | None = None) -> np.ndarray:
    """Apply the per-sample degradation `name` to a uint8 HR face."""
    if name == "learned":
        raise ValueError("the 'learned' degradation needs a degrader network: use engine.degrade.learned()")
    try:
        fn = DEGRADATIONS[name]
    except KeyError:
        raise ValueError(f"unknown degradation {name!r}; known: {', '.join(NAMES)}") from None
    return fn(hr, lr_size=lr_size, rng=rng)
