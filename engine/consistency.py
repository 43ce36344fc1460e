"""No-harm check: does a restored face still agree with what the photo holds?

A restoration may sharpen, denoise and add plausible detail, but shrunk back to the face's size in the photo it must
look like the photo's own pixels. One that does not (another identity, invented structure, a colour shift) is not
pasted by default: the face keeps its upscaled original, and the report says why.

The comparison is made at the face's source resolution (the crop shrunk back to the photo pixels it came from), on a
slightly smoothed copy of both sides so that removing noise and JPEG blocks is not counted as a contradiction. The
score is a PSNR in dB over the central face region (the crop's outer margin is background); the per-pixel map is the
smoothed absolute difference, brought back to the crop's size for display.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Below this the face is not pasted. Chosen with `python scripts/consistency_threshold.py --data
# ../shared/data/celeba_val128 --limit 30 -m auto,sparnet-light3d,fsrnet` (sizes 12-128): another person's face
# restored in a face's place scored at most 23.0 dB (99th percentile 21.9; small faces look alike), auto's own
# outputs (with an early sparnet-blind checkpoint, step 66) at least 30.9 dB at every size (1st percentile); x8
# models on faces far above their 16 px protocol fall to 22-24 dB at 128 px, where their blur is a real loss. The
# threshold sits just above the wrong faces.
CONSISTENCY_THRESHOLD_DB = 24.0
SMOOTH_SIGMA_PX = 0.8  # in source pixels: enough to ignore noise and JPEG blocks, not eyes or mouth
CENTRE = 0.8  # the central 80 % of the crop (the coarse crop's landmark box) is the face


@dataclass(frozen=True)
class Consistency:
    """score: PSNR (dB) between the restored face shrunk to the photo's resolution and the photo's face;
    colour_shift: mean absolute difference of the RGB means (grey levels); map: float32 crop-size map of the
    disagreement in grey levels; passed: score >= threshold."""

    score: float
    colour_shift: float
    map: np.ndarray
    passed: bool
    threshold: float

    def describe(self) -> str:
        verdict = "agrees with the photo" if self.passed else "contradicts the photo"
        return f"consistency {self.score:.1f} dB ({verdict}; threshold {self.threshold:.0f} dB)"


def _at_source(image: np.ndarray, side: int) -> np.ndarray:
    img = image.astype(np.float32)
    if img.shape[0] != side:
        img = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(img, (0, 0), SMOOTH_SIGMA_PX, borderType=cv2.BORDER_REFLECT)


def check_consistency(restored: np.ndarray, crop_image: np.ndarray, source_px: float,
                      threshold: float = CONSISTENCY_THRESHOLD_DB) -> Consistency:
    """Compare a restored face (uint8 RGB, any square size) with the crop it was made from (uint8 RGB), both
    brought to `source_px`, the side of the crop's region in the photo."""
    size = crop_image.shape[0]
    side = int(np.clip(round(source_px), 8, size))
    restored = np.asarray(restored)
    if restored.shape[0] != size:
        interp = cv2.INTER_AREA if restored.shape[0] > size else cv2.INTER_CUBIC
        restored = cv2.resize(restored, (size, size), interpolation=interp)
    a, b = _at_source(restored, side), _at_source(crop_image, side)
    m = int(round(side * (1 - CENTRE) / 2))
    core = (slice(m, side - m), slice(m, side - m))
    diff = a[core] - b[core]
    mse = float(np.mean(diff ** 2))
    score = 99.0 if mse <= 1e-10 else float(10 * np.log10(255.0 ** 2 / mse))
    colour_shift = float(np.abs(a[core].mean(axis=(0, 1)) - b[core].mean(axis=(0, 1))).mean())
    heat = np.abs(a - b).mean(axis=2)
    heat = cv2.resize(heat, (size, size), interpolation=cv2.INTER_LINEAR)
    return Consistency(score=score, colour_shift=colour_shift, map=heat.astype(np.float32),
                       passed=score >= threshold, threshold=threshold)
