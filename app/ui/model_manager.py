"""Model manager: every variant, where its weights come from (or what to put where), licences; import a checkpoint
with a clear fit report; open the models folder."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QInputDialog,
                               QLabel, QMessageBox, QPlainTextEdit, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from .. import backend
from .jobs import Job, JobRunner

COLUMNS = ("Model", "Family", "Parameters", "Weights", "Source", "Licence")
AUTO = "detect automatically"


class ModelManager(QDialog):
    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Model manager")
        self.resize(1150, 560)
        lay = QVBoxLayout(self)
        from engine import zoo

        self.folder = zoo.user_models_dir()
        info = QLabel(f"Weights are looked for in <b>{self.folder}</b> (your models), then in the bundled "
                      f"<b>{zoo.bundled_dir()}</b>. Nothing is downloaded. Fine-tuned and imported weights appear "
                      f"here as <i>variant:name</i>.")
        info.setWordWrap(True)
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(info)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        lay.addWidget(self.table, 1)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setPlaceholderText("Import reports appear here.")
        self.report.setMaximumHeight(90)
        lay.addWidget(self.report)
        row = QHBoxLayout()
        self.import_button = QPushButton("Import checkpoint…")
        self.import_button.setToolTip("a .safetensors/.pth/.pt/.ckpt file, e.g. an official SPARNet or SPARNetHD file")
        self.open_button = QPushButton("Open models folder")
        self.refresh_button = QPushButton("Refresh")
        row.addWidget(self.import_button)
        row.addWidget(self.open_button)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row.addWidget(buttons)
        lay.addLayout(row)
        self.import_button.clicked.connect(self.choose_import)
        self.open_button.clicked.connect(self.open_folder)
        self.refresh_button.clicked.connect(self.refresh)
        controller.modelsChanged.connect(self.fill)
        self.params: dict[str, int] = {}
        # Its own worker: counting parameters builds every network, and must not queue ahead of a restoration.
        self.runner = JobRunner(self)
        self.fill()
        self._count_parameters()

    def fill(self) -> None:
        from engine import zoo

        choices = list(self.controller.choices.values())
        self.table.setRowCount(len(choices))
        for r, c in enumerate(choices):
            if c.is_auto:  # no network of its own: it picks one of these per face
                weights = (f"per face: {', '.join(c.uses)}" if c.available else backend.missing_message(c))
                cells = (c.key, "auto", "—", weights, c.source, "that of the model it picks")
            else:
                v = zoo.variant(c.variant)
                params = self.params.get(c.variant)
                weights = str(c.weights) if c.weights else backend.missing_message(c)
                cells = (c.key, v.family, f"{params:,}" if params else "…", weights, c.source, v.licence)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{c.description}\n{text}" if col == 0 else text)
                if not c.available and col == 3:
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(r, col, item)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(3, min(self.table.columnWidth(3), 430))  # full path/message in the tooltip
        self.table.setColumnWidth(5, min(self.table.columnWidth(5), 260))
        self.table.horizontalHeader().setStretchLastSection(True)

    def _count_parameters(self) -> None:
        job = Job("count parameters", backend.describe_models)
        job.signals.finished.connect(self._params_ready)
        self.runner.start(job)

    def _params_ready(self, params: dict[str, int]) -> None:
        self.params = params
        self.fill()

    def refresh(self) -> None:
        self.controller.refresh_models()

    def open_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a checkpoint", "",
                                              "Checkpoints (*.safetensors *.pth *.pt *.ckpt);;All files (*)")
        if not path:
            return
        from engine import zoo

        items = [AUTO, *zoo.names(task="restore")]
        variant, ok = QInputDialog.getItem(self, "Import checkpoint", "Architecture of this file:", items, 0, False)
        if ok:
            self.import_file(Path(path), None if variant == AUTO else variant)

    def import_file(self, path: Path, variant: str | None) -> Job:
        """Check and import in the background; the report lands in the text box (and a message box)."""
        self.report.setPlainText(f"Checking {path.name}…")
        self.import_button.setEnabled(False)
        job = Job(f"import {path.name}", backend.import_checkpoint, path, variant, file=str(path))
        job.signals.finished.connect(self._imported)
        job.signals.failed.connect(lambda why, _tb: self._import_failed(path, why))
        job.signals.done.connect(lambda: self.import_button.setEnabled(True))
        job.signals.progress.connect(lambda d, t, m: self.report.setPlainText(m))
        return self.runner.start(job)

    def _imported(self, report: backend.ImportReport) -> None:
        self.report.setPlainText(report.text())
        if report.ok:
            self.controller.refresh_models()
        else:
            self.controller.errorRaised.emit("Checkpoint does not fit", str(report.source), report.details)
        box = QMessageBox(QMessageBox.Icon.Information if report.ok else QMessageBox.Icon.Warning,
                          "Import checkpoint", report.text().split("\n\n")[0], parent=self)
        box.setDetailedText(report.text())
        box.open()
        self._box = box

    def done(self, result: int) -> None:
        self.runner.shutdown(0)
        super().done(result)

    def _import_failed(self, path: Path, why: str) -> None:
        self.report.setPlainText(f"{path.name}: {why}")
        self.controller.errorRaised.emit("Import failed", str(path), why)
