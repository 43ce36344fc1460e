"""Guard against a PySide6 bug that would abort the app: 6.12.0 on Python 3.11 drops a reference to None on every
call of a void C++ method, and once None's reference count reaches zero the interpreter aborts ("Fatal Python error:
none_dealloc"), after only a few thousand calls. pyproject.toml excludes that version; this module keeps an app that
runs on it anyway alive by measuring the leak once and, if there is one, topping None's count up from a timer (the
leak becomes 8 bytes per call instead of a crash).
"""
from __future__ import annotations

import sys

_bank: list[None] = []
_FLOOR = 1_000_000  # keep None's count above this
_TOP_UP = 2_000_000


def none_leak_per_call() -> float:
    """References to None lost per void Qt call (0 on a healthy PySide6)."""
    from PySide6.QtCore import QObject

    obj = QObject()
    n = 200
    before = sys.getrefcount(None)
    for _ in range(n):
        obj.setObjectName("probe")  # void
    return max(0.0, (before - sys.getrefcount(None)) / n)


def _top_up() -> None:
    if sys.getrefcount(None) < _FLOOR:
        _bank.extend([None] * _TOP_UP)


def install_guard(app) -> bool:
    """Start the top-up timer if this PySide6 leaks; returns whether it does. Call once after QApplication."""
    if none_leak_per_call() < 0.5:
        return False
    from PySide6.QtCore import QTimer

    _top_up()
    _bank.extend([None] * _TOP_UP)
    timer = QTimer(app)
    timer.setInterval(250)
    timer.timeout.connect(_top_up)
    timer.start()
    app._none_guard = timer  # keep it alive with the app
    import PySide6

    print(f"fsr-studio: PySide6 {PySide6.__version__} leaks references to None; a guard keeps the app running. "
          f"Install another version (pip install 'PySide6-Essentials!=6.12.0').", file=sys.stderr)
    return True
