"""The face strip: one card per detected face (input and restored thumbnails, score, include, model, re-run).

This is the review step the comparable tools lack (docs/architecture.md#per-face-review): users turn wrong detections
off and pick a model per face instead of restoring every face blindly. Each card also says what made its face (auto's
pick), whether the engine's no-harm check let it into the photo, and when the chosen model is a poor match for the
face's size.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSizePolicy, QVBoxLayout, QWidget)

from .imaging import to_pixmap

THUMB = 88
DEFAULT_LABEL = "default"


def crop_thumbnail(rgb: np.ndarray, box: Sequence[float], margin: float = 0.25) -> np.ndarray:
    """A square crop around a detection box (with some margin) from the display image, for the thumbnail."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(max(0, round(cx - side / 2))), int(max(0, round(cy - side / 2)))
    right, bottom = int(min(w, round(cx + side / 2))), int(min(h, round(cy + side / 2)))
    if right <= left or bottom <= top:
        return np.zeros((4, 4, 3), np.uint8)
    return np.ascontiguousarray(rgb[top:bottom, left:right])


class FaceCard(QFrame):
    selected = Signal(int)
    includeChanged = Signal(int, bool)
    modelChanged = Signal(int, str)  # "" = the default model
    rerun = Signal(int)

    def __init__(self, index: int, score: float, thumb: np.ndarray, models: Sequence[str], default_model: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.index = index
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName(f"face{index + 1}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        pics = QHBoxLayout()
        self.input_label = QLabel()
        self.output_label = QLabel("…")
        for lbl in (self.input_label, self.output_label):
            lbl.setFixedSize(THUMB, THUMB)
            lbl.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lbl.setStyleSheet("background:#222; color:#aaa")
            pics.addWidget(lbl)
        self.input_label.setToolTip("detected face (input)")
        self.output_label.setToolTip("restored face")
        self.input_label.setPixmap(to_pixmap(thumb).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                            Qt.TransformationMode.SmoothTransformation))
        lay.addLayout(pics)
        row = QHBoxLayout()
        self.include = QCheckBox(f"#{index + 1}")
        self.include.setChecked(True)
        self.include.setToolTip("restore this face (untick wrong detections)")
        self.include.toggled.connect(lambda on: self.includeChanged.emit(self.index, on))
        self.score = QLabel(f"score {score:.2f}")
        row.addWidget(self.include)
        row.addStretch(1)
        row.addWidget(self.score)
        lay.addLayout(row)
        status = QHBoxLayout()
        self.pick = QLabel("")
        self.pick.setObjectName("pick")
        self.pick.setToolTip("the model that made this face (auto: the variant it chose for the face's size)")
        self.check = QLabel("")
        self.check.setObjectName("check")
        self.check.setVisible(False)
        status.addWidget(self.pick, 1)
        status.addWidget(self.check)
        lay.addLayout(status)
        self.warning = QLabel("")
        self.warning.setObjectName("warning")
        self.warning.setWordWrap(True)
        self.warning.setMaximumWidth(2 * THUMB + 8)
        self.warning.setStyleSheet("QLabel#warning { color: #e0a000; font-size: 10px; }")
        self.warning.setVisible(False)
        lay.addWidget(self.warning)
        row2 = QHBoxLayout()
        self.model = QComboBox()
        self.model.setToolTip("model for this face")
        self.set_models(models, default_model)
        self.model.currentIndexChanged.connect(self._model_changed)
        self.rerun_button = QPushButton("Re-run")
        self.rerun_button.setToolTip("restore only this face again with its model")
        self.rerun_button.clicked.connect(lambda: self.rerun.emit(self.index))
        row2.addWidget(self.model, 1)
        row2.addWidget(self.rerun_button)
        lay.addLayout(row2)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_models(self, models: Sequence[str], default_model: str, current: str | None = None) -> None:
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItem(f"{DEFAULT_LABEL} ({default_model})", "")
        for m in models:
            self.model.addItem(m, m)
        idx = self.model.findData(current or "")
        self.model.setCurrentIndex(max(idx, 0))
        self.model.blockSignals(False)

    def _model_changed(self) -> None:
        self.modelChanged.emit(self.index, self.model.currentData() or "")

    def set_output(self, rgb: np.ndarray | None, note: str = "") -> None:
        if rgb is None:
            self.output_label.setPixmap(to_pixmap(np.zeros((1, 1, 3), np.uint8)).scaled(1, 1))
            self.output_label.setText(note or "…")
            return
        self.output_label.setPixmap(to_pixmap(rgb).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                          Qt.TransformationMode.SmoothTransformation))
        self.output_label.setToolTip(note or "restored face")

    def set_status(self, pick: str, verdict: str = "", passed: bool | None = None, warning: str = "",
                   tooltip: str = "", warning_detail: str = "") -> None:
        """What made the face, the no-harm check's verdict (green ✓ / red ✗), and why the model is a poor match."""
        self.pick.setText(pick)
        self.check.setText(verdict)
        self.check.setVisible(bool(verdict))
        colour = "#30c050" if passed else "#e04040"
        self.check.setStyleSheet(f"QLabel#check {{ color: white; background: {colour}; padding: 0 3px; }}")
        self.check.setToolTip(tooltip or "no-harm check: the restored face shrunk back against the photo")
        self.pick.setToolTip(tooltip or "the model that made this face")
        self.warning.setText(f"⚠ {warning}" if warning else "")
        self.warning.setToolTip(warning_detail or warning)
        self.warning.setVisible(bool(warning))

    def set_selected(self, on: bool) -> None:
        self.setStyleSheet("FaceCard { border: 2px solid #00c8ff; }" if on else "")

    def set_busy(self, busy: bool) -> None:
        self.rerun_button.setEnabled(not busy)
        if busy:
            self.output_label.setText("working…")

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.selected.emit(self.index)
        super().mousePressEvent(event)


class FaceStrip(QScrollArea):
    """Horizontal list of FaceCards; re-emits their signals with the face index."""

    selected = Signal(int)
    includeChanged = Signal(int, bool)
    modelChanged = Signal(int, str)
    rerun = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.inner = QWidget()
        self.row = QHBoxLayout(self.inner)
        self.row.setContentsMargins(4, 4, 4, 4)
        self.row.addStretch(1)
        self.setWidget(self.inner)
        self.cards: list[FaceCard] = []
        self.empty = QLabel("No faces yet: drop photos on the window or use File > Open.")
        self.row.insertWidget(0, self.empty)
        self.setMinimumHeight(THUMB + 130)  # thumbnails, pick and check, a size warning, model row

    def clear(self) -> None:
        for c in self.cards:
            c.setParent(None)
            c.deleteLater()
        self.cards = []
        self.empty.show()

    def set_message(self, text: str) -> None:
        self.empty.setText(text)

    def set_faces(self, faces: Sequence[tuple[float, np.ndarray, bool, str | None]], models: Sequence[str],
                  default_model: str) -> None:
        """faces: (score, thumbnail, included, model or None) per face."""
        self.clear()
        self.empty.setVisible(not faces)
        for i, (score, thumb, included, model) in enumerate(faces):
            card = FaceCard(i, score, thumb, models, default_model)
            card.include.blockSignals(True)
            card.include.setChecked(included)
            card.include.blockSignals(False)
            if model:
                card.set_models(models, default_model, model)
            card.selected.connect(self.selected)
            card.includeChanged.connect(self.includeChanged)
            card.modelChanged.connect(self.modelChanged)
            card.rerun.connect(self.rerun)
            self.row.insertWidget(self.row.count() - 1, card, 0, Qt.AlignmentFlag.AlignTop)
            self.cards.append(card)

    def set_selected(self, index: int | None) -> None:
        for c in self.cards:
            c.set_selected(c.index == index)
        if index is not None and 0 <= index < len(self.cards):
            self.ensureWidgetVisible(self.cards[index])
