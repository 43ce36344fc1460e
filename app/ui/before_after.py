"""Before/After: the whole restored photo at full resolution with a draggable split (original left, restored right).

The original is drawn scaled up to the restored size under a clipping rectangle, so moving the split is only a change
of that rectangle's width: no image is recomputed, and the view stays smooth on a 20-megapixel result.
Left-drag moves the split (as in imgsli/Upscayl), right- or middle-drag pans, the wheel zooms.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPen, QPixmap
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsLineItem, QGraphicsPixmapItem, QGraphicsRectItem, QHBoxLayout,
                               QLabel, QSlider, QVBoxLayout, QWidget)

from .imaging import to_pixmap
from .zoomview import ZoomView


class SplitView(ZoomView):
    splitChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDragMode(ZoomView.DragMode.NoDrag)
        self.after_item: QGraphicsPixmapItem | None = None
        self.before_item: QGraphicsPixmapItem | None = None
        self.clip: QGraphicsRectItem | None = None
        self.line: QGraphicsLineItem | None = None
        self.split = 0.5
        self._size = (0, 0)
        self._dragging = False
        self._pan_from: QPointF | None = None

    def content_rect(self) -> QRectF:
        return QRectF(0, 0, *self._size)

    def has_images(self) -> bool:
        return self.after_item is not None

    def clear_images(self) -> None:
        self.scene().clear()
        self.after_item = self.before_item = self.clip = self.line = None
        self._size = (0, 0)

    def set_images(self, before: np.ndarray | QImage, after: np.ndarray | QImage) -> None:
        """Original and restored photo (numpy, or QImages prepared off the UI thread with to_display_image)."""
        after_pm, before_pm = to_pixmap(after), self._before_pixmap(before)
        w, h = after_pm.width(), after_pm.height()
        keep = self._size == (w, h) and not self._fit
        state = self.view_state() if keep else None
        self.clear_images()
        self._size = (w, h)
        self.after_item = self.scene().addPixmap(after_pm)
        self.clip = QGraphicsRectItem(0, 0, w * self.split, h)
        self.clip.setPen(QPen(Qt.PenStyle.NoPen))
        self.clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self.scene().addItem(self.clip)
        self.before_item = QGraphicsPixmapItem(before_pm, self.clip)
        self.before_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.before_item.setScale(w / before_pm.width())  # the original, enlarged to the restored size
        pen = QPen(QColor("#ffffff"), 2)
        pen.setCosmetic(True)
        self.line = self.scene().addLine(w * self.split, 0, w * self.split, h, pen)
        self.line.setZValue(10)
        self.setSceneRect(self.content_rect())
        if state is not None:
            self.apply_view_state(state)
        else:
            self.fit()

    def _before_pixmap(self, before: np.ndarray | QImage) -> QPixmap:
        """The original rarely changes between restorations: reuse its pixmap (an 11 MP upload costs the UI thread
        ~20 ms)."""
        cached = getattr(self, "_before_cache", None)
        if cached is None or cached[0] is not before:
            self._before_cache = (before, to_pixmap(before))
        return self._before_cache[1]

    def set_split(self, fraction: float) -> None:
        fraction = float(min(max(fraction, 0.0), 1.0))
        changed = abs(fraction - self.split) > 1e-9
        self.split = fraction
        w, h = self._size
        if self.clip is not None and self.line is not None:
            self.clip.setRect(0, 0, w * fraction, h)
            self.line.setLine(w * fraction, 0, w * fraction, h)
        if changed:
            self.splitChanged.emit(fraction)

    def split_x_in_view(self) -> int:
        """Viewport x of the split line (tests drag from here)."""
        return self.mapFromScene(QPointF(self._size[0] * self.split, self._size[1] / 2)).x()

    # ----- mouse ------------------------------------------------------------------------------------------------------
    def _split_from(self, event: QMouseEvent) -> None:
        if self._size[0]:
            self.set_split(self.mapToScene(event.position().toPoint()).x() / self._size[0])

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.has_images():
            self._dragging = True
            self._split_from(event)
            event.accept()
            return
        if event.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging:
            self._split_from(event)
            event.accept()
            return
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        if self.has_images():
            near = abs(event.position().x() - self.split_x_in_view()) < 8
            self.viewport().setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._dragging = False
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
        super().mouseReleaseEvent(event)


class BeforeAfterTab(QWidget):
    """SplitView plus a slider mirroring the split and a caption (sizes, which models made the result)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.caption = QLabel("Restore a photo to compare it with the original.")
        lay.addWidget(self.caption)
        self.view = SplitView()
        lay.addWidget(self.view, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Before"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setValue(500)
        self.slider.setToolTip("position of the split (you can also drag on the image)")
        row.addWidget(self.slider, 1)
        row.addWidget(QLabel("After"))
        lay.addLayout(row)
        self.slider.valueChanged.connect(lambda v: self.view.set_split(v / 1000.0))
        self.view.splitChanged.connect(self._sync_slider)

    def _sync_slider(self, fraction: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(fraction * 1000))
        self.slider.blockSignals(False)

    def show_result(self, before: np.ndarray | QImage, after: np.ndarray | QImage, caption: str) -> None:
        self.view.set_images(before, after)
        self.caption.setText(caption)

    def clear(self, caption: str = "Restore a photo to compare it with the original.") -> None:
        self.view.clear_images()
        self.caption.setText(caption)
