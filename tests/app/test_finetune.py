"""Fine-tune dialog: the real trainer as a subprocess, live events, cancel keeps a checkpoint, resume, new model."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.training import RunState, TrainRequest


def tiny_dataset(shared_data: Path, root: Path, n_train: int = 6, n_val: int = 2) -> tuple[Path, Path]:
    """A few faces128 faces with their landmark rows, and a celeba_val128-style validation folder."""
    ds, val = root / "ds", root / "val"
    rows = (shared_data / "faces128" / "landmarks68.csv").read_text().splitlines()[:n_train]
    for row in rows:
        rel = row.split(",", 1)[0]
        (ds / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / "faces128" / rel, ds / rel)
    (ds / "landmarks68.csv").write_text("\n".join(rows) + "\n")
    vrows = (shared_data / "celeba_val128" / "landmarks68.csv").read_text().splitlines()[:n_val]
    for sub in ("HR", "LR_x8"):
        (val / sub).mkdir(parents=True)
        for row in vrows:
            name = row.split(",", 1)[0]
            shutil.copyfile(shared_data / "celeba_val128" / sub / name, val / sub / name)
    (val / "landmarks68.csv").write_text("\n".join(vrows) + "\n")
    return ds, val


def test_run_state_parses_events_and_ignores_noise():
    s = RunState()
    s.feed_line('{"event":"start","steps":10,"step":0}')
    s.feed_line("some warning printed by a library")
    s.feed_line('{"event":"step","step":2,"steps":10,"losses":{"total":0.5,"prior":"nan"},"steps_per_s":2.0}')
    s.feed_line('{"event":"val","step":2,"psnr_y":21.5}')
    assert s.step == 2 and s.total == 10 and s.losses == {"total": [(2, 0.5)]}
    assert s.val == [(2, 21.5)] and s.eta_s == pytest.approx(4.0)
    assert s.log == ["some warning printed by a library"]
    s.feed_line('{"event":"cancelled","step":3}')
    assert s.status == "cancelled" and "checkpoint" in s.message


def test_train_args_resume_and_prepare(tmp_path):
    req = TrainRequest(source=tmp_path, model="fsrnet", steps=5, batch=2, run_dir=tmp_path / "run").resolved()
    args = req.train_args("-", resume=True)
    assert args[:3] == ["train", "-m", "fsrnet"] and "--resume" in args and "--events" in args
    assert args[args.index("--export") + 1] == "user" and req.prepare_args() is None
    assert "--lr" not in args
    tuned = TrainRequest(source=tmp_path, lr=2e-5, init=tmp_path / "w.safetensors", run_dir=tmp_path / "r").resolved()
    assert tuned.train_args()[tuned.train_args().index("--lr") + 1] == "2e-05" and "--init" in tuned.train_args()
    photos = TrainRequest(source=tmp_path, prepared=False, run_dir=tmp_path / "run").resolved()
    assert photos.prepare_args()[:2] == ["prepare", str(tmp_path)]
    assert photos.train_args()[photos.train_args().index("--data") + 1] == str(tmp_path / "run" / "dataset")


def test_degradation_follows_the_weights_unless_chosen(tmp_path):
    """No --degradation by default: the trainer then takes the one the init weights' card names (a blind restorer
    fine-tuned from the dialog stays blind); an explicit choice is passed as is; every engine name is offered."""
    from app.training import WEIGHTS_OWN, degradation_choices
    from engine.degrade import NAMES

    req = TrainRequest(source=tmp_path, model="sparnet-blind-u", run_dir=tmp_path / "r").resolved()
    assert "--degradation" not in req.train_args()
    assert "--degradation" not in TrainRequest(source=tmp_path, degradation=WEIGHTS_OWN,
                                               run_dir=tmp_path / "r").resolved().train_args()
    chosen = TrainRequest(source=tmp_path, degradation="photo_mild_full", run_dir=tmp_path / "r").resolved()
    assert chosen.train_args()[chosen.train_args().index("--degradation") + 1] == "photo_mild_full"
    assert degradation_choices() == [WEIGHTS_OWN, *NAMES]


def test_finetune_runs_cancels_resumes_and_lists_the_new_model(qtbot, make_window, shared_data, tmp_path):
    """Real trainer, full-size FSRNet, batch 2: cancel after the first steps, resume, finish (about 30 s here)."""
    from app.ui.finetune import FineTuneDialog

    ds, val = tiny_dataset(shared_data, tmp_path, n_train=4, n_val=1)
    w = make_window()
    dlg = FineTuneDialog(w.controller, w)
    w._finetune = dlg  # the window fixture stops it at teardown
    dlg.show()
    req = TrainRequest(source=ds, model="fsrnet", steps=4, batch=2, val=val, run_dir=tmp_path / "run",
                       export_name="fsrnet-ft-test", threads=1)
    assert dlg.start(req)
    qtbot.waitUntil(lambda: dlg.state.step >= 1, timeout=90_000)
    assert dlg.cancel_button.isEnabled() and not dlg.start_button.isEnabled()
    dlg.cancel()
    qtbot.waitUntil(lambda: not dlg.running(), timeout=90_000)
    assert dlg.state.status == "cancelled", dlg.log.toPlainText()[-2000:]
    stopped_at = dlg.state.step
    assert stopped_at < 4
    assert any((tmp_path / "run" / "training_states").iterdir()), "cancel must leave a checkpoint"
    assert dlg.resume_button.isEnabled()
    # the plots got the events so far
    assert "total" in dlg.loss_curves and len(dlg.loss_curves["total"].xData) >= 1

    assert dlg.resume()
    qtbot.waitUntil(lambda: not dlg.running(), timeout=120_000)
    assert dlg.state.status == "finished", dlg.log.toPlainText()[-3000:]
    assert dlg.state.step == 4
    assert len(dlg.val_curve.xData) >= 1  # the final validation PSNR is plotted
    assert "fsrnet:fsrnet-ft-test" in w.controller.choices
    assert w.controller.choices["fsrnet:fsrnet-ft-test"].source == "fine-tuned"
    assert w.model_combo.findData("fsrnet:fsrnet-ft-test") >= 0


def test_finetune_from_a_photo_folder_prepares_it_first(qtbot, make_window, shared_data, tmp_path):
    """Uncropped photos: `prepare` (detect, crop, landmarks, split) runs first, then two training steps."""
    from app.ui.finetune import FineTuneDialog

    photos = tmp_path / "photos"
    photos.mkdir()
    for src in sorted((shared_data / "raw_faces").iterdir())[:12]:  # 12 photos: at least one goes to val
        shutil.copyfile(src, photos / src.name)
    w = make_window()
    dlg = FineTuneDialog(w.controller, w)
    w._finetune = dlg
    req = TrainRequest(source=photos, prepared=False, model="fsrnet", steps=2, batch=2, run_dir=tmp_path / "run",
                       export_name="fsrnet-from-photos", threads=1)
    assert dlg.start(req)
    qtbot.waitUntil(lambda: dlg.state.prepared is not None, timeout=60_000)
    qtbot.waitUntil(lambda: not dlg.running() and dlg.phase == "idle", timeout=120_000)
    log = dlg.log.toPlainText()
    assert dlg.state.status == "finished", log[-3000:]
    assert "faces kept" in log and (tmp_path / "run" / "dataset" / "manifest.json").is_file()
    assert "fsrnet:fsrnet-from-photos" in w.controller.choices
