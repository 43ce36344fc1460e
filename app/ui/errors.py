"""The error dialog: every failure with the file it concerns and the reason, collected in one non-modal window.

Non-modal on purpose: a batch of twenty photos with three bad ones shows three rows, not three blocking pop-ups, and
the rest of the batch keeps going behind it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)


@dataclass
class ErrorRecord:
    title: str
    file: str
    reason: str
    when: float


class ErrorDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Problems")
        self.setModal(False)
        self.resize(760, 280)
        lay = QVBoxLayout(self)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["What", "File", "Reason"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lay.addWidget(self.table, 1)
        buttons = QDialogButtonBox()
        self.copy_button = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.clear_button = buttons.addButton("Clear", QDialogButtonBox.ButtonRole.ResetRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.hide)
        self.copy_button.clicked.connect(self.copy)
        self.clear_button.clicked.connect(self.clear)
        lay.addWidget(buttons)
        self.records: list[ErrorRecord] = []

    def add(self, title: str, file: str, reason: str) -> ErrorRecord:
        rec = ErrorRecord(title, file, reason, time.time())
        self.records.append(rec)
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, text in enumerate((title, file or "—", reason)):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            self.table.setItem(row, col, item)
        self.table.resizeRowToContents(row)
        self.table.scrollToBottom()
        name = file.rsplit("/", 1)[-1] if file else ""
        self.summary.setText(f"<b>{title}</b>{': ' + name if name else ''}<br>{reason.splitlines()[0][:400]}")
        self.show()
        self.raise_()
        return rec

    def copy(self) -> None:
        text = "\n".join(f"{r.title}\t{r.file}\t{r.reason}" for r in self.records)
        QApplication.clipboard().setText(text)

    def clear(self) -> None:
        self.records.clear()
        self.table.setRowCount(0)
        self.summary.setText("")

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Escape hides rather than destroying the log
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
            return
        super().keyPressEvent(event)
