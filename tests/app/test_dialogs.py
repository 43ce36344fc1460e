"""Export, model manager, settings, and the `fsr-studio` entry point."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from engine import zoo

from .conftest import wait_idle
from .test_window import loaded_window


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_writes_photo_faces_and_priors_never_over_the_input(qtbot, make_window, tiny_weights, photo):
    from app.ui.export_dialog import ExportDialog

    w, doc = loaded_window(qtbot, make_window, photo, default_model="fsrnet")
    original = sha(photo)
    out = photo.parent.parent / "out"
    dlg = ExportDialog(w.controller, doc, w)
    dlg.folder.edit.setText(str(out))
    dlg.format.setCurrentIndex(dlg.format.findData("png"))
    dlg.suffix.setText("_fsr")
    dlg.faces_box.setChecked(True)
    dlg.priors_box.setChecked(True)
    dlg.export_button.click()
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: bool(dlg.written), timeout=10_000)
    restored = out / "group_small_fsr.png"
    assert restored.is_file()
    from engine.io import read_image, read_provenance

    assert read_image(restored).pixels.shape[:2] == doc.restored.shape[:2]
    assert read_provenance(restored)["faces"] == {"1": "fsrnet", "2": "fsrnet", "3": "fsrnet"}
    assert len(list((out / "restored_faces").glob("*_fsrnet.png"))) == 3
    prior_dirs = sorted((out / "priors").iterdir())
    assert len(prior_dirs) == 3
    for d in prior_dirs:
        assert {"composite.png", "maps.npz", "landmarks.json"} <= {p.name for p in d.iterdir()}
        assert (d / "landmark_00.png").is_file() and (d / "parsing_00.png").is_file()
        record = json.loads((d / "landmarks.json").read_text())
        assert len(record["predicted_landmarks68"]) == 68
    assert sha(photo) == original and sorted(p.name for p in photo.parent.iterdir()) == ["group_small.jpg"]

    # "same format, no suffix, the photo's own folder" would be the input itself: refused in the dialog...
    dlg.folder.edit.setText(str(photo.parent))
    dlg.format.setCurrentIndex(dlg.format.findData("auto"))
    dlg.suffix.setText("")
    assert not dlg.export_button.isEnabled() and "original" in dlg.preview.text()
    # ...and by the engine underneath, should anything get past the dialog
    from app import backend
    from engine.io import ImageWriteError

    opts = backend.ExportOptions(folder=photo.parent, format="auto", suffix="")
    with pytest.raises(ImageWriteError, match="refusing to write over the input"):
        backend.export_outputs(photo, doc.image, doc.restored, [], opts, {})
    assert sha(photo) == original


def test_model_manager_lists_sources_and_imports_checkpoints(qtbot, make_window, tmp_path):
    from app.ui.model_manager import ModelManager

    w = make_window()
    dlg = ModelManager(w.controller, w)
    dlg.show()
    keys = [dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())]
    assert {"fsrnet", "fsrgan", "sparnet", "sparnethd", "selfsr"} <= set(keys)
    row = keys.index("fsrnet")
    assert "fsrnet.safetensors" in dlg.table.item(row, 3).text() and dlg.table.item(row, 4).text() == "missing"

    # a checkpoint that does not fit: a clear report naming the file and the mismatches
    bad = tmp_path / "not_fsrnet.pth"
    torch.save({"params": {"conv.weight": torch.zeros(3, 3, 3, 3)}}, bad)
    dlg.import_file(bad, "fsrnet")
    qtbot.waitUntil(lambda: not dlg.busy(), timeout=30_000)
    qtbot.wait(20)
    text = dlg.report.toPlainText()
    assert "could not be imported" in text and "missing keys" in text and "unexpected keys" in text
    assert w.errors.records[-1].title == "Checkpoint does not fit"

    # a full FSRNet checkpoint in BasicSR layout, architecture detected automatically
    torch.manual_seed(0)
    good = tmp_path / "my_fsrnet.pth"
    torch.save({"params_ema": zoo.build("fsrnet").state_dict()}, good)
    dlg.import_file(good, None)
    qtbot.waitUntil(lambda: not dlg.busy(), timeout=60_000)
    qtbot.wait(20)
    assert "fits fsrnet" in dlg.report.toPlainText()
    assert zoo.find_weights("fsrnet") == zoo.user_models_dir() / "fsrnet.safetensors"
    choice = w.controller.choices["fsrnet"]
    assert choice.available and choice.source == "imported"
    keys = [dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())]
    assert dlg.table.item(keys.index("fsrnet"), 4).text() == "imported"
    # a second import never replaces the first: it is listed under its own name
    dlg.import_file(good, "fsrnet")
    qtbot.waitUntil(lambda: not dlg.busy(), timeout=60_000)
    qtbot.wait(20)
    assert "fsrnet:fsrnet-my_fsrnet" in w.controller.choices
    dlg.reject()


def test_settings_dialog_saves_and_reloads(qtbot, make_window):
    from app.settings import load_settings
    from app.ui.settings_dialog import SettingsDialog

    w = make_window()
    dlg = SettingsDialog(w.controller, w)
    assert dlg.detector.findData("yunet") >= 0 and dlg.detector.findData("insightface") >= 0
    dlg.scale.setValue(4.0)
    dlg.detector.setCurrentIndex(dlg.detector.findData("yunet"))
    dlg.detector_model.edit.setText("/models/yunet.onnx")
    dlg.output.edit.setText("/tmp/restored")
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.portrait.setValue(0)
    dlg.accept()
    s = load_settings()
    assert (s.scale, s.detector, s.detector_model, s.output_dir, s.device, s.portrait_faces) == \
        (4.0, "yunet", "/models/yunet.onnx", "/tmp/restored", "cpu", 0)
    assert w.controller.settings.scale == 4.0


def test_broken_settings_file_falls_back_to_defaults(tmp_path):
    from app.settings import AppSettings, load_settings

    path = tmp_path / "settings.json"
    path.write_text('{"scale": "huge", "device": "tpu", "unknown": 1, "export_quality": 500, "portrait_faces": "x"}')
    s = load_settings(path)
    assert (s.scale, s.device, s.export_quality) == (AppSettings().scale, "auto", 100)
    assert s.portrait_faces == AppSettings().portrait_faces and s.restore_settings().portrait_faces == 4
    path.write_text("{not json")
    assert load_settings(path) == AppSettings()


def test_fsr_studio_with_photo_opens_the_window_with_it(qtbot, monkeypatch, tiny_weights, photo):
    """`fsr-studio PHOTO` goes through app.cli to run_gui, which opens the window with the photo loaded.

    The application's exec() is replaced by a wait for the window's work: quitting the real event loop inside a
    pytest-qt session would stop later tests' event loops.
    """
    from PySide6.QtWidgets import QApplication

    import app.main as main
    from app.cli import main as cli_main

    seen = {}
    original = main.create_window

    def spy(paths=(), settings=None):
        seen["window"] = win = original(paths, settings)
        qtbot.addWidget(win)
        return win

    class App:
        def exec(self) -> int:
            win = seen["window"]
            assert win.isVisible()
            qtbot.waitUntil(lambda: not win.controller.runner.busy(), timeout=60_000)
            seen["photos"] = [d.path for d in win.controller.session.photos]
            seen["faces"] = len(win.controller.session.photos[0].faces)
            win.close()
            return 0

    monkeypatch.setattr(main, "create_window", spy)
    monkeypatch.setattr(main, "create_app", lambda: (QApplication.instance(), App())[1])
    assert cli_main([str(photo)]) == 0
    assert seen["photos"] == [photo] and seen["faces"] == 3


def test_settings_dialog_shows_the_measured_inference_paths(qtbot, make_window):
    from app.ui.settings_dialog import SettingsDialog
    from engine import runtime_choice as rc

    w = make_window()
    assert "measured on the first use" in SettingsDialog(w.controller, w)._inference_label().text()
    cpu = rc.cpu_info()
    key = {"cpu": cpu.name, "flags": list(cpu.flags), "versions": rc.library_versions(), "variant": "fsrnet",
           "batch": 8, "device": "cpu"}
    rc.write_verdict(rc.Verdict("openvino", "openvino: 50.5 ms/face, 1.53x fp32 (77.2)", [], key))
    text = SettingsDialog(w.controller, w)._inference_label().text()
    assert "AMX:" in text and "fsrnet (batch 8, cpu): openvino: 50.5 ms/face" in text
