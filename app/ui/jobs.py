"""Background jobs: run a plain function on a QThreadPool and report back through Qt signals.

The function gets ``progress(done, total, message)`` and ``cancel() -> bool`` keyword arguments, the same callback
protocol as the engine's ``restore_faces``/``restore_photo``, so engine calls are passed through unchanged. Signals are
queued to the UI thread, which therefore never waits on a model.
"""
from __future__ import annotations

import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class JobSignals(QObject):
    progress = Signal(int, int, str)  # done, total, message
    finished = Signal(object)  # the function's return value
    failed = Signal(str, str)  # reason (one line or a few), traceback text
    cancelled = Signal()
    done = Signal()  # after any of the three above


class Job(QRunnable):
    """One call of ``fn(*args, progress=..., cancel=..., **kwargs)`` off the UI thread."""

    def __init__(self, title: str, fn: Callable[..., Any], *args: Any, file: str | None = None,
                 pass_callbacks: bool = True, **kwargs: Any):
        super().__init__()
        self.setAutoDelete(False)  # the JobRunner owns it until `done`, so signals outlive run()
        self.title, self.file = title, file
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.pass_callbacks = pass_callbacks
        self.signals = JobSignals()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, done: int, total: int, message: str = "") -> None:
        self.signals.progress.emit(int(done), int(total), str(message))

    def run(self) -> None:  # worker thread
        from engine.restore import Cancelled

        try:
            kwargs = dict(self.kwargs)
            if self.pass_callbacks:
                kwargs.update(progress=self._progress, cancel=self._cancel.is_set)
            result = self.fn(*self.args, **kwargs)
        except Cancelled:
            self.signals.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure reaches the user as a dialog, never a crash
            if self._cancel.is_set():
                self.signals.cancelled.emit()
            else:
                self.signals.failed.emit(describe_error(exc), traceback.format_exc())
        else:
            if self._cancel.is_set():
                self.signals.cancelled.emit()
            else:
                self.signals.finished.emit(result)
        self.signals.done.emit()


def describe_error(exc: BaseException) -> str:
    """The user-facing reason: the exception's own message (engine errors already name the file), plus its type
    when the message alone would be cryptic."""
    text = str(exc).strip()
    if isinstance(exc, (FileNotFoundError, ValueError, RuntimeError)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class JobRunner(QObject):
    """Starts jobs on a private pool and keeps them alive until they report; tracks what is running."""

    changed = Signal()  # a job started or ended (for busy indicators)

    def __init__(self, parent: QObject | None = None, max_threads: int = 1):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        # One model job at a time: on a 2-core laptop parallel jobs only fight over the cores and the memory.
        self.pool.setMaxThreadCount(max_threads)
        self.active: list[Job] = []

    def start(self, job: Job) -> Job:
        self.active.append(job)
        job.signals.done.connect(lambda j=job: self._forget(j))
        self.pool.start(job)
        self.changed.emit()
        return job

    def _forget(self, job: Job) -> None:
        if job in self.active:
            self.active.remove(job)
        self.changed.emit()

    def cancel_all(self) -> None:
        for job in list(self.active):
            job.cancel()

    def busy(self) -> bool:
        return bool(self.active)

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)
