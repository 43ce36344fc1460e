"""The fine-tune dialog's process controller: runs the trainer (`fsr-studio prepare` / `train`) as a child process
for a Qt-free app.training_run.TrainingRun, and reports through signals.

The run model decides (what an exit means, which lines to log); this class only starts, reads, stops and kills
processes, and tells the app's controller what it needs to know (new weights: refresh the model list; failures: the
Problems window). Cancel is a CANCEL file plus SIGTERM, which the trainer turns into a checkpoint; a trainer that
ignores it for a minute (stuck in I/O) is killed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from ..training import TrainRequest, trainer_command
from ..training_run import Launch, Phase, TrainingRun

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KILL_AFTER_MS = 60_000  # a trainer that ignores SIGTERM this long (stuck in I/O) is killed


class TrainerProcess(QObject):
    logged = Signal(str)  # a line for the log
    changed = Signal()  # the run's state changed (events arrived): redraw when convenient
    processChanged = Signal()  # a process started or ended: redraw now (buttons)

    def __init__(self, controller: Any, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = controller  # app.ui.controller.Controller
        self.run = TrainingRun()
        self.process: QProcess | None = None
        self.kill_timer = QTimer(self)
        self.kill_timer.setSingleShot(True)
        self.kill_timer.timeout.connect(self._kill)

    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, request: TrainRequest) -> None:
        """Start a new run (the request is checked by the caller: training_run.check_request)."""
        self._launch(self.run.begin(request))

    def resume(self) -> bool:
        if self.running() or self.run.request is None:
            return False
        launch = self.run.resume()
        self.logged.emit("resuming from the last checkpoint")
        self._launch(launch)
        return True

    def cancel(self) -> None:
        """Ask the trainer to stop: a CANCEL file in the run folder and SIGTERM; it saves a checkpoint and exits."""
        if not self.running() or self.run.request is None:
            return
        self.run.request_cancel()
        self.process.terminate()  # SIGTERM on POSIX
        self.kill_timer.start(KILL_AFTER_MS)
        self.changed.emit()

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Stop a running trainer (with its checkpoint) when the app closes."""
        if self.running():
            self.cancel()
            if not self.process.waitForFinished(wait_ms):
                self.process.kill()
                self.process.waitForFinished(5000)

    def fail(self, message: str) -> None:
        """The run failed: the log, the Problems window, the status line."""
        self.run.fail(message)
        self.logged.emit(f"error: {message}")
        self.controller.report_error("Fine-tuning", self._source(), message)
        self.changed.emit()

    # ----- the process ------------------------------------------------------------------------------------------------
    def _launch(self, launch: Launch) -> None:
        cmd = trainer_command()
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONPATH", os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.value("PYTHONPATH")])))
        proc.setProcessEnvironment(env)
        proc.setWorkingDirectory(str(PROJECT_ROOT))
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._finished)
        proc.errorOccurred.connect(self._process_error)
        self.process = proc
        self.run.launched(launch.phase)
        self.logged.emit("$ " + " ".join([*cmd, *launch.args]))
        proc.start(cmd[0], [*cmd[1:], *launch.args])
        self.processChanged.emit()

    def _read_stdout(self) -> None:
        if self.process is None:
            return
        for line in self.run.read_stdout(bytes(self.process.readAllStandardOutput())):
            self.logged.emit(line)
        self.changed.emit()

    def _read_stderr(self) -> None:
        if self.process is None:
            return
        for line in self.run.read_stderr(bytes(self.process.readAllStandardError()).decode("utf-8", "replace")):
            self.logged.emit(line)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self.kill_timer.stop()
        out = self.run.exited(code, status == QProcess.ExitStatus.CrashExit)
        for line in out.log:
            self.logged.emit(line)
        if out.launch is not None:
            self._launch(out.launch)
            return
        if out.failure:
            self.fail(out.failure)
        elif out.finished:
            self.controller.refresh_models()
            self.controller.notify(out.finished)
        elif out.trainer_error:
            self.controller.report_error("Training failed", self._source(), out.trainer_error)
        self.changed.emit()
        self.processChanged.emit()

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.fail(f"the trainer could not be started ({' '.join(trainer_command())})")
            self.run.start_failed()
            self.processChanged.emit()

    def _kill(self) -> None:
        if self.running():
            self.logged.emit("the trainer did not stop in time: killed (the last checkpoint is kept)")
            self.process.kill()

    def _source(self) -> str:
        return str(self.run.request.source) if self.run.request else ""

    @property
    def phase(self) -> Phase:
        return self.run.phase
