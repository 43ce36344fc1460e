"""Export: the restored photo (format, quality, suffix), the restored faces, and FSRNet's prior maps.

Outputs go to a separate folder by default and are written by engine.io (atomic, metadata kept); a target that is
the input file itself is refused there, so the original can never be overwritten from here.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from ..settings import FORMATS
from .controller import ExportOptions
from .settings_dialog import PathField


class ExportDialog(QDialog):
    def __init__(self, controller, doc, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller, self.doc = controller, doc
        s = controller.settings
        self.setWindowTitle(f"Export — {doc.name}")
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.folder = PathField(str(controller.default_output_dir(doc)), folder=True,
                                caption="Export folder")
        form.addRow("Folder", self.folder)
        lay.addLayout(form)

        photo = QGroupBox("Restored photo")
        photo.setCheckable(True)
        photo.setChecked(True)
        pf = QFormLayout(photo)
        self.format = QComboBox()
        for f in FORMATS:
            self.format.addItem("same as the input" if f == "auto" else f.upper(), f)
        self.format.setCurrentIndex(max(self.format.findData(s.export_format), 0))
        pf.addRow("Format", self.format)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(s.export_quality)
        pf.addRow("Quality (JPEG/WebP)", self.quality)
        self.suffix = QLineEdit(s.export_suffix)
        pf.addRow("Name suffix", self.suffix)
        self.photo_box = photo
        lay.addWidget(photo)

        self.faces_box = QCheckBox("Restored faces: cropped_faces/, restored_faces/ (with the model in the name) "
                                   "and cmp/ strips")
        lay.addWidget(self.faces_box)
        self.priors_box = QCheckBox("Prior maps: priors/<photo>_<face>_<model>/ with a PNG per channel, composite.png, "
                                    "maps.npz and landmarks.json (photo coordinates)")
        self.priors_box.setToolTip("FSRNet landmark heatmaps and parsing maps (FSRNet runs on the faces if needed), "
                                   "plus SPARNet attention when it was run")
        lay.addWidget(self.priors_box)
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        lay.addWidget(self.preview)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(120)
        self.log.setPlaceholderText("Written files are listed here.")
        lay.addWidget(self.log)
        row = QHBoxLayout()
        self.open_button = QPushButton("Open folder")
        self.open_button.setEnabled(False)
        row.addWidget(self.open_button)
        row.addStretch(1)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close).clicked.connect(self.reject)
        row.addWidget(self.buttons)
        lay.addLayout(row)
        self.export_button.clicked.connect(self.start)
        self.open_button.clicked.connect(self.open_folder)
        for sig in (self.format.currentIndexChanged, self.suffix.textChanged, self.folder.edit.textChanged):
            sig.connect(self._update_preview)
        self.written: list[Path] = []
        controller.exported.connect(self._done)
        controller.exportFailed.connect(self._failed)
        controller.exportEnded.connect(self._ended)
        self._waiting = False
        self._update_preview()

    def options(self) -> ExportOptions:
        return ExportOptions(
            folder=Path(self.folder.text()).expanduser(), photo=self.photo_box.isChecked(),
            format=self.format.currentData(), quality=self.quality.value(), suffix=self.suffix.text(),
            faces=self.faces_box.isChecked(), priors=self.priors_box.isChecked())

    def target_photo(self) -> Path:
        return self.controller.export_target(self.doc, self.options())

    def _update_preview(self) -> None:
        target = self.target_photo()
        clash = target.resolve() == self.doc.path.resolve()
        self.preview.setText(("<span style='color:#c00'>This would be the original file: choose another folder or "
                              "suffix.</span>" if clash else f"Photo → {target}")
                             + ("" if not self.controller.is_stale(self.doc) else
                                "<br><i>The photo will be restored first (faces or models changed).</i>"))
        self.export_button.setEnabled(not clash)

    def start(self) -> None:
        o = self.options()
        s = self.controller.settings
        s.export_format, s.export_quality, s.export_suffix = o.format, o.quality, o.suffix
        self.controller.apply_settings(s)
        self.log.setPlainText("Exporting…")
        self.export_button.setEnabled(False)
        self._waiting = True
        if self.controller.export(self.doc, o) is None:
            self._waiting = False
            self.export_button.setEnabled(True)
            self.log.setPlainText("Nothing exported (see the Problems window).")

    def _done(self, doc, paths: list[Path]) -> None:
        if doc is not self.doc or not self._waiting:  # another photo's export, or one this dialog did not start
            return
        self._waiting = False
        self.written = list(paths)
        self.log.setPlainText("\n".join(str(p) for p in paths) or "nothing was written")
        self.open_button.setEnabled(bool(paths))

    def _failed(self, doc, why: str) -> None:
        if doc is self.doc:
            self.log.setPlainText(f"Export failed: {why}")

    def _ended(self, doc) -> None:
        if doc is self.doc:
            self._waiting = False
            self.export_button.setEnabled(True)

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.options().folder)))
