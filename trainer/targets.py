"""FSRNet prior-branch targets drawn from 68 iBUG landmarks: Gaussian heatmaps and 11-class parsing maps.

Heatmaps (our choice, docs/models.md#fsrnet-prior-targets): one 2-D Gaussian per landmark on the 64x64 prior grid,
sigma 1 px, peak 1, placed with the pixel-centre convention of ``engine.models.fsrnet.heatmap_peaks``
(x64 = (x128 + 0.5) / 2 - 0.5), so the peak read back from a perfect target is the landmark itself.

Parsing maps: FSRNet's 11 Helen classes, drawn as landmark polygons at the HR resolution (sub-pixel), one-hot, then
area-averaged to 64x64 (soft masks summing to 1 per pixel). "left"/"right" are image sides (iBUG points 17-21 and
36-41 are on the image left). Hair cannot be derived from landmarks; its channel is left empty (all zero) and the
background absorbs it. The skin polygon is the jaw line closed over a forehead estimated by lifting the brows by
0.6 x the brow-to-nose-tip distance along the face's vertical axis.
"""
from __future__ import annotations

import cv2
import numpy as np

PARSING_CLASSES = ("background", "skin", "brow_left", "brow_right", "eye_left", "eye_right", "nose",
                   "upper_lip", "inner_mouth", "lower_lip", "hair")
PRIOR_SIZE = 64

# Horizontal flip: landmark i of the flipped face is landmark FLIP_68[i] of the original (iBUG-68 symmetry).
FLIP_68 = np.array(
    list(range(16, -1, -1))  # jaw
    + list(range(26, 16, -1))  # brows
    + [27, 28, 29, 30]  # nose bridge
    + [35, 34, 33, 32, 31]  # nostrils
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]  # eyes
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65]  # inner lips
)
# Parsing channels swapped by a horizontal flip (brows, eyes).
FLIP_PARSING = np.array([0, 1, 3, 2, 5, 4, 6, 7, 8, 9, 10])


def to_prior_coords(points: np.ndarray, image_size: int, prior_size: int = PRIOR_SIZE) -> np.ndarray:
    """Image pixel coordinates -> prior-grid coordinates (pixel-centre convention)."""
    s = prior_size / image_size
    return (np.asarray(points, np.float64) + 0.5) * s - 0.5


def heatmaps(points: np.ndarray, image_size: int, size: int = PRIOR_SIZE, sigma: float = 1.0) -> np.ndarray:
    """L x size x size float32 Gaussians (peak 1) at the landmarks given in image_size pixel coordinates."""
    p = to_prior_coords(points, image_size, size)
    grid = np.arange(size, dtype=np.float64)
    gx = np.exp(-((grid[None, :] - p[:, 0:1]) ** 2) / (2 * sigma**2))
    gy = np.exp(-((grid[None, :] - p[:, 1:2]) ** 2) / (2 * sigma**2))
    return (gy[:, :, None] * gx[:, None, :]).astype(np.float32)


def _poly(points: np.ndarray, idx: list[int]) -> np.ndarray:
    return points[idx]


def _forehead(points: np.ndarray) -> np.ndarray:
    brows = points[17:27]
    up = brows.mean(0) - points[30]  # nose tip -> brow centre: the face's upward direction and scale
    return brows[::-1] + 0.6 * up


def parsing_label_map(points: np.ndarray, image_size: int, supersample: int = 4) -> np.ndarray:
    """image_size*supersample square int label map (indices into PARSING_CLASSES) drawn from 68 landmarks."""
    pts = np.asarray(points, np.float64)
    side = image_size * supersample
    label = np.zeros((side, side), np.uint8)
    shift = 4  # cv2 sub-pixel bits

    def fill(poly: np.ndarray, cls: int) -> None:
        scaled = ((poly + 0.5) * supersample - 0.5) * (1 << shift)
        cv2.fillPoly(label, [np.round(scaled).astype(np.int32)], int(cls), lineType=cv2.LINE_8, shift=shift)

    def line(poly: np.ndarray, cls: int, thickness: float) -> None:
        scaled = ((poly + 0.5) * supersample - 0.5) * (1 << shift)
        t = max(1, int(round(thickness * supersample)))
        cv2.polylines(label, [np.round(scaled).astype(np.int32)], False, int(cls), t, cv2.LINE_8, shift)

    iod = float(np.linalg.norm(pts[36] - pts[45]))
    fill(cv2.convexHull(np.concatenate([pts[0:17], _forehead(pts)]).astype(np.float32))[:, 0].astype(np.float64), 1)
    line(pts[17:22], 2, 0.12 * iod)
    line(pts[22:27], 3, 0.12 * iod)
    fill(pts[36:42], 4)
    fill(pts[42:48], 5)
    nostril_w = np.linalg.norm(pts[31] - pts[35])
    across = (pts[35] - pts[31]) / max(nostril_w, 1e-6)
    bridge = [pts[27] - across * 0.15 * nostril_w, pts[27] + across * 0.15 * nostril_w]
    fill(np.array([bridge[0], pts[31], pts[32], pts[33], pts[34], pts[35], bridge[1]]), 6)
    fill(_poly(pts, [48, 49, 50, 51, 52, 53, 54, 64, 63, 62, 61, 60]), 7)
    fill(_poly(pts, [54, 55, 56, 57, 58, 59, 48, 60, 67, 66, 65, 64]), 9)
    fill(pts[60:68], 8)
    return label


def parsing_maps(points: np.ndarray, image_size: int, size: int = PRIOR_SIZE, supersample: int = 4) -> np.ndarray:
    """11 x size x size float32 soft masks (sum to 1 per pixel): one-hot label map area-averaged to the prior grid."""
    label = parsing_label_map(points, image_size, supersample)
    n, f = len(PARSING_CLASSES), label.shape[0] // size
    cell = (np.arange(label.shape[0]) // f)
    index = ((cell[:, None] * size + cell[None, :]) * n + label).ravel()  # (prior pixel, class) per HR sub-pixel
    counts = np.bincount(index, minlength=size * size * n).reshape(size, size, n)
    return np.ascontiguousarray(counts.transpose(2, 0, 1), dtype=np.float32) / float(f * f)


def flip_landmarks(points: np.ndarray, width: int) -> np.ndarray:
    """Landmarks of the horizontally flipped image (mirrored x, iBUG left/right indices swapped)."""
    pts = np.asarray(points, np.float64)[FLIP_68].copy()
    pts[:, 0] = width - 1 - pts[:, 0]
    return pts


def fsrnet_targets(points: np.ndarray, image_size: int) -> np.ndarray:
    """(68 + 11) x 64 x 64 float32: the concatenated prior target p~ of Eq. 4 (heatmaps, then parsing maps)."""
    return np.concatenate([heatmaps(points, image_size), parsing_maps(points, image_size)], axis=0)
