"""What every part of the backend shares: the job callbacks' types, the `auto` key, and the cancel check."""
from __future__ import annotations

from typing import Callable

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]
AUTO = "auto"  # engine.auto.AUTO: the model key that picks a variant per face (the app's default)


def check_cancel(cancel: Cancel | None) -> None:
    """Raise the engine's Cancelled when the job was cancelled (the jobs' callback protocol)."""
    if cancel and cancel():
        from engine.restore import Cancelled

        raise Cancelled()
