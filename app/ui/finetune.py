"""Fine-tune dialog, the view: the form, the buttons, the live loss and validation PSNR plots and the log.

The run itself is elsewhere: app/training_run.py (Qt-free) parses the trainer's events and decides what each exit
means, app/ui/training_process.py starts and stops the trainer process for it; this dialog builds the request from
the form and draws the run's state. Cancel keeps a checkpoint, Resume continues from it, and the finished weights
appear in the model list.
"""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QRadioButton, QSpinBox,
                               QSplitter, QVBoxLayout, QWidget)

from ..training import RunState, TrainRequest, degradation_choices, format_eta
from ..training_run import Phase, check_request
from .settings_dialog import PathField
from .training_process import TrainerProcess

PALETTE = ("#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8", "#fff176", "#90a4ae")


class FineTuneDialog(QDialog):
    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Fine-tune a model")
        self.resize(1000, 700)
        self.setModal(False)
        self.trainer = TrainerProcess(controller, self)
        self.trainer.logged.connect(self._log)
        self.trainer.changed.connect(self._mark_dirty)
        self.trainer.processChanged.connect(self._refresh_now)
        self._dirty = False
        self._build()
        self.redraw = QTimer(self)
        self.redraw.setInterval(200)  # plots redraw at most 5x per second, however fast events arrive
        self.redraw.timeout.connect(self._refresh)
        self.redraw.start()

    # the run, as the view reads it
    @property
    def state(self) -> RunState:
        return self.trainer.run.state

    @property
    def phase(self) -> Phase:
        return self.trainer.run.phase

    @property
    def request(self) -> TrainRequest | None:
        return self.trainer.run.request

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
        self.model.addItems(self.controller.trainable_models())
        self.model.setCurrentText(self.controller.settings.default_model)
        form.addRow("Model", self.model)
        self.init = QCheckBox("Start from the model's current weights (fine-tune); otherwise from scratch")
        self.init.setChecked(True)
        form.addRow("", self.init)
        self.degradation = QComboBox()
        self.degradation.addItems(degradation_choices())
        self.degradation.setToolTip(
            "How the low-quality inputs are made from your faces. First choice: what the starting weights were "
            "trained on (the papers' x8 protocol when training from scratch). bicubic8: the papers' x8 protocol; "
            "blind: blur/resize/noise/JPEG (old photos); photo*: real-photo damage at the face's own size (the blind "
            "restorers); learned: SelFSR's degradation network")
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
        model = self.model.currentText()
        init = self.controller.weights_of(model) if self.init.isChecked() else None
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

    # ----- actions ---------------------------------------------------------------------------------------------------
    def start(self, request: TrainRequest | None = None) -> bool:
        """Start a new run (from the form, or a given request: tests and scripts)."""
        if self.running():
            return False
        req = request.resolved() if request is not None else self.request_from_form()
        problem = check_request(req)
        if problem:
            self.trainer.fail(problem)
            self._refresh_now()
            return False
        self._reset()
        self.log.appendPlainText(f"run folder: {req.run_dir}")
        if self.init.isChecked() and req.init is None and request is None:
            self.log.appendPlainText(f"{req.model} has no weights yet: training from scratch")
        self.trainer.start(req)
        return True

    def resume(self) -> bool:
        return self.trainer.resume()

    def cancel(self) -> None:
        self.trainer.cancel()

    def running(self) -> bool:
        return self.trainer.running()

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Stop a running trainer (with its checkpoint) when the app closes."""
        self.trainer.shutdown(wait_ms)
        self.redraw.stop()

    # ----- display -------------------------------------------------------------------------------------------------
    def _reset(self) -> None:
        for c in self.loss_curves.values():
            self.loss_plot.removeItem(c)
        self.loss_curves.clear()
        self.val_curve.setData([], [])
        self.log.clear()

    def _log(self, line: str) -> None:
        self.log.appendPlainText(line)

    def _mark_dirty(self) -> None:
        self._dirty = True

    def _refresh_now(self) -> None:
        self._dirty = True
        self._refresh()
        self._buttons()

    def _buttons(self) -> None:
        running = self.running()
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(self.trainer.run.resumable(running))

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
        self.status.setText(self.trainer.run.status_text())
        self.eta.setText(f"ETA {format_eta(s.eta_s)}")
        self._buttons()
