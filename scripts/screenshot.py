"""Screenshots of every main view with a photo loaded, for the README (docs/screenshots/*.png).

    python scripts/screenshot.py                       # Solvay 1927 photo, offscreen, installed weights
    python scripts/screenshot.py --demo-weights        # untrained random weights when none are installed
    python scripts/screenshot.py --xvfb                # a real X11 (xcb) window under Xvfb
    (Xvfb: apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
     libxkbcommon-x11-0 libxcb-cursor0)

It drives the real window (the same code paths as a user) and grabs each widget with QWidget.grab(), which works
with the offscreen platform as well as under Xvfb. With --demo-weights the restored faces are the output of untrained
networks and every screenshot says so in the title bar; re-run it once trained weights are installed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_PHOTO = ROOT.parent / "shared" / "data" / "photos" / "solvay_conference_1927.jpg"
FAMILIES = ("fsrnet", "fsrgan", "sparnet", "selfsr-lite")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    p.add_argument("--size", default="1600x1000", help="window size WxH")
    p.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                   help="Qt platform: offscreen (default) or xcb (under Xvfb)")
    p.add_argument("--xvfb", action="store_true",
                   help="run under Xvfb with the xcb platform (re-runs itself with xvfb-run when there is no DISPLAY)")
    p.add_argument("--demo-weights", action="store_true",
                   help="install untrained weights of each family into a temporary models folder")
    p.add_argument("--weights", action="append", default=[], metavar="VARIANT=FILE",
                   help="use this checkpoint for a variant (imported into a temporary models folder), repeatable")
    p.add_argument("--note", default="", help="text for the window title, e.g. which weights are shown")
    p.add_argument("--finetune-steps", type=int, default=12,
                   help="steps of the real training run shown in the fine-tune screenshot (0: skip it)")
    return p.parse_args(argv)


def wait(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(predicate, timeout_s: float = 600.0) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError("the window did not finish its work in time")
        wait(50)


def install_demo_weights() -> None:
    import torch

    from engine import zoo

    torch.manual_seed(0)
    for name in FAMILIES:
        if zoo.find_weights(name) is None:
            zoo.save_weights(zoo.build(name), zoo.user_models_dir() / f"{name}.safetensors", name,
                             card={"note": "untrained random weights for screenshots only"})


def tiny_dataset(root: Path, n: int = 16) -> tuple[Path, Path]:
    shared = ROOT.parent / "shared" / "data"
    ds, val = root / "ds", root / "val"
    rows = (shared / "faces128" / "landmarks68.csv").read_text().splitlines()[:n]
    for row in rows:
        rel = row.split(",", 1)[0]
        (ds / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / "faces128" / rel, ds / rel)
    (ds / "landmarks68.csv").write_text("\n".join(rows) + "\n")
    vrows = (shared / "celeba_val128" / "landmarks68.csv").read_text().splitlines()[:4]
    for sub in ("HR", "LR_x8"):
        (val / sub).mkdir(parents=True)
        for row in vrows:
            name = row.split(",", 1)[0]
            shutil.copyfile(shared / "celeba_val128" / sub / name, val / sub / name)
    (val / "landmarks68.csv").write_text("\n".join(vrows) + "\n")
    return ds, val


def save(widget, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.xvfb:
        args.platform = "xcb"
        if not os.environ.get("DISPLAY"):
            xvfb_run = shutil.which("xvfb-run")
            if xvfb_run is None:
                print("xvfb-run is missing: apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
                      "libxcb-render-util0 libxkbcommon-x11-0 libxcb-cursor0", file=sys.stderr)
                return 2
            cmd = [xvfb_run, "-a", "-s", "-screen 0 1920x1200x24", sys.executable, __file__,
                   *(argv if argv is not None else sys.argv[1:])]
            return subprocess.call(cmd)
    os.environ["QT_QPA_PLATFORM"] = args.platform
    work = Path(tempfile.mkdtemp(prefix="fsr-shots-"))
    os.environ.setdefault("FSR_STUDIO_CONFIG", str(work / "config"))  # never touch the user's settings
    # nor the user's models: the fine-tune screenshot exports into the models folder, and only bundled (or given)
    # weights should show
    os.environ["FSR_STUDIO_MODELS"] = str(work / "models")
    if args.demo_weights or args.weights:
        from app.backend import import_checkpoint

        for item in args.weights:
            variant, _, file = item.partition("=")
            report = import_checkpoint(file, variant)
            if not report.ok:
                print(report.text(), file=sys.stderr)
                return 2
    if args.demo_weights:
        install_demo_weights()
    photo = work / args.photo.name
    shutil.copyfile(args.photo, photo)  # exports and sidecars stay out of the shared data folder

    from app.main import create_app, create_window
    from app.settings import AppSettings

    app = create_app()
    w, h = (int(v) for v in args.size.lower().split("x"))
    window = create_window([], AppSettings(scale=2.0))
    window.resize(w, h)
    note = args.note or ("untrained demo weights (screenshots only)" if args.demo_weights else "")
    if note:
        from PySide6.QtWidgets import QLabel

        window.setWindowTitle(f"FSR Studio — {note}")
        window.statusBar().addPermanentWidget(QLabel(f"<i>{note}</i>"))  # grabs have no title bar
    window.show()
    window.open_paths([photo])
    wait_until(lambda: not window.controller.runner.busy())
    doc = window.controller.session.photos[0]
    if not doc.faces:
        print("no faces found; screenshots would be empty", file=sys.stderr)
        return 1
    biggest = max(range(len(doc.faces)), key=lambda i: doc.faces[i].detection.width)
    window.select_face(biggest)
    for name in ("landmarks", "parsing"):
        window.toggle_overlay(name, True)
    wait_until(lambda: not window.controller.runner.busy())
    wait(300)
    out = args.out
    save(window, out / "main_window.png")
    view = window.photo_view
    box = doc.faces[biggest].detection.box
    from PySide6.QtCore import QPointF

    view.set_zoom(min(6.0, 300 / max(1.0, box[2] - box[0])), QPointF((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    window.toggle_overlay("attention", True)
    wait_until(lambda: not window.controller.runner.busy())
    wait(300)
    save(window, out / "overlays.png")
    window.toggle_overlay("attention", False)
    window.tabs.setCurrentWidget(window.compare_tab)
    wait_until(lambda: not window.controller.runner.busy())
    wait(300)
    save(window, out / "compare.png")
    window.tabs.setCurrentWidget(window.before_after)
    wait(200)
    window.before_after.view.fit()
    window.before_after.slider.setValue(450)
    wait(300)
    save(window, out / "before_after.png")
    window.tabs.setCurrentIndex(0)

    from app.ui.export_dialog import ExportDialog
    from app.ui.model_manager import ModelManager
    from app.ui.settings_dialog import SettingsDialog

    dlg = ExportDialog(window.controller, doc, window)
    dlg.folder.edit.setText(str(work / "restored"))
    dlg.faces_box.setChecked(True)
    dlg.priors_box.setChecked(True)
    dlg.show()
    wait(200)
    save(dlg, out / "export.png")
    dlg.close()
    mm = ModelManager(window.controller, window)
    mm.show()
    wait_until(lambda: not mm.runner.busy())
    wait(200)
    save(mm, out / "model_manager.png")
    mm.close()
    sd = SettingsDialog(window.controller, window)
    sd.show()
    wait(200)
    save(sd, out / "settings.png")
    sd.close()
    if args.finetune_steps > 0:
        from app.training import TrainRequest
        from app.ui.finetune import FineTuneDialog

        ds, val = tiny_dataset(work / "data")
        ft = FineTuneDialog(window.controller, window)
        ft.source.edit.setText(str(ds))
        ft.val.edit.setText(str(val))
        ft.steps.setValue(args.finetune_steps)
        ft.batch.setValue(2)
        ft.show()
        from engine import zoo

        init = zoo.find_weights("fsrnet")  # fine-tune what is installed (the checkbox says so)
        ft.init.setChecked(init is not None)
        lr = 2e-5 if init is not None else None  # fine-tuning: a fraction of the from-scratch rate
        ft.lr.setText(f"{lr:g}" if lr else "")
        ft.start(TrainRequest(source=ds, model="fsrnet", steps=args.finetune_steps, batch=2, val=val, init=init, lr=lr,
                              val_every=max(1, args.finetune_steps // 3), run_dir=work / "run",
                              export_name="fsrnet-ft-screenshot"))
        wait_until(lambda: not ft.running(), timeout_s=1200)
        wait(400)
        save(ft, out / "finetune.png")
        ft.shutdown()
    window.close()
    app.quit()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
