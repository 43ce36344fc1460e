"""The photo view: the input photo with a box per face and the per-face overlays (priors, attention, and the no-harm
check's consistency map).

Overlays are drawn in each face's crop coordinates under the crop's inverse transform, so they sit exactly where the
model saw the face (rotated FFHQ crops included) without resampling anything on the UI thread.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen, QPixmap, QTransform
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem,
                               QGraphicsRectItem, QGraphicsSimpleTextItem, QWidget)

from ..overlays import FaceOverlay
from .imaging import affine_to_qtransform, to_pixmap
from .zoomview import ZoomView

OVERLAYS = ("boxes", "landmarks", "parsing", "attention", "consistency")
Z_ORDER = {"consistency": 4, "parsing": 5, "attention": 6}


class FaceBox(QGraphicsRectItem):
    """A clickable face rectangle with its number and detection score."""

    def __init__(self, index: int, box: Sequence[float], score: float, included: bool):
        x0, y0, x1, y1 = (float(v) for v in box)
        super().__init__(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.index = index
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.label = QGraphicsSimpleTextItem(f"{index + 1}  {score:.2f}", self)
        self.label.setBrush(QBrush(QColor("#ffee00")))
        self.label.setPos(x0, y1 + 1)
        scale = max((x1 - x0) / 110.0, 0.35)
        self.label.setScale(scale)
        self.set_state(included, False)

    def set_state(self, included: bool, selected: bool) -> None:
        colour = QColor("#00e0ff") if selected else (QColor("#30ff60") if included else QColor("#ff5050"))
        pen = QPen(colour, 3 if selected else 2)
        pen.setCosmetic(True)
        if not included:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)


class PhotoView(ZoomView):
    faceClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.photo_item: QGraphicsPixmapItem | None = None
        self.boxes: list[FaceBox] = []
        self.layers: dict[str, list[QGraphicsItem]] = {name: [] for name in OVERLAYS if name != "boxes"}
        self.visible = {name: name == "boxes" for name in OVERLAYS}
        self.selected: int | None = None
        self.layers_shown: tuple | None = None  # which face results the overlay items were drawn from
        self._size = (0, 0)

    def content_rect(self) -> QRectF:
        w, h = self._size
        return QRectF(0, 0, w, h)

    # ----- content ------------------------------------------------------------------------------------------------
    def clear_photo(self) -> None:
        self.scene().clear()
        self.photo_item, self.boxes = None, []
        self.layers = {name: [] for name in self.layers}
        self.layers_shown = None
        self._size = (0, 0)

    def set_photo(self, image: np.ndarray | QImage | QPixmap) -> None:
        keep_view = self._size != (0, 0)
        self.clear_photo()
        pm = image if isinstance(image, QPixmap) else to_pixmap(image)
        self.photo_item = self.scene().addPixmap(pm)
        self.photo_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.photo_item.setZValue(0)
        self._size = (pm.width(), pm.height())
        self.setSceneRect(self.content_rect())
        if not keep_view or self._fit:
            self.fit()

    def set_faces(self, faces: Sequence[tuple[Sequence[float], float, bool]], selected: int | None = None) -> None:
        """faces: (box, score, included) per face, in photo pixels."""
        for b in self.boxes:
            self.scene().removeItem(b)
        self.boxes = [FaceBox(i, box, score, inc) for i, (box, score, inc) in enumerate(faces)]
        for b in self.boxes:
            b.setZValue(10)
            b.setVisible(self.visible["boxes"])
            self.scene().addItem(b)
        self.selected = selected
        self._restyle(faces)

    def _restyle(self, faces: Sequence[tuple[Sequence[float], float, bool]]) -> None:
        for b, (_, _, inc) in zip(self.boxes, faces):
            b.set_state(inc, b.index == self.selected)

    def select(self, index: int | None, faces: Sequence[tuple[Sequence[float], float, bool]]) -> None:
        self.selected = index
        self._restyle(faces)

    def set_overlays(self, overlays: Sequence[Sequence[FaceOverlay] | None]) -> None:
        """Replace every face's overlay items (one entry per face; None where nothing is known yet)."""
        for items in self.layers.values():
            for it in items:
                self.scene().removeItem(it)
        self.layers = {name: [] for name in self.layers}
        for per_face in overlays:
            for ov in per_face or ():
                self._add_overlay(ov)
        self._apply_visibility()

    def _add_overlay(self, ov: FaceOverlay) -> None:
        to_photo = affine_to_qtransform(ov.crop_to_photo)
        for name, rgba in (("parsing", ov.parsing_rgba), ("attention", ov.attention_rgba),
                           ("consistency", ov.consistency_rgba)):
            if rgba is None:
                continue
            item = QGraphicsPixmapItem(to_pixmap(rgba))
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            s = ov.crop_size / rgba.shape[1]
            # Map pixel j (centre j + 0.5 in item units) lies at crop coordinate (j + 0.5) * s - 0.5 (engine
            # convention: pixel centres at integers), then the crop goes to photo coordinates, and photo pixel x is
            # drawn centred at scene x + 0.5.
            item.setTransform(QTransform.fromScale(s, s) * QTransform.fromTranslate(-0.5, -0.5) * to_photo
                              * QTransform.fromTranslate(0.5, 0.5))
            item.setZValue(Z_ORDER[name])
            self.scene().addItem(item)
            self.layers[name].append(item)
        if ov.landmarks is not None:
            pts = np.asarray(ov.landmarks, np.float64)
            photo_pts = pts @ ov.crop_to_photo[:, :2].T + ov.crop_to_photo[:, 2]  # engine photo coordinates
            scale = float(np.sqrt(abs(np.linalg.det(ov.crop_to_photo[:, :2]))))
            r = max(0.8, 1.2 * scale)
            path = QPainterPath()
            for x, y in photo_pts + 0.5:  # scene position of a pixel centre
                path.addEllipse(float(x) - r, float(y) - r, 2 * r, 2 * r)
            item = QGraphicsPathItem(path)
            item.setBrush(QBrush(QColor("#ff2bd6")))
            item.setPen(QPen(Qt.PenStyle.NoPen))
            item.setZValue(7)
            item.setData(0, photo_pts)  # tests and exports read the exact points back
            self.scene().addItem(item)
            self.layers["landmarks"].append(item)

    # ----- toggles ------------------------------------------------------------------------------------------------
    def set_overlay_visible(self, name: str, on: bool) -> None:
        self.visible[name] = on
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        for b in self.boxes:
            b.setVisible(self.visible["boxes"])
        for name, items in self.layers.items():
            for it in items:
                it.setVisible(self.visible[name])

    def visible_items(self, name: str) -> list[QGraphicsItem]:
        items = self.boxes if name == "boxes" else self.layers[name]
        return [it for it in items if it.isVisible()]

    def mousePressEvent(self, event) -> None:  # noqa: N802
        item = self.itemAt(event.position().toPoint())
        while item is not None and not isinstance(item, FaceBox):
            item = item.parentItem()
        if isinstance(item, FaceBox) and event.button() == Qt.MouseButton.LeftButton:
            self.faceClicked.emit(item.index)
        super().mousePressEvent(event)


def face_tuples(faces: Sequence[Any]) -> list[tuple[Sequence[float], float, bool]]:
    """FaceItems -> the (box, score, included) tuples the view draws."""
    return [(f.detection.box, float(f.detection.score), f.include) for f in faces]
