"""Face detection behind one interface: boxes, scores, 5 landmarks (68 when the back end has them).

Back ends live in a registry (``BACKENDS``) so the GUI, the CLI and the trainer pick one by name:
- ``dlib`` (default): offline on a fresh install; HOG detector + the 68-point predictor shipped by
  ``face-recognition-models`` (found with importlib, because its ``__init__`` needs the removed ``pkg_resources``).
- ``insightface``: SCRFD from a user-supplied ONNX file or model-pack folder (``insightface.model_zoo.get_model``).
- ``yunet``: OpenCV ``cv2.FaceDetectorYN`` with a user-supplied ONNX file.
Nothing is ever downloaded; a missing optional model raises :class:`DetectorModelMissing` saying what to put where.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Detection:
    """One face in photo pixel coordinates (x to the right, y down, pixel centres at integers).

    landmarks5 order (image-left first, as InsightFace/facexlib): left eye, right eye, nose tip, left mouth corner,
    right mouth corner. landmarks68: iBUG-68 order when the back end provides it, else None.
    """

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    score: float
    landmarks5: np.ndarray  # 5 x 2 float32
    landmarks68: np.ndarray | None = None  # 68 x 2 float32
    backend: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def center(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2
