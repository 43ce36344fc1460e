"""Render resources/icons/fsr-studio.svg to the PNG sizes desktops and PyInstaller want (run after editing the SVG).

    python packaging/render_icons.py
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (256, 128, 64, 48, 32)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QPainter needs an application
    renderer = QSvgRenderer(str(ICONS / "fsr-studio.svg"))
    if not renderer.isValid():
        print("fsr-studio.svg is not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QColor(0, 0, 0, 0))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        name = "fsr-studio.png" if size == 256 else f"fsr-studio-{size}.png"
        image.save(str(ICONS / name))
        print(ICONS / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
