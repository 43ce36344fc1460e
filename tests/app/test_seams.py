"""The app's seams (issue #15 items 1 and 5): the photo status as an enum with one announcing setter, the engine's
RestoreSettings built from the GUI's settings and passed whole to the engine, the typed screen images, and the
Qt-free fine-tune run model (event parsing and what each exit of the trainer means)."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.session import PhotoDoc, PhotoStatus, Session
from app.settings import AppSettings
from app.training import TrainRequest
from app.training_run import ExitOutcome, Phase, TrainingRun, check_request
from engine.settings import RestoreSettings

from .conftest import wait_idle
from .test_window import loaded_window


# ----- photo status --------------------------------------------------------------------------------------------------
def test_photo_status_is_an_enum_equal_to_its_text():
    assert [s.value for s in PhotoStatus] == ["queued", "loading", "ready", "restoring", "restored", "error"]
    assert PhotoStatus.RESTORED == "restored" and PhotoStatus("error") is PhotoStatus.ERROR
    assert f"{PhotoStatus.READY}" == "ready" and PhotoDoc(Path("a.jpg")).status is PhotoStatus.QUEUED


def test_set_status_is_the_one_setter_and_announces_each_change():
    session = Session()
    heard: list[tuple[PhotoDoc, PhotoStatus, str]] = []
    session.subscribe(lambda d: heard.append((d, d.status, d.error)))
    doc, = session.add([Path("a.jpg")])
    session.set_status(doc, PhotoStatus.LOADING, "")
    session.set_status(doc, "error", "truncated JPEG")  # a plain value is turned into the enum
    assert doc.status is PhotoStatus.ERROR and doc.error == "truncated JPEG"
    session.set_status(doc, PhotoStatus.LOADING, "")
    session.changed(doc)  # a change that is not a status (faces, decisions) is announced the same way
    assert [(s, e) for _d, s, e in heard] == [(PhotoStatus.LOADING, ""), (PhotoStatus.ERROR, "truncated JPEG"),
                                             (PhotoStatus.LOADING, ""), (PhotoStatus.LOADING, "")]
    assert all(d is doc for d, _s, _e in heard)
    with pytest.raises(ValueError):
        session.set_status(doc, "done")


def test_settled_status_after_a_job_ends():
    doc = PhotoDoc(Path("a.jpg"))
    assert doc.settled_status() is PhotoStatus.QUEUED  # a cancelled first read
    doc.detected = True
    assert doc.settled_status() is PhotoStatus.READY
    doc.restored = object()
    assert doc.settled_status() is PhotoStatus.RESTORED


def test_a_photo_goes_loading_ready_restoring_restored_with_one_signal_each(qtbot, make_window, tiny_weights, photo):
    w = make_window()
    seen: list[PhotoStatus] = []
    w.controller.photoChanged.connect(lambda d: seen.append(d.status))
    w.open_paths([photo])
    wait_idle(qtbot, w)
    doc = w.controller.session.photos[0]
    assert doc.status is PhotoStatus.RESTORED
    assert list(dict.fromkeys(seen)) == [PhotoStatus.LOADING, PhotoStatus.READY, PhotoStatus.RESTORING,
                                         PhotoStatus.RESTORED]
    # the views get the screen-ready images from the controller; the Qt-free session holds none
    from PySide6.QtGui import QImage

    assert isinstance(w.controller.photo_image(doc), QImage) and isinstance(w.controller.restored_image(doc), QImage)
    assert w.controller.restored_image(doc).width() == doc.restored.shape[1]
    assert not any(isinstance(v, QImage) for v in vars(doc).values())


# ----- RestoreSettings from the GUI's settings -------------------------------------------------------------------------
def test_restore_settings_from_app_settings():
    assert AppSettings().restore_settings() == RestoreSettings(device=None)
    s = AppSettings(device="cpu", detector="yunet", detector_model="/models/yunet.onnx", scale=3.0,
                    no_harm_check=False).restore_settings()
    assert s == RestoreSettings(scale=3.0, detector="yunet", detector_model="/models/yunet.onnx", device="cpu",
                                no_harm=False)
    assert AppSettings(detector_model="", device="auto").restore_settings().detector_model is None
    # a hand-edited value out of range is normalised first, never an error in the middle of a job
    assert AppSettings(scale=40.0).restore_settings().scale == 8.0


def test_the_engine_gets_the_guis_settings_whole(qtbot, make_window, tiny_weights, photo, monkeypatch):
    import engine.restore

    got: list[RestoreSettings] = []
    real = engine.restore.restore_faces

    def spy(image, detections, models, settings=None, **kwargs):
        got.append(settings)
        return real(image, detections, models, settings, **kwargs)

    monkeypatch.setattr(engine.restore, "restore_faces", spy)
    w, doc = loaded_window(qtbot, make_window, photo, default_model="fsrnet", scale=3.0, no_harm_check=False,
                           device="cpu")
    assert doc.status == "restored" and got
    assert all(isinstance(s, RestoreSettings) for s in got)
    assert got[-1] == w.controller.settings.restore_settings()
    assert (got[-1].scale, got[-1].no_harm, got[-1].device) == (3.0, False, "cpu")
    assert doc.restored.shape[:2] == (441 * 3, 1080 * 3) and doc.restored_signature[2] is False


def test_provenance_comes_from_the_settings():
    from app import backend

    choices = backend.choice_map()
    prov = backend.provenance_for({0: "fsrnet", 2: "auto"}, choices,
                                  RestoreSettings(scale=3.0, detector="yunet", no_harm=False))
    assert (prov["scale"], prov["detector"], prov["no_harm_check"]) == (3.0, "yunet", False)
    assert prov["faces"] == {"1": "fsrnet", "3": "auto"} and set(prov["models"]) == {"fsrnet", "auto"}


# ----- the fine-tune run model ---------------------------------------------------------------------------------------
def _run(tmp_path: Path, **request) -> TrainingRun:
    run = TrainingRun()
    req = TrainRequest(source=tmp_path, run_dir=tmp_path / "run", export_name="fsrnet-ft-x", **request).resolved()
    launch = run.begin(req)
    run.launched(launch.phase)
    return run


def test_stdout_is_parsed_into_events_and_log_lines_across_partial_reads(tmp_path):
    run = _run(tmp_path)
    assert run.phase is Phase.TRAIN and run.state.status == "running"
    log = run.read_stdout(b'{"event":"start","steps":4,"step":0}\nsome library warning\n{"event":"st')
    assert log == ["[start] steps=4, step=0", "some library warning"]
    log = run.read_stdout(b'ep","step":2,"steps":4,"losses":{"total":0.5},"steps_per_s":1.0}\n')
    assert log == [] and run.state.step == 2 and run.state.losses == {"total": [(2, 0.5)]}
    assert run.state.eta_s == pytest.approx(2.0) and run.status_text() == "step 2/4"
    assert run.read_stderr("loading\r 50%|#####     | 1/2\rdone\n\n") == ["loading", "done"]


def test_exit_after_preparation_launches_training(tmp_path):
    run = _run(tmp_path, prepared=False)
    assert run.phase is Phase.PREPARE and run.state.status == "preparing"
    run.read_stdout(b'{"event":"finished","command":"prepare","counts":{"images":3,"kept":2,"train":2,"val":0}}\n')
    out = run.exited(0, crashed=False)
    assert out.launch is not None and out.launch.phase is Phase.TRAIN
    assert out.launch.args[out.launch.args.index("--data") + 1] == str(tmp_path / "run" / "dataset")
    assert out.log == [f"dataset prepared in {tmp_path / 'run' / 'dataset'}"] and run.phase is Phase.IDLE
    failed = _run(tmp_path, prepared=False)
    assert failed.exited(3, crashed=False).failure.startswith("preparing the dataset failed (exit code 3)")


def test_what_each_exit_of_the_trainer_means(tmp_path):
    done = _run(tmp_path)
    done.read_stdout(b'{"event":"finished","step":4,"weights":"w.safetensors"}')  # no newline: read at the exit
    assert done.exited(0, crashed=False) == ExitOutcome(finished="finished: 'fsrnet:fsrnet-ft-x' is now in the "
                                                                 "model list")
    cancelled = _run(tmp_path)
    cancelled.request_cancel()
    assert (tmp_path / "run" / "CANCEL").is_file()
    out = cancelled.exited(0, crashed=False)  # exited before its "cancelled" event: the cancel still counts
    assert out == ExitOutcome() and cancelled.state.status == "cancelled"
    assert not cancelled.resumable(running=False)  # no checkpoint yet
    (tmp_path / "run" / "training_states").mkdir()
    assert cancelled.resumable(running=False) and not cancelled.resumable(running=True)
    launch = cancelled.resume()
    assert "--resume" in launch.args and not (tmp_path / "run" / "CANCEL").exists()
    crashed = _run(tmp_path)
    assert crashed.exited(-9, crashed=True).failure == "the trainer stopped unexpectedly (exit code -9); see the log"
    errored = _run(tmp_path)
    errored.read_stdout(b'{"event":"error","message":"no faces in the data"}\n')
    assert errored.exited(2, crashed=False) == ExitOutcome(trainer_error="no faces in the data")


def test_a_request_without_its_folder_is_refused(tmp_path):
    req = TrainRequest(source=tmp_path / "nope", run_dir=tmp_path / "run").resolved()
    assert "choose the training folder" in check_request(req)
    assert check_request(TrainRequest(source=tmp_path, run_dir=tmp_path / "run").resolved()) == ""
