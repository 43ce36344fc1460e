"""Per-model face crops that keep their forward transform, so every output can be mapped back to the photo.

Protocols (``Variant.crop``):
- ``coarse128``: the x8 models' crop (../shared/data/README.md): a square centred on the 68-landmark box, side
  1.25 x max(w, h), replicate padding, resized to 128 (area when shrinking, cubic when enlarging). No rotation.
- ``ffhq512``: the FFHQ 5-point template at 512 (facexlib), similarity fit with ``cv2.estimateAffinePartial2D``
  (LMEDS), grey border (135, 133, 132).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass
class AlignedFace:
    """A face crop (uint8 RGB, size x size) and the 2x3 matrix mapping photo pixel coords to crop pixel coords."""

    image: np.ndarray
    matrix: np.ndarray  # 2 x 3 float64, photo -> crop
    protocol: str
    source_px: float  # side of the crop region in photo pixels (how much detail the photo actually had)

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


# FFHQ 5-point template at 512 px (facexlib's values): eyes, nose tip, mouth corners; image-left first.
FFHQ_TEMPLATE_512 = np.array([[192.98138, 239.94708], [318.90277, 240.19360], [256.63416, 314.01935],
                              [201.26117, 371.41043], [313.08905, 371.15118]], dtype=np.float32)
FFHQ_BORDER_RGB = (132, 133, 135)  # facexlib's grey border (135, 133, 132) is BGR
COARSE_MARGIN = 1.25

# Mean iBUG-68 shape in the FFHQ template frame divided by 512, from 4,000 dlib-labelled faces of
# ../shared/data/faces128 (similarity-aligned on their 5 derived points). It turns a 5-point detection into the
# 68-landmark box the coarse128 protocol is defined on; the mean shape's box is ~4 % smaller than a single face's,
# hence MEAN_SHAPE_BOX_GAIN (measured on 1,000 other faces: side error 0 +- 5 %, centre error 0 +- 7 % of the side).
MEAN_SHAPE_68 = np.array([
    (0.2293, 0.4801), (0.2322, 0.5520), (0.2398, 0.6235), (0.2530, 0.6940), (0.2789, 0.7601), (0.3203, 0.8180),
    (0.3730, 0.8662), (0.4333, 0.9043), (0.5026, 0.9150), (0.5719, 0.9041), (0.6326, 0.8665), (0.6857, 0.8186),
    (0.7274, 0.7604), (0.7531, 0.6939), (0.7659, 0.6227), (0.7731, 0.5503), (0.7751, 0.4777), (0.2815, 0.4256),
    (0.3142, 0.3949), (0.3609, 0.3856), (0.4094, 0.3918), (0.4551, 0.4102), (0.5446, 0.4094), (0.5902, 0.3909),
    (0.6389, 0.3840), (0.6859, 0.3934), (0.7195, 0.4239), (0.5002, 0.4648), (0.5004, 0.5107), (0.5005, 0.5564),
    (0.5006, 0.6036), (0.4469, 0.6356), (0.4728, 0.6452), (0.5012, 0.6537), (0.5293, 0.6451), (0.5556, 0.6354),
    (0.3363, 0.4739), (0.3651, 0.4571), (0.3996, 0.4574), (0.4298, 0.4792), (0.3973, 0.4852), (0.3634, 0.4850),
    (0.5717, 0.4787), (0.6015, 0.4569), (0.6359, 0.4562), (0.6650, 0.4729), (0.6377, 0.4842), (0.6039, 0.4844),
    (0.3944, 0.7248), (0.4331, 0.7071), (0.4724, 0.6990), (0.5015, 0.7054), (0.5302, 0.6990), (0.5698, 0.7068),
    (0.6095, 0.7242), (0.5718, 0.7634), (0.5329, 0.7802), (0.5018, 0.7835), (0.4704, 0.7803), (0.4317, 0.7636),
    (0.4108, 0.7267), (0.4722, 0.7216), (0.5016, 0.7245), (0.5306, 0.7216), (0.5930, 0.7262), (0.5312, 0.7453),
    (0.5017, 0.7488), (0.4717, 0.7453)
], dtype=np.float32)
MEAN_SHAPE_BOX_GAIN = 1.0425

PROTOCOL_SIZES = {"coarse128": 128, "ffhq256": 256, "ffhq512": 512}


def protocol_size(protocol: str) -> int:
    try:
        return PROTOCOL_SIZES[protocol]
    except KeyError:
        raise ValueError(f"unknown crop protocol {protocol!r}; known: {', '.join(PROTOCOL_SIZES)}") from None


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 similarity transform src -> dst (cv2.estimateAffinePartial2D with LMEDS, as facexlib)."""
    import cv2

    matrix, _ = cv2.estimateAffinePartial2D(np.asarray(src, np.float32), np.asarray(dst, np.float32),
                                            method=cv2.LMEDS)
    if matrix is None:  # degenerate points (all equal): fall back to a plain least-squares fit
        matrix, _ = cv2.estimateAffinePartial2D(np.asarray(src, np.float32), np.asarray(dst, np.float32))
    if matrix is None:
        raise ValueError("cannot fit a similarity transform to these landmarks")
    return matrix.astype(np.float64)


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 matrix to N x 2 points."""
    p = np.asarray(points, np.float64)
    return p @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]


def invert(matrix: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def estimate_landmarks68(landmarks5: np.ndarray) -> np.ndarray:
    """A plausible 68-point shape from 5 points: the mean shape placed by a similarity fit on its 5 points."""
    template = FFHQ_TEMPLATE_512 / 512.0
    matrix = similarity(template, landmarks5)
    return transform_points(matrix, MEAN_SHAPE_68).astype(np.float32)


def landmark_box(landmarks5: np.ndarray, landmarks68: np.ndarray | None) -> tuple[float, float, float, float]:
    """The 68-landmark box (x0, y0, x1, y1); from the mean shape (with its size correction) when only 5 are known."""
    if landmarks68 is not None:
        p = np.asarray(landmarks68, np.float64)
        return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())
    p = estimate_landmarks68(landmarks5).astype(np.float64)
    cx, cy = (p[:, 0].min() + p[:, 0].max()) / 2, (p[:, 1].min() + p[:, 1].max()) / 2
    hw = (p[:, 0].max() - p[:, 0].min()) / 2 * MEAN_SHAPE_BOX_GAIN
    hh = (p[:, 1].max() - p[:, 1].min()) / 2 * MEAN_SHAPE_BOX_GAIN
    return float(cx - hw), float(cy - hh), float(cx + hw), float(cy + hh)


def coarse_square(landmarks5: np.ndarray, landmarks68: np.ndarray | None) -> tuple[int, int, int]:
    """(x0, y0, side) in integer photo pixels of the coarse crop: centred on the landmark box, 1.25 x its size."""
    x0, y0, x1, y1 = landmark_box(landmarks5, landmarks68)
    side = max(1, int(round(COARSE_MARGIN * max(x1 - x0, y1 - y0))))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return int(round(cx - side / 2)), int(round(cy - side / 2)), side


def crop_coarse(rgb: np.ndarray, landmarks5: np.ndarray, landmarks68: np.ndarray | None = None,
                size: int = 128) -> AlignedFace:
    """The x8 models' crop (data README protocol): replicate padding, area when shrinking, cubic when enlarging."""
    import cv2

    x0, y0, side = coarse_square(landmarks5, landmarks68)
    region = crop_replicate(rgb, x0, y0, side, side)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    image = region if side == size else cv2.resize(region, (size, size), interpolation=interp)
    k = size / side
    # pixel-centre convention: crop u = (x - x0 + 0.5) * k - 0.5
    matrix = np.array([[k, 0.0, (0.5 - x0) * k - 0.5], [0.0, k, (0.5 - y0) * k - 0.5]])
    return AlignedFace(image=np.ascontiguousarray(image), matrix=matrix, protocol="coarse128", source_px=float(side))


def crop_replicate(image: np.ndarray, x0: int, y0: int, w: int, h: int) -> np.ndarray:
    """image[y0:y0+h, x0:x0+w] with edge pixels replicated where the box leaves the image."""
    import cv2

    H, W = image.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if cx1 <= cx0 or cy1 <= cy0:  # entirely outside: nearest edge pixels
        cx0, cy0 = min(max(0, x0), W - 1), min(max(0, y0), H - 1)
        cx1, cy1 = cx0 + 1, cy0 + 1
    part = image[cy0:cy1, cx0:cx1]
    top, left = cy0 - y0, cx0 - x0
    bottom, right = h - top - part.shape[0], w - left - part.shape[1]
    if top or left or bottom or right:
        part = cv2.copyMakeBorder(part, max(0, top), max(0, bottom), max(0, left), max(0, right),
                                  cv2.BORDER_REPLICATE)
    return part


def crop_ffhq(rgb: np.ndarray, landmarks5: np.ndarray, size: int = 512) -> AlignedFace:
    """FFHQ-template crop: similarity fit of the 5 points, grey border; pre-shrinks big faces to avoid aliasing."""
    import cv2

    template = FFHQ_TEMPLATE_512 * (size / 512.0)
    matrix = similarity(landmarks5, template)
    zoom = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))  # crop px per photo px
    source_px = size / zoom
    src, pre = rgb, 1.0
    if zoom < 0.5:  # a face much larger than the template: area-shrink first, then warp
        pre = zoom * 1.5
        src = cv2.resize(rgb, (max(1, round(rgb.shape[1] * pre)), max(1, round(rgb.shape[0] * pre))),
                         interpolation=cv2.INTER_AREA)
        sx, sy = src.shape[1] / rgb.shape[1], src.shape[0] / rgb.shape[0]
        to_src = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]])
        warp = compose(matrix, invert(to_src))
    else:
        warp = matrix
    image = cv2.warpAffine(src, warp, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=FFHQ_BORDER_RGB)
    return AlignedFace(image=image, matrix=matrix, protocol=f"ffhq{size}", source_px=float(source_px))


def compose(second: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of `first` followed by `second`."""
    a = np.vstack([np.asarray(first, np.float64), [0, 0, 1]])
    b = np.vstack([np.asarray(second, np.float64), [0, 0, 1]])
    return (b @ a)[:2]


def whole_image_crop(rgb: np.ndarray, protocol: str, size: int | None = None) -> AlignedFace:
    """For --aligned input: the photo already is the model's crop; only resize it to the protocol size (or `size`,
    a native-resolution side)."""
    import cv2

    size = size or protocol_size(protocol)
    h, w = rgb.shape[:2]
    interp = cv2.INTER_AREA if max(h, w) > size else cv2.INTER_CUBIC
    image = rgb if (h, w) == (size, size) else cv2.resize(rgb, (size, size), interpolation=interp)
    kx, ky = size / w, size / h
    matrix = np.array([[kx, 0.0, 0.5 * kx - 0.5], [0.0, ky, 0.5 * ky - 0.5]])
    return AlignedFace(image=np.ascontiguousarray(image), matrix=matrix, protocol=protocol,
                       source_px=float(max(h, w)))


def align_face(rgb: np.ndarray, landmarks5: np.ndarray, landmarks68: np.ndarray | None, protocol: str,
               size: int | None = None) -> AlignedFace:
    """The crop of `protocol` for one face of an HxWx3 uint8 RGB photo; `size`: the protocol's framing at another
    side (a native-resolution crop, engine.models.registry.Variant.native_max)."""
    side = size or protocol_size(protocol)
    if protocol == "coarse128":
        crop = crop_coarse(rgb, landmarks5, landmarks68, side)
    else:
        crop = crop_ffhq(rgb, landmarks5, side)
    return crop if crop.protocol == protocol else dataclasses.replace(crop, protocol=protocol)
