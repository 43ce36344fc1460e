"""numpy <-> Qt image conversion and small drawing helpers shared by the views.

QImages are built in worker threads (QImage is thread-safe, QPixmap is not) and only turned into QPixmaps on the UI
thread, so large photos do not stall it.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap, QTransform


def as_uint8(array: np.ndarray) -> np.ndarray:
    """16-bit scaled (rounded) to 8 bits, anything else clipped to 0..255."""
    a = np.asarray(array)
    if a.dtype == np.uint16:
        a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return a


def to_qimage(array: np.ndarray) -> QImage:
    """uint8 (or uint16) grey / RGB / RGBA -> an independent QImage (the copy keeps the numpy buffer out of Qt)."""
    a = np.ascontiguousarray(as_uint8(array))
    h, w = a.shape[:2]
    if a.ndim == 2:
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8)
    elif a.shape[2] == 3:
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888)
    elif a.shape[2] == 4:
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGBA8888)
    else:
        raise ValueError(f"cannot show an image of shape {a.shape}")
    return img.copy()


def to_display_image(array: np.ndarray) -> QImage:
    """A QImage already in the screen's pixel format (RGB32), so that turning it into a QPixmap on the UI thread is
    a ~1 ms copy instead of a ~60 ms conversion for a 10-megapixel photo. Call it in a worker thread.

    The pixel conversion is done by OpenCV, which releases the GIL; QImage.convertToFormat holds it and stalled the
    UI thread for 80-250 ms on the 11-megapixel Solvay photo. Only the final memcpy into Qt-owned memory holds it.
    """
    import cv2

    a = as_uint8(array)
    codes = {1: cv2.COLOR_GRAY2BGRA, 3: cv2.COLOR_RGB2BGRA, 4: cv2.COLOR_RGBA2BGRA}
    key = 1 if a.ndim == 2 else (a.shape[2] if a.ndim == 3 else 0)
    if a.ndim not in (2, 3) or key not in codes:
        raise ValueError(f"cannot show an image of shape {a.shape}")
    bgra = cv2.cvtColor(np.ascontiguousarray(a), codes[key])  # RGB32 is 0xffRRGGBB: B, G, R, A bytes in memory
    if key == 4:
        bgra[:, :, 3] = 255  # RGB32 ignores alpha, as convertToFormat did
    h, w = bgra.shape[:2]
    return QImage(bgra.data, w, h, bgra.strides[0], QImage.Format.Format_RGB32).copy()


def to_pixmap(array: np.ndarray | QImage) -> QPixmap:
    return QPixmap.fromImage(array if isinstance(array, QImage) else to_qimage(array))


def qimage_to_array(img: QImage) -> np.ndarray:
    """QImage -> HxWx4 uint8 RGBA (for tests and screenshots)."""
    img = img.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = img.height(), img.width()
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes())
    return buf.reshape(h, img.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()


def affine_to_qtransform(m: np.ndarray) -> QTransform:
    """2x3 affine [[a, b, tx], [c, d, ty]] (x' = a x + b y + tx) -> QTransform (row-vector convention)."""
    m = np.asarray(m, np.float64)
    return QTransform(m[0, 0], m[1, 0], m[0, 1], m[1, 1], m[0, 2], m[1, 2])


def badge_pixmap(text: str, fg: str = "#ffffff", bg: str = "#335577") -> QPixmap:
    """A small rounded label (time/metric badges drawn on image panes)."""
    from PySide6.QtGui import QFont, QFontMetrics

    font = QFont()
    font.setPointSize(8)
    fm = QFontMetrics(font)
    w, h = fm.horizontalAdvance(text) + 10, fm.height() + 4
    pm = QPixmap(w, h)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(bg))
    p.setPen(QColor(bg))
    p.drawRoundedRect(0, 0, w - 1, h - 1, 4, 4)
    p.setPen(QColor(fg))
    p.setFont(font)
    p.drawText(5, fm.ascent() + 2, text)
    p.end()
    return pm
