"""What the figure scripts (real_faces.py, val_faces.py) share: a caption bar above a tile, and captioned columns of
tiles side by side."""
from __future__ import annotations

from typing import Iterable, Sequence

import cv2
import numpy as np


def label(tile: np.ndarray, text: str, scale: float = 0.4, max_chars: int | None = None) -> np.ndarray:
    """`tile` (HxWx3 uint8) under an 18 px white bar with `text` (cut to `max_chars`) in black."""
    bar = np.full((18, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text[:max_chars], (3, 13), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, tile])


def labelled_grid(columns: Iterable[tuple[str, Sequence[np.ndarray]]], scale: float = 0.4,
                  max_chars: int | None = None) -> np.ndarray:
    """(title, tiles) columns -> one image: each column's tiles stacked under its title, the columns side by side."""
    return np.hstack([label(np.vstack(list(tiles)), title, scale, max_chars) for title, tiles in columns])
