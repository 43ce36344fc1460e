"""Screenshots of every main view with a photo loaded, for the README (docs/screenshots/*.png).

    python scripts/screenshot.py                       # Solvay 1927 photo, offscreen, installed weights
    python scripts/screenshot.py --demo-weights        # untrained random weights when none are installed
    python scripts/screenshot.py --xvfb                # a real X11 (xcb) window under Xvfb
    python scripts/screenshot.py --xvfb --weights sparnet-blind=ckpt.pth --note "..."   # weights not bundled yet
    (Xvfb: apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
     libxkbcommon-x11-0 libxcb-cursor0)

It drives the real window (the same code paths as a user) and grabs each widget with QWidget.grab(), which works
with the offscreen platform as well as under Xvfb. With --demo-weights the restored faces are the output of untrained
networks and every screenshot says so in the title bar; re-run it once trained weights are installed.

The window runs the app's default model, `auto` (a model per face by its size, with the no-harm check). Which face
the close-ups show is decided by a rule, never by how good it looks: the *front row* is the lowest row of faces
(faces grouped by the height of their centres), and the shots use its middle face (by x); Before/After is zoomed on
that face and its two front-row neighbours, with the split through the middle face.
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
    from engine.auto import AUTO_BANDS

    auto_candidates = tuple(dict.fromkeys(name for band in AUTO_BANDS for name in band.candidates))
    torch.manual_seed(0)
    for name in dict.fromkeys(FAMILIES + auto_candidates):
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


def rows_of_faces(boxes: list[tuple[float, float, float, float]], gap: float = 0.4) -> list[list[int]]:
    """Face indices grouped into rows, lowest row (the front row of a group photo) first, each row left to right.

    Faces are sorted by the height of their box centres; a new row starts where two consecutive centres are more
    than `gap` median face heights apart."""
    if not boxes:
        return []
    cy = [(b[1] + b[3]) / 2 for b in boxes]
    height = sorted(b[3] - b[1] for b in boxes)[len(boxes) // 2]
    order = sorted(range(len(boxes)), key=lambda i: -cy[i])
    rows = [[order[0]]]
    for prev, i in zip(order, order[1:]):
        if cy[prev] - cy[i] > gap * height:
            rows.append([])
        rows[-1].append(i)
    return [sorted(r, key=lambda i: boxes[i][0] + boxes[i][2]) for r in rows]


def front_row_focus(boxes: list[tuple[float, float, float, float]]) -> tuple[int, list[int]]:
    """(the front row's middle face, that face with its left and right front-row neighbours)."""
    row = rows_of_faces(boxes)[0]
    mid = (len(row) - 1) // 2  # of an even row, the left one of the two middle faces
    return row[mid], row[max(0, mid - 1): mid + 2]


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
    # auto is the app's default; said here so the screenshots keep showing it whatever the default becomes
    window = create_window([], AppSettings(scale=2.0, default_model="auto"))
    window.resize(w, h)
    note = args.note or ("untrained demo weights (screenshots only)" if args.demo_weights else "")
    if note:
        from PySide6.QtWidgets import QLabel

        window.setWindowTitle(f"FSR Studio — {note}")
        window.statusBar().addPermanentWidget(QLabel(f"<i>{note}</i>"))  # grabs have no title bar
    window.show()
    window.open_paths([photo])
    wait_until(lambda: not window.controller.runner.busy())  # detection, then auto restores every face
    doc = window.controller.session.photos[0]
    if not doc.faces:
        print("no faces found; screenshots would be empty", file=sys.stderr)
        return 1
    if doc.restored is None:
        print("the photo was not restored (see the Problems dialog: missing weights?)", file=sys.stderr)
        return 1
    boxes = [tuple(float(v) for v in f.detection.box) for f in doc.faces]
    face, neighbours = front_row_focus(boxes)
    print(f"front row: faces {[i + 1 for i in rows_of_faces(boxes)[0]]}; shown: face {face + 1} "
          f"(the front row's middle face), Before/After on faces {[i + 1 for i in neighbours]}")
    window.select_face(face)
    # landmarks and parsing run FSRNet once (x8 on 16 px inputs: seconds for the whole photo); the consistency overlay
    # (the no-harm check's map, made by the restore) runs nothing
    for name in ("landmarks", "parsing"):
        window.toggle_overlay(name, True)
    wait_until(lambda: not window.controller.runner.busy())
    wait(300)
    out = args.out
    save(window, out / "main_window.png")
    view = window.photo_view
    box = boxes[face]
    from PySide6.QtCore import QPointF, QRectF, Qt

    view.set_zoom(min(6.0, 300 / max(1.0, box[2] - box[0])), QPointF((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    window.toggle_overlay("parsing", False)
    window.toggle_overlay("consistency", True)
    wait_until(lambda: not window.controller.runner.busy())
    wait(300)
    save(window, out / "overlays.png")
    for name in ("landmarks", "consistency"):
        window.toggle_overlay(name, False)

    # Compare: auto first, then one model of each family (FSRGAN is FSRNet's GAN variant: its slot goes to auto)
    from app.ui.compare import pick_slots

    c = window.controller
    slots = pick_slots(c.available_keys(), c.model_keys())
    for panel, model in zip(window.compare_tab.panels, ["auto", slots[0], slots[2], slots[3]]):
        panel.picker.blockSignals(True)  # one comparison job for all panes, started by the tab change
        panel.picker.setCurrentText(model)
        panel.picker.blockSignals(False)
        panel.title.setText(f"<b>{model}</b>")
    window.tabs.setCurrentWidget(window.compare_tab)
    wait(200)
    wait_until(lambda: not window.controller.runner.busy())
    wait(300)
    save(window, out / "compare.png")

    # Before/After: the middle front-row face and its neighbours fill the view, the split through the middle face
    window.tabs.setCurrentWidget(window.before_after)
    wait(200)
    ba = window.before_after.view
    k = ba.content_rect().width() / doc.rgb.shape[1]  # restored pixels per photo pixel
    x0 = min(boxes[i][0] for i in neighbours)
    x1 = max(boxes[i][2] for i in neighbours)
    fw = box[2] - box[0]
    cy = sum((boxes[i][1] + boxes[i][3]) / 2 for i in neighbours) / len(neighbours)
    region = QRectF((x0 - 0.6 * fw) * k, (cy - 1.6 * fw) * k, (x1 - x0 + 1.2 * fw) * k, 3.2 * fw * k)
    ba.fitInView(region, Qt.AspectRatioMode.KeepAspectRatio)
    ba._fit = False  # keep this zoom when the window lays out again
    window.before_after.slider.setValue(round(1000 * (box[0] + box[2]) / 2 / doc.rgb.shape[1]))
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
    wait_until(lambda: not mm.busy())
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
        ft.model.setCurrentText("fsrnet")  # the model trained below (the default, auto, is no trainable model)
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
