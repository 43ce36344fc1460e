"""Per-model face crops that keep their forward transform, so every output can be mapped back to the photo.

Protocols (``Variant.crop``):
- ``coarse128``: the x8 models' crop (../shared/data/README.md): a square centred on the 68-landmark box, side
  1.25 x max(w, h), replicate padding, resized to 128 (area when shrinking, cubic when enlarging). No rotation.
- ``ffhq512``: the FFHQ 5-point template at 512 (facexlib), similarity fit with ``cv2.estimateAffinePartial2D``
  (LMEDS), grey border (135, 133, 132).
"""
from __future__ import annotations

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
