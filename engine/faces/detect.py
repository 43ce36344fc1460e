"""Face detection behind one interface: boxes, scores, 5 landmarks (68 when the back end has them).

Back ends live in a registry (``BACKENDS``) so the GUI, the CLI and the trainer pick one by name:
- ``dlib`` (default): offline on a fresh install; HOG detector + the 68-point predictor shipped by
  ``face-recognition-models`` (found with importlib, because its ``__init__`` needs the removed ``pkg_resources``).
- ``insightface``: SCRFD from a user-supplied ONNX file or model-pack folder (``insightface.model_zoo.get_model``;
  the package is the optional ``detectors`` extra, and its absence is a :class:`DetectorUnavailable` saying so).
- ``yunet``: OpenCV ``cv2.FaceDetectorYN`` with a user-supplied ONNX file.
Nothing is ever downloaded; a missing optional model raises :class:`DetectorModelMissing` saying what to put where.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

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


class DetectorModelMissing(FileNotFoundError):
    """An optional detector's model file is absent; the message says what to put where. Nothing is downloaded."""


class DetectorUnavailable(RuntimeError):
    """A detector back end whose Python package is missing or broken."""


class Detector:
    """A loaded back end. Subclasses implement :meth:`detect` on an HxWx3 uint8 RGB image."""

    name = "base"
    _lock: threading.Lock | None = None
    _lock_guard = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[Detection]:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def lock(self) -> threading.Lock:
        """Detectors are cached and shared; calls from several worker threads take turns on one instance."""
        with Detector._lock_guard:
            if self._lock is None:
                self._lock = threading.Lock()
        return self._lock


# name -> (factory(model_path) -> Detector, one-line description)
BACKENDS: dict[str, tuple[Callable[[Path | None], Detector], str]] = {}


def register_backend(name: str, description: str) -> Callable:
    """Class/function decorator adding a detector factory to the registry under `name`."""

    def wrap(factory: Callable[[Path | None], Detector]) -> Callable[[Path | None], Detector]:
        BACKENDS[name] = (factory, description)
        return factory

    return wrap


@functools.lru_cache(maxsize=8)
def _cached_detector(backend: str, model_path: str | None) -> Detector:
    if backend not in BACKENDS:
        raise ValueError(f"unknown face detector {backend!r}; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[backend][0](Path(model_path) if model_path else None)


def get_detector(backend: str = "dlib", model_path: str | os.PathLike | None = None) -> Detector:
    """The loaded detector (cached: loading dlib's predictor or an ONNX session costs more than a detection)."""
    return _cached_detector(backend, str(Path(model_path).expanduser()) if model_path else None)


def detect_faces(image: np.ndarray, backend: str = "dlib", model_path: str | os.PathLike | None = None, *,
                 min_score: float | None = None) -> list[Detection]:
    """Every face in an RGB photo (HxW, HxWx3 or HxWx4; uint8 or uint16), ordered left to right.

    Raises DetectorModelMissing (optional back end without its model file) or DetectorUnavailable.
    """
    from ..io import to_rgb8

    rgb = to_rgb8(image)
    detector = get_detector(backend, model_path)
    with detector.lock:
        faces = detector.detect(rgb)
    if min_score is not None:
        faces = [f for f in faces if f.score >= min_score]
    return sorted(faces, key=lambda f: (f.center[0], f.center[1]))


def center_face(faces: Sequence[Detection], shape: tuple[int, ...]) -> Detection | None:
    """The face nearest the photo centre, weighted towards large faces (GFPGAN's --only_center_face)."""
    if not faces:
        return None
    cy, cx = shape[0] / 2, shape[1] / 2
    return min(faces, key=lambda f: np.hypot(f.center[0] - cx, f.center[1] - cy) - 0.5 * max(f.width, f.height))


# ----- landmarks --------------------------------------------------------------------------------------------------
def five_from_68(points68: np.ndarray) -> np.ndarray:
    """iBUG-68 -> the 5 points of the FFHQ template: eye centres, nose tip, mouth corners (image-left first)."""
    p = np.asarray(points68, dtype=np.float32)
    return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]]).astype(np.float32)


def order_five(points5: np.ndarray) -> np.ndarray:
    """Make sure eyes and mouth corners are image-left first, whatever the back end's convention."""
    p = np.asarray(points5, dtype=np.float32).reshape(5, 2).copy()
    if p[0, 0] > p[1, 0]:
        p[[0, 1]] = p[[1, 0]]
    if p[3, 0] > p[4, 0]:
        p[[3, 4]] = p[[4, 3]]
    return p


def models_dir() -> Path:
    """Where optional detector models are looked for when no path is given: <user models folder>/detectors."""
    from ..zoo import user_models_dir

    return user_models_dir() / "detectors"


def _find_model(backend: str, model_path: Path | None, patterns: Sequence[str], what: str) -> Path:
    """A file given directly, or the first file matching `patterns` in the given folder (or models_dir())."""
    folder = model_path if model_path is not None and model_path.is_dir() else None
    if model_path is not None and model_path.is_file():
        return model_path
    if model_path is not None and folder is None:
        raise DetectorModelMissing(f"the {backend!r} face detector model {model_path} does not exist; {what}")
    search = [folder] if folder is not None else [models_dir()]
    for d in search:
        for pattern in patterns:
            hits = sorted(d.glob(pattern)) if d.is_dir() else []
            if hits:
                return hits[0]
    where = search[0]
    raise DetectorModelMissing(
        f"the {backend!r} face detector needs a model file: {what}. Put it into {where} or pass its path with "
        f"--detector-model PATH (Python: detector_model=PATH). Nothing is downloaded; the default 'dlib' detector "
        f"works without any extra file.")


# ----- dlib (default, offline) ------------------------------------------------------------------------------------
def dlib_models_dir() -> Path:
    """The models/ folder of face-recognition-models, found without importing it (it needs pkg_resources)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise DetectorUnavailable("the 'dlib' detector needs the 'face-recognition-models' package: "
                                  "pip install face-recognition-models")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@register_backend("dlib", "dlib HOG detector + 68-point predictor (default, offline, no extra files)")
class DlibDetector(Detector):
    """HOG + linear SVM; finds frontal faces from ~40 px (with one upsampling) to any size; 68 landmarks."""

    name = "dlib"

    def __init__(self, model_path: Path | None = None, upsample: int | None = None, threshold: float = 0.0):
        try:
            import dlib
        except ImportError as exc:
            raise DetectorUnavailable(f"the 'dlib' detector needs dlib: pip install dlib-bin ({exc})") from exc
        folder = model_path if model_path is not None and model_path.is_dir() else dlib_models_dir()
        predictor = model_path if model_path is not None and model_path.is_file() else \
            folder / "shape_predictor_68_face_landmarks.dat"
        if not predictor.is_file():
            raise DetectorModelMissing(f"dlib's 68-point predictor {predictor} is missing: reinstall "
                                       f"face-recognition-models or pass --detector-model shape_predictor_68_face_"
                                       f"landmarks.dat")
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(predictor))
        self.upsample = upsample
        self.threshold = threshold

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        # One upsampling pass finds 40-80 px faces but costs 4x; large photos already have large faces.
        upsample = self.upsample if self.upsample is not None else (1 if max(rgb.shape[:2]) <= 1400 else 0)
        rects, scores, _ = self._detector.run(rgb, upsample, self.threshold)
        faces = []
        for rect, raw in zip(rects, scores):
            shape = self._predictor(rgb, rect)
            pts68 = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
            faces.append(Detection(
                box=(float(rect.left()), float(rect.top()), float(rect.right() + 1), float(rect.bottom() + 1)),
                score=float(1.0 / (1.0 + np.exp(-2.0 * raw))), landmarks5=five_from_68(pts68),
                landmarks68=pts68, backend=self.name, extra={"raw_score": float(raw)}))
        return faces


# ----- InsightFace SCRFD (optional) -------------------------------------------------------------------------------
@register_backend("insightface", "InsightFace SCRFD (user ONNX file or model-pack folder), 5 landmarks")
class InsightFaceDetector(Detector):
    """SCRFD loaded offline with insightface.model_zoo.get_model; never FaceAnalysis (it downloads)."""

    name = "insightface"
    WHAT = ("an SCRFD detection ONNX file, e.g. scrfd_500m_kps.onnx or det_10g.onnx / det_500m.onnx from an "
            "InsightFace model pack (buffalo_l, buffalo_sc)")

    def __init__(self, model_path: Path | None = None, threshold: float = 0.5):
        path = _find_model(self.name, model_path, ("det_*.onnx", "scrfd*.onnx", "*scrfd*.onnx"), self.WHAT)
        try:
            from insightface.model_zoo import get_model
        except ImportError as exc:
            raise DetectorUnavailable(f"the 'insightface' detector needs the optional 'detectors' extra, which is "
                                      f"not installed: pip install \"fsr-studio[detectors]\" ({exc})") from exc
        try:
            model = get_model(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - corrupt/unsupported file
            raise DetectorUnavailable(f"{path}: cannot be loaded as an InsightFace model ({exc})") from exc
        if model is None or getattr(model, "taskname", None) != "detection":
            raise DetectorUnavailable(f"{path}: is not an InsightFace detection model; expected {self.WHAT}")
        self.input_size = tuple(model.input_size) if getattr(model, "input_size", None) else (640, 640)
        model.prepare(ctx_id=-1, input_size=self.input_size, det_thresh=threshold)
        self._model = model
        self.path = path

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        boxes, kps = self._model.detect(bgr, input_size=self.input_size, max_num=0)
        faces = []
        for i, b in enumerate(boxes):
            landmarks = order_five(kps[i]) if kps is not None else _five_from_box(b[:4])
            faces.append(Detection(box=tuple(float(v) for v in b[:4]), score=float(b[4]), landmarks5=landmarks,
                                   backend=self.name))
        return faces


# ----- OpenCV YuNet (optional) ------------------------------------------------------------------------------------
@register_backend("yunet", "OpenCV YuNet (user ONNX file), 5 landmarks")
class YuNetDetector(Detector):
    """cv2.FaceDetectorYN; small and fast, finds faces down to ~10 px."""

    name = "yunet"
    WHAT = "a YuNet ONNX file such as face_detection_yunet_2023mar.onnx or yunet_n_dynamic.onnx (OpenCV Zoo)"

    def __init__(self, model_path: Path | None = None, threshold: float = 0.6, nms: float = 0.3):
        import cv2

        path = _find_model(self.name, model_path, ("*yunet*.onnx",), self.WHAT)
        try:
            self._model = cv2.FaceDetectorYN.create(str(path), "", (320, 320), threshold, nms, 5000)
        except cv2.error as exc:
            raise DetectorUnavailable(f"{path}: cannot be loaded by cv2.FaceDetectorYN ({exc})") from exc
        self.path = path

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        self._model.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, rows = self._model.detect(bgr)
        faces = []
        for r in ([] if rows is None else rows):
            x, y, w, h = (float(v) for v in r[:4])
            faces.append(Detection(box=(x, y, x + w, y + h), score=float(r[14]),
                                   landmarks5=order_five(r[4:14].reshape(5, 2)), backend=self.name))
        return faces


def _five_from_box(box: Sequence[float]) -> np.ndarray:
    """Rough 5 points for a box without landmarks (a detector that gives none): FFHQ template proportions."""
    x0, y0, x1, y1 = box
    rel = np.array([[0.32, 0.42], [0.68, 0.42], [0.5, 0.6], [0.36, 0.78], [0.64, 0.78]], dtype=np.float32)
    return np.stack([x0 + rel[:, 0] * (x1 - x0), y0 + rel[:, 1] * (y1 - y0)], axis=1).astype(np.float32)
