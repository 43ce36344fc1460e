"""Settings: device, default model (auto first), detector back end and its model file/folder, scale, output folder,
the no-harm check, and (read-only) which inference path precision "auto" runs on this machine."""
from __future__ import annotations

import dataclasses
import html

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QWidget)

from ..settings import DEVICES, AppSettings, settings_path


class PathField(QWidget):
    """A line edit with a Browse… button (file or folder)."""

    def __init__(self, text: str, folder: bool, caption: str, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(text)
        browse = QPushButton("Browse…")
        lay.addWidget(self.edit, 1)
        lay.addWidget(browse)
        self.folder, self.caption = folder, caption
        browse.clicked.connect(self._browse)

    def _browse(self) -> None:
        if self.folder:
            path = QFileDialog.getExistingDirectory(self, self.caption, self.edit.text())
        else:
            path, _ = QFileDialog.getOpenFileName(self, self.caption, self.edit.text())
        if path:
            self.edit.setText(path)

    def text(self) -> str:
        return self.edit.text().strip()


class SettingsDialog(QDialog):
    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Settings")
        s: AppSettings = controller.settings
        form = QFormLayout(self)
        self.device = QComboBox()
        for d in DEVICES:
            label = {"auto": "auto (CUDA when present)", "cpu": "CPU", "cuda": "CUDA"}[d]
            self.device.addItem(label, d)
        self.device.setCurrentIndex(max(self.device.findData(s.device), 0))
        if not controller.cuda_available():
            self.device.setItemData(2, "no CUDA device found on this machine", 3)  # ToolTipRole
        form.addRow("Device", self.device)
        self.model = QComboBox()
        for key in controller.model_keys():
            c = controller.choices[key]
            extra = "  (a model per face, by its size)" if c.is_auto else ""
            self.model.addItem(key + extra + ("" if c.available else "  (no weights)"), key)
            self.model.setItemData(self.model.count() - 1, c.description, 3)  # ToolTipRole
        self.model.setCurrentIndex(max(self.model.findData(s.default_model), 0))
        form.addRow("Default model", self.model)
        self.detector = QComboBox()
        for name, desc in controller.detector_backends():
            self.detector.addItem(name, name)
            self.detector.setItemData(self.detector.count() - 1, desc, 3)
        self.detector.setCurrentIndex(max(self.detector.findData(s.detector), 0))
        form.addRow("Face detector", self.detector)
        self.detector_model = PathField(s.detector_model, folder=False,
                                        caption="Detector model file (ONNX) or model-pack folder")
        self.detector_model.setToolTip("InsightFace: an SCRFD .onnx file or a model-pack folder; YuNet: its .onnx "
                                       "file; dlib needs nothing")
        form.addRow("Detector model", self.detector_model)
        self.scale = QDoubleSpinBox()
        self.scale.setRange(1.0, 8.0)
        self.scale.setSingleStep(0.5)
        self.scale.setValue(s.scale)
        self.scale.setSuffix(" ×")
        form.addRow("Photo scale", self.scale)
        self.output = PathField(s.output_dir, folder=True, caption="Output folder")
        self.output.edit.setPlaceholderText("a 'restored' folder beside each photo")
        form.addRow("Output folder", self.output)
        self.auto = QCheckBox("Restore photos as soon as their faces are found")
        self.auto.setChecked(s.auto_restore)
        form.addRow("", self.auto)
        self.no_harm = QCheckBox("Keep the original where a restored face contradicts the photo (no-harm check)")
        self.no_harm.setToolTip("each restored face is shrunk back to its size in the photo and compared with the "
                                "photo's pixels; below the threshold it is not pasted")
        self.no_harm.setChecked(s.no_harm_check)
        form.addRow("", self.no_harm)
        self.portrait = QSpinBox()
        self.portrait.setRange(0, 99)
        self.portrait.setValue(s.portrait_faces)
        self.portrait.setSuffix(" faces")
        self.portrait.setToolTip("auto: a photo with at most this many faces is a portrait, whose faces from ~56 px "
                                 "get the HD restorer (better, ~7-10x slower per face); 0: never")
        form.addRow("Portrait up to", self.portrait)
        form.addRow("Inference", self._inference_label())
        form.addRow("", QLabel(f"<small>Stored in {settings_path()}</small>"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _inference_label(self) -> QLabel:
        """Which inference path precision "auto" runs per model, as measured on this machine (engine.runtime_choice)."""
        try:
            cpu, lines = self.controller.inference_summary()
        except Exception as exc:  # noqa: BLE001 - the dialog still opens if the engine cannot say
            cpu, lines = f"unknown ({exc})", []
        body = "<br>".join(html.escape(line) for line in lines) or "measured on the first use of each model"
        label = QLabel(f"<small>{html.escape(cpu)}<br>{body}</small>")
        label.setWordWrap(True)
        label.setToolTip("precision 'auto' times every inference path once per model and batch size and runs the "
                         "fastest one as accurate as fp32; `fsr-studio bench` shows them all")
        return label

    def values(self) -> AppSettings:
        return dataclasses.replace(
            self.controller.settings, device=self.device.currentData(), default_model=self.model.currentData(),
            detector=self.detector.currentData(), detector_model=self.detector_model.text(),
            scale=float(self.scale.value()), output_dir=self.output.text(), auto_restore=self.auto.isChecked(),
            no_harm_check=self.no_harm.isChecked(), portrait_faces=int(self.portrait.value()))

    def accept(self) -> None:
        new = self.values()
        if new.device == "cuda" and not self.controller.cuda_available():
            self.controller.report_error("Settings", "", "CUDA was chosen but no CUDA device is available; "
                                                         "the device stays as it was")
            new.device = self.controller.settings.device
        self.controller.change_settings(new)
        super().accept()
