"""Model manager: every variant, where its weights come from (or what to put where), licences; import a checkpoint
with a clear fit report; open the models folder.

A view: the list is the controller's model list, and counting parameters and importing are the controller's jobs
(on its model-jobs worker); this dialog asks for them and shows what its signals report."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QInputDialog,
                               QLabel, QMessageBox, QPlainTextEdit, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from .controller import ImportReport

COLUMNS = ("Model", "Family", "Parameters", "Weights", "Source", "Licence")
AUTO = "detect automatically"


class ModelManager(QDialog):
    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Model manager")
        self.resize(1150, 560)
        lay = QVBoxLayout(self)
        self.folder = controller.models_folder()
        info = QLabel(f"Weights are looked for in <b>{self.folder}</b> (your models), then in the bundled "
                      f"<b>{controller.bundled_folder()}</b>. Nothing is downloaded. Fine-tuned and imported weights appear "
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
        controller.parametersCounted.connect(self._params_ready)
        controller.importProgress.connect(self._import_progress)
        controller.imported.connect(self._imported)
        controller.importFailed.connect(self._import_failed)
        controller.importEnded.connect(self._import_ended)
        self._importing = False  # an import this dialog started is running (the controller's signals are shared)
        self.params: dict[str, int] = dict(controller.parameters)
        self.fill()
        controller.count_parameters()

    def fill(self) -> None:
        choices = list(self.controller.choices.values())
        self.table.setRowCount(len(choices))
        for r, c in enumerate(choices):
            if c.is_auto:  # no network of its own: it picks one of these per face
                weights = (f"per face: {', '.join(c.uses)}" if c.available else self.controller.missing_message(c))
                cells = (c.key, "auto", "—", weights, c.source, "that of the model it picks")
            else:
                params = self.params.get(c.variant)
                weights = str(c.weights) if c.weights else self.controller.missing_message(c)
                cells = (c.key, c.family, f"{params:,}" if params else "…", weights, c.source, c.licence)
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
        items = [AUTO, *self.controller.restore_variants()]
        variant, ok = QInputDialog.getItem(self, "Import checkpoint", "Architecture of this file:", items, 0, False)
        if ok:
            self.import_file(Path(path), None if variant == AUTO else variant)

    def import_file(self, path: Path, variant: str | None) -> None:
        """Check and import in the background; the report lands in the text box (and a message box)."""
        self.report.setPlainText(f"Checking {path.name}…")
        self.import_button.setEnabled(False)
        self._importing = True
        self.controller.import_checkpoint(path, variant)

    def busy(self) -> bool:
        """Whether an import or the parameter count is still running."""
        return self.controller.model_jobs_busy()

    def _import_progress(self, text: str) -> None:
        if self._importing:
            self.report.setPlainText(text)

    def _import_ended(self) -> None:
        if self._importing:
            self._importing = False
            self.import_button.setEnabled(True)

    def _imported(self, report: ImportReport) -> None:
        if not self._importing:
            return
        self.report.setPlainText(report.text())
        box = QMessageBox(QMessageBox.Icon.Information if report.ok else QMessageBox.Icon.Warning,
                          "Import checkpoint", report.text().split("\n\n")[0], parent=self)
        box.setDetailedText(report.text())
        box.open()
        self._box = box

    def done(self, result: int) -> None:
        self.controller.cancel_model_jobs()
        super().done(result)

    def _import_failed(self, path: str, why: str) -> None:
        if self._importing:
            self.report.setPlainText(f"{Path(path).name}: {why}")
