"""Main window: drop photos, faces, overlays, compare panes, the before/after split, bad files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from .conftest import wait_idle


def drop(window, paths: list[Path]) -> None:
    """A real drag-enter + drop of file URLs on the window, as a file manager sends it."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = window.rect().center()
    enter = QDragEnterEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    ev = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, ev)
    assert ev.isAccepted()


def test_drop_loads_detects_and_restores(qtbot, make_window, tiny_weights, photo):
    w = make_window()
    drop(w, [photo])
    assert [d.path for d in w.controller.session.photos] == [photo]
    wait_idle(qtbot, w)
    doc = w.controller.session.photos[0]
    assert doc.status == "restored", doc.error
    assert len(doc.faces) == 3
    assert len(w.face_strip.cards) == 3
    assert len(w.photo_view.boxes) == 3
    assert doc.restored.shape[:2] == (882, 2160)
    assert all(f.has_output("fsrnet") for f in doc.faces)
