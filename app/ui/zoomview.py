"""A QGraphicsView with wheel zoom around the cursor, drag to pan, fit-to-window, and a sync signal.

Used by the photo view, every Compare pane and the Before/After view; ``ViewSync`` ties several of them together so
zooming or panning one moves the others to the same place in normalised image coordinates (panes whose images differ
in size, e.g. the 16 px input and a 512 px SPARNetHD output, still line up).
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget


class ZoomView(QGraphicsView):
    viewChanged = Signal()  # zoom or pan by the user

    ZOOM_STEP = 1.25
    MIN_ZOOM, MAX_ZOOM = 0.02, 64.0

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.SmoothPixmapTransform | QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)
        # Photos dropped on any view go to the main window's drop handler, not to the scene.
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)
        self._fit = True  # keep fitting on resize until the user zooms
        self._syncing = False
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)

    # ----- content --------------------------------------------------------------------------------------------------
    def content_rect(self) -> QRectF:
        """The image area in scene coordinates (subclasses with overlays larger than the image override this)."""
        return self.scene().itemsBoundingRect()

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        factor = min(max(factor, self.MIN_ZOOM), self.MAX_ZOOM)
        centre = anchor if anchor is not None else self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.scale(factor, factor)
        self.centerOn(centre)
        self._fit = False
        self.viewChanged.emit()

    def fit(self) -> None:
        rect = self.content_rect()
        if rect.isEmpty():
            return
        self.setSceneRect(rect)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self._fit = True
        self.viewChanged.emit()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    # ----- events -------------------------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        new = self.zoom() * (self.ZOOM_STEP ** steps)
        if self.MIN_ZOOM <= new <= self.MAX_ZOOM:
            self.scale(self.ZOOM_STEP ** steps, self.ZOOM_STEP ** steps)
            self._fit = False
            self.viewChanged.emit()
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def _scrolled(self) -> None:
        if not self._syncing:
            self.viewChanged.emit()

    # ----- normalised view state for synchronisation ----------------------------------------------------------------
    def view_state(self) -> tuple[float, float, float]:
        """(centre x, centre y) as fractions of the content, and pixels of screen per content width."""
        rect = self.content_rect()
        if rect.isEmpty():
            return 0.5, 0.5, 1.0
        c = self.mapToScene(self.viewport().rect().center())
        return ((c.x() - rect.left()) / rect.width(), (c.y() - rect.top()) / rect.height(),
                self.zoom() * rect.width())

    def apply_view_state(self, state: tuple[float, float, float]) -> None:
        rect = self.content_rect()
        if rect.isEmpty():
            return
        fx, fy, screen_width = state
        self._syncing = True
        try:
            self.resetTransform()
            z = screen_width / rect.width()
            self.scale(z, z)
            self.centerOn(rect.left() + fx * rect.width(), rect.top() + fy * rect.height())
            self._fit = False
        finally:
            self._syncing = False


class ViewSync:
    """Keep several ZoomViews showing the same region (by fractions of their content)."""

    def __init__(self) -> None:
        self.views: list[ZoomView] = []
        self._busy = False

    def add(self, view: ZoomView) -> None:
        self.views.append(view)
        view.viewChanged.connect(lambda v=view: self.follow(v))

    def follow(self, leader: ZoomView) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            state = leader.view_state()
            for v in self.views:
                if v is not leader:
                    v.apply_view_state(state)
        finally:
            self._busy = False
