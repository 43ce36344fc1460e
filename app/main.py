"""GUI entry point: ``fsr-studio`` / ``python -m app`` with no arguments, or with photos (or folders) to open."""
from __future__ import annotations

import sys
from typing import Sequence


def create_app(argv: Sequence[str] | None = None):
    """The QApplication (reused if one exists, e.g. under pytest-qt)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "fsr-studio", *(argv or [])])
    from .qtcompat import install_guard

    if not getattr(app, "_fsr_guarded", False):
        install_guard(app)
        app._fsr_guarded = True
    app.setApplicationName("FSR Studio")
    app.setOrganizationName("fsr-studio")
    app.setDesktopFileName("fsr-studio")
    return app


def create_window(paths: Sequence[str] = (), settings=None):
    """The main window with `paths` queued for loading (tests and the screenshot script use this)."""
    from .settings import load_settings
    from .ui.main_window import MainWindow

    window = MainWindow(settings if settings is not None else load_settings())
    if paths:
        window.open_paths(list(paths))
    return window


def run_gui(argv: Sequence[str] | None = None) -> int:
    """Open the window, load the given photos, run until it is closed; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print("usage: fsr-studio [PHOTO_OR_FOLDER ...]\n       fsr-studio COMMAND ... (see fsr-studio --help)")
        return 0
    try:
        app = create_app()
    except Exception as exc:  # noqa: BLE001 - e.g. no display: say so instead of a Qt abort trace
        print(f"fsr-studio: cannot start the window ({exc}); use the command line (fsr-studio --help)",
              file=sys.stderr)
        return 1
    window = create_window(argv)
    window.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(run_gui())
