"""Fine-tune dialog: start the trainer as a separate process, plot its loss and validation PSNR live, cancel with a
checkpoint kept, resume, and put the finished weights into the model list."""
from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QRadioButton, QSpinBox,
                               QSplitter, QVBoxLayout, QWidget)

from ..training import DEGRADATIONS, RunState, TrainRequest, format_eta, trainable_models, trainer_command
from .settings_dialog import PathField

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PALETTE = ("#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8", "#fff176", "#90a4ae")
KILL_AFTER_MS = 60_000  # a trainer that ignores SIGTERM this long (stuck in I/O) is killed


class FineTuneDialog(QDialog):
    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Fine-tune a model")
        self.resize(1000, 700)
        self.setModal(False)
        self.process: QProcess | None = None
        self.request: TrainRequest | None = None
        self.state = RunState()
        self.phase = "idle"  # idle, prepare, train
        self._stdout = b""
        self._dirty = False
        self._cancelling = False
        self._build()
        self.redraw = QTimer(self)
        self.redraw.setInterval(200)  # plots redraw at most 5x per second, however fast events arrive
        self.redraw.timeout.connect(self._refresh)
        self.redraw.start()
        self.kill_timer = QTimer(self)
        self.kill_timer.setSingleShot(True)
        self.kill_timer.timeout.connect(self._kill)

    # ----- layout -------------------------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        form = QFormLayout()
        kind = QHBoxLayout()
        self.from_photos = QRadioButton("Photo folder (faces are found and prepared automatically)")
        self.from_dataset = QRadioButton("Prepared dataset / aligned faces with landmarks68.csv")
        self.from_dataset.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.from_photos)
        group.addButton(self.from_dataset)
        kind.addWidget(self.from_photos)
        kind.addWidget(self.from_dataset)
        form.addRow("Training data", kind)
        self.source = PathField("", folder=True, caption="Training photos or dataset folder")
        form.addRow("Folder", self.source)
        self.val = PathField("", folder=True, caption="Validation folder (HR/, LR_x8/, landmarks68.csv)")
        self.val.edit.setPlaceholderText("optional: the dataset's own val/ split when prepared")
        form.addRow("Validation", self.val)
        self.model = QComboBox()
        self.model.addItems(trainable_models())
        self.model.setCurrentText(self.controller.settings.default_model)
        form.addRow("Model", self.model)
        self.init = QCheckBox("Start from the model's current weights (fine-tune); otherwise from scratch")
        self.init.setChecked(True)
        form.addRow("", self.init)
        self.degradation = QComboBox()
        self.degradation.addItems(DEGRADATIONS)
        self.degradation.setToolTip("bicubic8: the papers' x8 protocol; blind: blur/resize/noise/JPEG (old photos); "
                                    "learned: SelFSR's degradation network")
        form.addRow("Degradation", self.degradation)
        nums = QHBoxLayout()
        self.steps = QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setValue(2000)
        self.batch = QSpinBox()
        self.batch.setRange(1, 512)
        self.batch.setValue(8)
        nums.addWidget(QLabel("steps"))
        nums.addWidget(self.steps)
        nums.addWidget(QLabel("batch"))
        nums.addWidget(self.batch)
        self.lr = QLineEdit()
        self.lr.setPlaceholderText("recipe default")
        self.lr.setToolTip("learning rate; the recipes' defaults are for training from scratch, fine-tuning "
                           "usually wants 5-20x less (e.g. 2e-5)")
        self.lr.setMaximumWidth(130)
        nums.addWidget(QLabel("learning rate"))
        nums.addWidget(self.lr)
        nums.addStretch(1)
        form.addRow("Length", nums)
        lay.addLayout(form)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.cancel_button = QPushButton("Cancel (keep checkpoint)")
        self.resume_button = QPushButton("Resume")
        self.close_button = QPushButton("Close")
        self.cancel_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        for b in (self.start_button, self.cancel_button, self.resume_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        lay.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume)
        self.close_button.clicked.connect(self.close)

        status = QHBoxLayout()
        self.bar = QProgressBar()
        self.status = QLabel("idle")
        self.eta = QLabel("ETA —")
        status.addWidget(self.bar, 1)
        status.addWidget(self.status)
        status.addWidget(self.eta)
        lay.addLayout(status)

        split = QSplitter(Qt.Orientation.Vertical)
        plots = QWidget()
        pl = QHBoxLayout(plots)
        pl.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = pg.PlotWidget(title="training loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.showGrid(x=True, y=True, alpha=0.3)
        self.val_plot = pg.PlotWidget(title="validation PSNR-Y (dB)")
        self.val_plot.setLabel("bottom", "step")
        self.val_plot.showGrid(x=True, y=True, alpha=0.3)
        self.val_curve = self.val_plot.plot([], [], pen=pg.mkPen("#81c784", width=2), symbol="o", symbolSize=6)
        pl.addWidget(self.loss_plot)
        pl.addWidget(self.val_plot)
        split.addWidget(plots)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        split.addWidget(self.log)
        split.setStretchFactor(0, 3)
        lay.addWidget(split, 1)
        self.loss_curves: dict[str, pg.PlotDataItem] = {}

    # ----- requests ------------------------------------------------------------------------------------------------
    def request_from_form(self) -> TrainRequest:
        from engine import zoo

        model = self.model.currentText()
        init = None
        if self.init.isChecked():
            init = zoo.find_weights(model)
        val = self.val.text()
        settings = self.controller.settings
        try:
            lr = float(self.lr.text()) if self.lr.text().strip() else None
        except ValueError:
            lr = None
            self.log.appendPlainText(f"ignored learning rate {self.lr.text()!r}: not a number")
        return TrainRequest(lr=lr, source=Path(self.source.text()).expanduser(), model=model,
                            prepared=self.from_dataset.isChecked(), degradation=self.degradation.currentText(),
                            steps=self.steps.value(), batch=self.batch.value(), val=Path(val) if val else None,
                            init=init, detector=settings.detector,
                            detector_model=settings.detector_model).resolved()

    def start(self, request: TrainRequest | None = None) -> bool:
        """Start a new run (from the form, or a given request: tests and scripts)."""
        if self.running():
            return False
        req = request.resolved() if request is not None else self.request_from_form()
        problem = self._check(req)
        if problem:
            self._fail(problem)
            return False
        self.request = req
        self._reset()
        self.log.appendPlainText(f"run folder: {req.run_dir}")
        if self.init.isChecked() and req.init is None and request is None:
            self.log.appendPlainText(f"{req.model} has no weights yet: training from scratch")
        prep = req.prepare_args()
        if prep is not None:
            self._launch("prepare", prep)
        else:
            self._launch("train", req.train_args("-"))
        return True

    def _check(self, req: TrainRequest) -> str:
        if not str(req.source) or not req.source.exists():
            return f"choose the training folder (not found: {req.source})"
        if not req.prepared and importlib.util.find_spec("trainer.cli_prepare") is None:
            return ("preparing a photo folder needs the trainer's 'prepare' command, which this installation lacks; "
                    "choose a prepared dataset or an aligned folder with landmarks68.csv")
        return ""

    def resume(self) -> bool:
        if self.running() or self.request is None:
            return False
        cancel_file = self.request.run_dir / "CANCEL"
        cancel_file.unlink(missing_ok=True)
        self.state.status, self.state.message = "running", ""
        self.log.appendPlainText("resuming from the last checkpoint")
        self._launch("train", self.request.train_args("-", resume=True))
        return True

    def _reset(self) -> None:
        self.state = RunState()
        for c in self.loss_curves.values():
            self.loss_plot.removeItem(c)
        self.loss_curves.clear()
        self.val_curve.setData([], [])
        self.log.clear()

    # ----- the process ------------------------------------------------------------------------------------------------
    def _launch(self, phase: str, args: list[str]) -> None:
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
        self.process, self.phase, self._stdout = proc, phase, b""
        self.state.status = "preparing" if phase == "prepare" else "running"
        self.log.appendPlainText("$ " + " ".join([*cmd, *args]))
        proc.start(cmd[0], [*cmd[1:], *args])
        self._buttons()

    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def _read_stdout(self) -> None:
        if self.process is None:
            return
        self._stdout += bytes(self.process.readAllStandardOutput())
        *lines, self._stdout = self._stdout.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            event = self.state.feed_line(line)
            if event is None and line.strip():
                self.log.appendPlainText(line)
            elif event is not None and event.get("event") == "finished" and "counts" in event:
                self.log.appendPlainText(self.state.message)  # the preparation's summary
            elif event is not None and event.get("event") in ("start", "checkpoint", "finished", "cancelled",
                                                                "error", "export"):
                self.log.appendPlainText(_describe(event))
            self._dirty = True

    def _read_stderr(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")
        for line in text.replace("\r", "\n").splitlines():
            if line.strip() and not _is_progress_bar(line):
                self.log.appendPlainText(line)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        if self._stdout:
            self.state.feed_line(self._stdout.decode("utf-8", "replace"))
            self._stdout = b""
        self.kill_timer.stop()
        phase = self.phase
        self.phase = "idle"
        if phase == "prepare":
            if code == 0 and self.state.status != "error" and self.request is not None:
                self.log.appendPlainText(f"dataset prepared in {self.request.dataset_dir}")
                self.state.status = "running"
                self._launch("train", self.request.train_args("-"))
                return
            if self.state.status == "cancelled" or status == QProcess.ExitStatus.CrashExit:
                self.state.status = "cancelled"
                self.state.message = "preparation cancelled"
            elif self.state.status != "error":
                self._fail(f"preparing the dataset failed (exit code {code}); see the log")
        elif self.state.status == "finished":
            self.controller.refresh_models()
            name = self.request.export_name if self.request else "the new model"
            self.state.message = f"finished: '{self.request.model}:{name}' is now in the model list" \
                if self.request else "finished"
            self.controller.message.emit(self.state.message)
        elif self.state.status == "cancelled" or (self._cancelling and code == 0):
            self.state.status = "cancelled"
            self.state.message = self.state.message or "cancelled; the checkpoint is kept, Resume continues from it"
        elif self.state.status != "error":
            self._fail(f"the trainer stopped unexpectedly (exit code {code}); see the log")
        elif self.state.status == "error":
            self.controller.errorRaised.emit("Training failed", str(self.request.source) if self.request else "",
                                             self.state.message)
        self._cancelling = False
        self._dirty = True
        self._refresh()
        self._buttons()

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._fail(f"the trainer could not be started ({' '.join(trainer_command())})")
            self.phase = "idle"
            self._buttons()

    def cancel(self) -> None:
        """Ask the trainer to stop: a CANCEL file in the run folder and SIGTERM; it saves a checkpoint and exits."""
        if not self.running() or self.request is None:
            return
        self._cancelling = True
        try:
            self.request.run_dir.mkdir(parents=True, exist_ok=True)
            (self.request.run_dir / "CANCEL").write_text("cancelled from the GUI\n")
        except OSError:
            pass
        self.state.message = "cancelling: saving a checkpoint…"
        self.process.terminate()  # SIGTERM on POSIX
        self.kill_timer.start(KILL_AFTER_MS)
        self._dirty = True

    def _kill(self) -> None:
        if self.running():
            self.log.appendPlainText("the trainer did not stop in time: killed (the last checkpoint is kept)")
            self.process.kill()

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Stop a running trainer (with its checkpoint) when the app closes."""
        if self.running():
            self.cancel()
            if not self.process.waitForFinished(wait_ms):
                self.process.kill()
                self.process.waitForFinished(5000)
        self.redraw.stop()

    # ----- display -------------------------------------------------------------------------------------------------
    def _fail(self, message: str) -> None:
        self.state.status, self.state.message = "error", message
        self.log.appendPlainText(f"error: {message}")
        self.controller.errorRaised.emit("Fine-tuning", str(self.request.source) if self.request else "", message)
        self._dirty = True
        self._refresh()

    def _buttons(self) -> None:
        running = self.running()
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        resumable = (not running and self.request is not None and self.state.status in ("cancelled", "error")
                     and (self.request.run_dir / "training_states").exists())
        self.resume_button.setEnabled(resumable)

    def _refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        s = self.state
        for i, (name, points) in enumerate(sorted(s.losses.items())):
            curve = self.loss_curves.get(name)
            if curve is None:
                curve = self.loss_plot.plot([], [], pen=pg.mkPen(PALETTE[i % len(PALETTE)], width=2), name=name)
                self.loss_curves[name] = curve
            curve.setData([p[0] for p in points], [p[1] for p in points])
        self.val_curve.setData([p[0] for p in s.val], [p[1] for p in s.val])
        self.bar.setRange(0, max(s.total, 1))
        self.bar.setValue(min(s.step, max(s.total, 1)))
        speed = f", {s.images_per_s:.1f} img/s" if s.images_per_s else ""
        prep = f" {s.prepared[0]}/{s.prepared[1]} photos" if s.prepared else ""
        text = {"preparing": f"preparing the dataset…{prep}", "running": f"step {s.step}/{s.total}{speed}"}.get(
            s.status, s.status)
        if s.message:
            text = s.message if s.status in ("finished", "cancelled", "error") else f"{text} — {s.message}"
        self.status.setText(text)
        self.eta.setText(f"ETA {format_eta(s.eta_s)}")
        self._buttons()


def _describe(event: dict) -> str:
    kind = event.get("event")
    rest = {k: v for k, v in event.items() if k not in ("event", "time", "traceback", "config")}
    return f"[{kind}] " + ", ".join(f"{k}={v}" for k, v in rest.items())


_BAR = re.compile(r"\d+%\|")


def _is_progress_bar(line: str) -> bool:
    """tqdm's redrawn bar lines (the events already carry that information)."""
    return bool(_BAR.search(line))
