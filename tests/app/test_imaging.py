"""numpy -> Qt conversions: the worker-thread display image must show the same pixels as Qt's own conversion."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from app.ui.imaging import qimage_to_array, to_display_image, to_qimage


@pytest.mark.parametrize("shape,dtype", [((7, 5), np.uint8), ((7, 5, 3), np.uint8), ((7, 5, 4), np.uint8),
                                         ((7, 5, 3), np.uint16), ((7, 5, 3), np.float32), ((7, 5, 1), np.uint8)])
def test_display_image_matches_qt_conversion(shape, dtype):
    rng = np.random.default_rng(0)
    hi = 65535 if dtype == np.uint16 else 255
    a = rng.integers(0, hi + 1, size=shape).astype(dtype)
    img = to_display_image(a)
    assert img.format() == QImage.Format.Format_RGB32 and (img.width(), img.height()) == (5, 7)
    qt = to_qimage(a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a).convertToFormat(QImage.Format.Format_RGB32)
    np.testing.assert_array_equal(qimage_to_array(img), qimage_to_array(qt))
    assert (qimage_to_array(img)[:, :, 3] == 255).all()


def test_display_image_owns_its_pixels():
    a = np.full((4, 6, 3), 200, np.uint8)
    img = to_display_image(a)
    a[:] = 0
    del a
    assert (qimage_to_array(img)[:, :, :3] == 200).all()


def test_display_image_rejects_odd_shapes():
    with pytest.raises(ValueError, match="cannot show"):
        to_display_image(np.zeros((4, 4, 2), np.uint8))
