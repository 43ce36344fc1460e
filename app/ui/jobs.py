"""Background jobs: run plain functions on a worker thread and report back through Qt signals.

The function gets ``progress(done, total, message)`` and ``cancel() -> bool`` keyword arguments, the same callback
protocol as the engine's ``restore_faces``/``restore_photo``, so engine calls are passed through unchanged. Signals are
queued to the UI thread, which therefore never waits on a model.

Each JobRunner owns one long-lived worker thread that takes jobs from a queue, rather than a QThreadPool: a pool
thread gets a fresh Python thread state for every job, and dlib's pybind11 bindings cache the thread state of the
first job and crash (segfault in take_gil) when a later job on the same OS thread calls back into Python. One thread
per runner, alive for the runner's lifetime, keeps a single thread state; one job at a time is also what a 2-core
laptop wants for model work.
"""
from __future__ import annotations

import queue
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal


class JobSignals(QObject):
    progress = Signal(int, int, str)  # done, total, message
    finished = Signal(object)  # the function's return value
    failed = Signal(str, str)  # reason (one line or a few), traceback text
    cancelled = Signal()
    done = Signal()  # after any of the three above


class Job:
    """One call of ``fn(*args, progress=..., cancel=..., **kwargs)`` off the UI thread."""

    def __init__(self, title: str, fn: Callable[..., Any], *args: Any, file: str | None = None,
                 pass_callbacks: bool = True, **kwargs: Any):
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

        if self._cancel.is_set():  # cancelled while it waited in the queue
            self.signals.cancelled.emit()
            self.signals.done.emit()
            return
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
    """Runs jobs one after another on its own worker thread and keeps them until they report."""

    changed = Signal()  # a job started or ended (for busy indicators)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.active: list[Job] = []  # queued or running, in order
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            # daemon: a job stuck in a C call cannot keep the process alive after the window closed
            self._thread = threading.Thread(target=self._loop, name="fsr-studio-worker", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job.run()
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def start(self, job: Job) -> Job:
        self.active.append(job)
        job.signals.done.connect(lambda j=job: self._forget(j))
        with self._idle:
            self._pending += 1
        self._ensure_thread()
        self._queue.put(job)
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
        """Block until every queued job has run (its `done` signal may still be queued for the UI thread)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, None if msecs < 0 else msecs / 1000)

    def shutdown(self, msecs: int = 5000) -> None:
        self.cancel_all()
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(msecs / 1000)
