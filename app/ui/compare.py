"""Compare tab: the selected face as the models saw it and as each family restored it, zoomed and panned together.

Each pane has a model picker (so any variant, fine-tune or import, or auto, can take a slot) and badges for the time
the model took on this face and, where computable, the landmark error of its prior and the identity similarity; auto's
pane names the variant it used, and every pane the no-harm check's score.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QGraphicsPixmapItem, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from .imaging import to_pixmap
from .zoomview import ViewSync, ZoomView

# The four families; each slot takes the first model of its list that has weights (or the first one, to say what is
# missing). SPARNetHD works on 512 FFHQ crops, so it stands in for SPARNet only when the x8 model has no weights.
FAMILY_SLOTS: tuple[tuple[str, ...], ...] = (
    ("fsrnet",),
    ("fsrgan",),
    ("sparnet", "sparnethd", "sparnet-light3d", "sparnethd-lite", "sparnethd-3d"),
    ("selfsr", "selfsr-lite"),
)


def pick_slots(available: Sequence[str], known: Sequence[str]) -> list[str]:
    """The model of each family slot: the first with weights, else the first that exists at all."""
    out = []
    for slot in FAMILY_SLOTS:
        with_weights = [m for m in slot if m in available]
        existing = [m for m in slot if m in known]
        out.append((with_weights or existing or [slot[0]])[0])
    return out


class ImagePane(ZoomView):
    """One image with a message when there is nothing to show."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.item: QGraphicsPixmapItem | None = None
        self.message = self.scene().addText("")
        self.message.setDefaultTextColor(Qt.GlobalColor.white)
        self.message.setTextWidth(220)
        self._rect = QRectF()
        self.setMinimumSize(140, 140)

    def content_rect(self) -> QRectF:
        return self._rect

    def set_image(self, rgb: np.ndarray | None, message: str = "") -> None:
        if self.item is not None:
            self.scene().removeItem(self.item)
            self.item = None
        self.message.setPlainText(message)
        self.message.setVisible(bool(message) and rgb is None)
        if rgb is None:
            self._rect = QRectF(0, 0, 240, 120)
            self.setSceneRect(self._rect)
            self.resetTransform()
            return
        self.item = self.scene().addPixmap(to_pixmap(rgb))
        # Nearest-neighbour at high zoom shows what the model really produced, pixel by pixel.
        self.item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self._rect = QRectF(0, 0, rgb.shape[1], rgb.shape[0])
        self.setSceneRect(self._rect)
        self.fit()

    def has_image(self) -> bool:
        return self.item is not None


class ComparePanel(QWidget):
    """Title + model picker + badges above an ImagePane."""

    modelPicked = Signal(str)

    def __init__(self, title: str, models: Sequence[str] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        head = QHBoxLayout()
        self.title = QLabel(f"<b>{title}</b>")
        if models is None:  # the picker shows the model's name itself
            head.addWidget(self.title)
        self.picker: QComboBox | None = None
        if models is not None:
            self.picker = QComboBox()
            self.picker.addItems(list(models))
            self.picker.setCurrentText(title)
            self.picker.currentTextChanged.connect(self._picked)
            head.addWidget(self.picker, 1)
        head.addStretch(0)
        lay.addLayout(head)
        self.badges = QLabel("")
        self.badges.setObjectName("badges")
        self.badges.setStyleSheet("QLabel#badges { color: #ddeeff; background: #335577; padding: 1px 4px; }")
        self.badges.setVisible(False)
        self.badges.setWordWrap(True)  # long badge rows wrap instead of widening the window
        from ..badges import BADGE_HELP

        self.badges.setToolTip(BADGE_HELP)
        lay.addWidget(self.badges)
        self.pane = ImagePane()
        lay.addWidget(self.pane, 1)

    def _picked(self, model: str) -> None:
        self.title.setText(f"<b>{model}</b>")
        self.modelPicked.emit(model)

    @property
    def model(self) -> str:
        return self.picker.currentText() if self.picker else ""

    def set_badges(self, badges: Sequence[str]) -> None:
        self.badges.setText("   ".join(badges))
        self.badges.setVisible(bool(badges))


class CompareTab(QWidget):
    """Input pane plus one pane per family slot; emits `requested` with the models it needs for the face."""

    requested = Signal(list)  # models to run on the selected face

    def __init__(self, models: Sequence[str], slots: Sequence[str], parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.caption = QLabel("Select a face in the photo or the face strip.")
        top.addWidget(self.caption, 1)
        self.run_button = QPushButton("Run all four")
        self.run_button.setToolTip("restore the selected face with every model shown")
        self.run_button.clicked.connect(lambda: self.requested.emit(self.models()))
        self.fit_button = QPushButton("Fit")
        top.addWidget(self.run_button)
        top.addWidget(self.fit_button)
        lay.addLayout(top)
        grid = QGridLayout()
        self.sync = ViewSync()
        self.input_panel = ComparePanel("Input")
        self.panels = [ComparePanel(m, models) for m in slots]
        for i, p in enumerate([self.input_panel, *self.panels]):
            grid.addWidget(p, i // 3, i % 3)
            self.sync.add(p.pane)
        for p in self.panels:
            p.modelPicked.connect(lambda _m: self.requested.emit(self.models()))
        self.fit_button.clicked.connect(self.fit_all)
        lay.addLayout(grid, 1)

    def set_model_list(self, models: Sequence[str], available: Sequence[str]) -> None:
        """Offer `models` in every picker; a pane keeps its model while it has weights, else takes its family slot."""
        slots = pick_slots(available, models)
        for p, slot in zip(self.panels, slots):
            if p.picker is None:
                continue
            current = p.picker.currentText()
            keep = current if current in available else slot
            p.picker.blockSignals(True)
            p.picker.clear()
            p.picker.addItems(list(models))
            p.picker.setCurrentText(keep)
            p.picker.blockSignals(False)
            p.title.setText(f"<b>{keep}</b>")

    def models(self) -> list[str]:
        return [p.model for p in self.panels]

    def fit_all(self) -> None:
        for p in [self.input_panel, *self.panels]:
            p.pane.fit()
        if self.panels:
            self.sync.follow(self.input_panel.pane)

    def clear(self, caption: str = "Select a face in the photo or the face strip.") -> None:
        self.caption.setText(caption)
        for p in [self.input_panel, *self.panels]:
            p.pane.set_image(None, "")
            p.set_badges([])

    def filled_panes(self) -> int:
        return sum(p.pane.has_image() for p in self.panels)
