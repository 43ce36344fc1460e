"""Open the desktop app, with the given photos or folders loaded (`fsr-studio`, `fsr-studio PHOTO ...` and
`fsr-studio gui [PHOTO ...]`). The window needs the `gui` extra (PySide6, pyqtgraph); without it this command says so
and every other command still works."""
from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Sequence

GUI_PACKAGES = {"PySide6": "PySide6-Essentials", "pyqtgraph": "pyqtgraph"}  # module -> distribution


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PHOTO_OR_FOLDER", help="photos or folders to open")


def missing_packages() -> list[str]:
    """The GUI's distributions that are not installed (checked without importing them)."""
    missing = []
    for module, dist in GUI_PACKAGES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(dist)
    return missing


def launch(paths: Sequence[str]) -> int:
    """Open the window with `paths` loaded and run until it is closed; a clear message when the GUI is not installed."""
    missing = missing_packages()
    if missing:
        print(f"fsr-studio: the desktop app needs the 'gui' extra, which is not installed (missing: "
              f"{', '.join(missing)}). Install it with: pip install \"fsr-studio[gui]\". Every command works "
              f"without it: fsr-studio --help", file=sys.stderr)
        return 1
    from app.main import run_gui

    return run_gui(list(paths))


def run(args: argparse.Namespace) -> int:
    return launch(args.paths)
