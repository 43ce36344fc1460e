"""The main window: photo list | tabs (Photo, Compare, Before/After) over the face strip; menus, toolbar, status.

It wires views to the controller and keeps "what is selected"; everything slow happens in the controller's jobs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (QComboBox, QFileDialog, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QProgressBar, QPushButton, QSplitter, QTabWidget, QToolBar, QVBoxLayout,
                               QWidget)

from ..badges import face_status
from ..overlays import face_overlay
from ..session import PHOTO_SUFFIXES, PhotoDoc, PhotoStatus
from ..settings import AppSettings
from .before_after import BeforeAfterTab
from .compare import CompareTab, pick_slots
from .controller import AUTO, Controller
from .errors import ErrorDialog
from .face_strip import FaceStrip, crop_thumbnail
from .photo_view import PhotoView, face_tuples

ICON = Path(__file__).resolve().parents[2] / "resources" / "icons" / "fsr-studio.png"
STATUS_MARK = {PhotoStatus.QUEUED: "…", PhotoStatus.LOADING: "⏳", PhotoStatus.READY: "●",
               PhotoStatus.RESTORING: "⚙", PhotoStatus.RESTORED: "✔", PhotoStatus.ERROR: "✖"}


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("FSR Studio")
        if ICON.is_file():
            self.setWindowIcon(QIcon(str(ICON)))
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self.controller = Controller(settings, self)
        self.current: PhotoDoc | None = None
        self.face: int | None = None
        self.errors = ErrorDialog(self)
        self._overlay_cache: dict[int, tuple[Any, Any]] = {}  # id(FaceResult) -> (result, its overlays)
        self._shown: tuple[str, int] = ("", -1)  # (photo, detection generation) the views were built for
        self._build_views()
        self._build_actions()
        self._connect()
        self._refresh_models()

    # ----- construction ---------------------------------------------------------------------------------------------
    def _build_views(self) -> None:
        self.photo_list = QListWidget()
        self.photo_list.setIconSize(QSize(48, 48))
        self.photo_list.setMinimumWidth(180)
        self.photo_view = PhotoView()
        self.compare_tab = CompareTab([], pick_slots([], []))
        self.before_after = BeforeAfterTab()
        self.tabs = QTabWidget()
        photo_page = QWidget()
        pl = QVBoxLayout(photo_page)
        pl.setContentsMargins(0, 0, 0, 0)
        self.hint = QLabel("Drop photos or folders here, or use File > Open.")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pl.addWidget(self.hint)
        pl.addWidget(self.photo_view, 1)
        self.tabs.addTab(photo_page, "Photo")
        self.tabs.addTab(self.compare_tab, "Compare")
        self.tabs.addTab(self.before_after, "Before / After")
        self.face_strip = FaceStrip()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.tabs)
        right.addWidget(self.face_strip)
        right.setStretchFactor(0, 5)
        right.setStretchFactor(1, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.photo_list)
        split.addWidget(right)
        split.setStretchFactor(1, 4)
        self.setCentralWidget(split)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)

    def _action(self, text: str, slot: Any, shortcut: Any = None, checkable: bool = False, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.setCheckable(checkable)
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        act.triggered.connect(slot)
        return act

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open photos…", self.open_files, QKeySequence.StandardKey.Open)
        self.open_folder_action = self._action("Open &folder…", self.open_folder)
        self.restore_action = self._action("&Restore", self.restore_current, "Ctrl+R",
                                           tip="restore the included faces of this photo with their models")
        self.export_action = self._action("&Export…", self.show_export, "Ctrl+E")
        self.restore_all_action = self._action("Restore &all photos", self.restore_all, "Ctrl+Shift+R",
                                               tip="restore every loaded photo that is not restored yet")
        self.redetect_action = self._action("Find faces &again", self.redetect_current,
                                            tip="detect the faces of this photo again with the detector in Settings "
                                                "(per-face choices are reset)")
        self.cancel_action = self._action("Cancel", self.controller.cancel, "Esc")
        self.addAction(self.cancel_action)  # the shortcut works anywhere in the window
        quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.models_action = self._action("&Model manager…", self.show_models)
        self.finetune_action = self._action("&Fine-tune…", self.show_finetune)
        self.settings_action = self._action("&Settings…", self.show_settings, QKeySequence.StandardKey.Preferences)
        self.problems_action = self._action("&Problems…", self.errors.show)
        self.overlay_actions: dict[str, QAction] = {}
        for name, label, tip in (("boxes", "Boxes", "face boxes with number and detection score"),
                                 ("landmarks", "Landmarks", "68 landmarks from FSRNet's prior heatmaps"),
                                 ("parsing", "Parsing", "FSRNet's face parsing map, colour-coded"),
                                 ("attention", "Attention", "SPARNet's spatial attention as a heat map"),
                                 ("consistency", "Consistency",
                                  "no-harm check: where each restored face disagrees with the photo (clear: agrees, "
                                  "red: contradicts; a face that fails keeps its original)")):
            act = self._action(label, lambda on, n=name: self.toggle_overlay(n, on), checkable=True, tip=tip)
            act.setChecked(self.photo_view.visible[name])
            self.overlay_actions[name] = act
        menu = self.menuBar()
        m = menu.addMenu("&File")
        for a in (self.open_action, self.open_folder_action, None, self.redetect_action, self.restore_action,
                  self.restore_all_action, self.export_action, None, quit_action):
            m.addSeparator() if a is None else m.addAction(a)
        v = menu.addMenu("&View")
        for a in self.overlay_actions.values():
            v.addAction(a)
        v.addSeparator()
        v.addAction(self.problems_action)
        t = menu.addMenu("&Models")
        t.addAction(self.models_action)
        t.addAction(self.finetune_action)
        s = menu.addMenu("&Settings")
        s.addAction(self.settings_action)
        h = menu.addMenu("&Help")
        h.addAction(self._action("&About FSR Studio", self.show_about))
        bar = QToolBar("Main")
        bar.setObjectName("main_toolbar")
        bar.addAction(self.open_action)
        bar.addAction(self.restore_action)
        bar.addAction(self.export_action)
        bar.addSeparator()
        bar.addWidget(QLabel(" Model: "))
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(150)
        self.model_combo.setToolTip("default model for faces without their own choice")
        bar.addWidget(self.model_combo)
        bar.addSeparator()
        bar.addWidget(QLabel(" Show: "))
        for a in self.overlay_actions.values():
            bar.addAction(a)
        bar.addSeparator()
        bar.addAction(self.finetune_action)
        bar.addAction(self.models_action)
        self.addToolBar(bar)

    def _connect(self) -> None:
        c = self.controller
        c.photosAdded.connect(self._photos_added)
        c.photoChanged.connect(self._photo_changed)
        c.facesUpdated.connect(self._faces_updated)
        c.errorRaised.connect(self.show_error)
        c.progress.connect(self._progress)
        c.busyChanged.connect(self._busy)
        c.modelsChanged.connect(self._refresh_models)
        c.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.cancel_button.clicked.connect(c.cancel)
        self.photo_list.currentRowChanged.connect(self._row_changed)
        self.photo_view.faceClicked.connect(self.select_face)
        self.face_strip.selected.connect(self.select_face)
        self.face_strip.includeChanged.connect(lambda i, on: self.current and c.set_include(self.current, i, on))
        self.face_strip.modelChanged.connect(lambda i, m: self.current and c.set_face_model(self.current, i, m))
        self.face_strip.rerun.connect(lambda i: self.current and c.rerun_face(self.current, i))
        self.model_combo.currentTextChanged.connect(self._default_model_changed)
        self.compare_tab.requested.connect(self._compare_requested)
        self.tabs.currentChanged.connect(self._tab_changed)

    # ----- drag and drop, open --------------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def open_paths(self, paths: Sequence[str | Path]) -> list[PhotoDoc]:
        docs = self.controller.add_paths(paths)
        if docs and self.current is None:
            self.photo_list.setCurrentRow(self.controller.session.photos.index(docs[0]))
        return docs

    def open_files(self) -> None:
        pattern = " ".join(f"*{s}" for s in PHOTO_SUFFIXES)
        files, _ = QFileDialog.getOpenFileNames(self, "Open photos", self.controller.settings.recent_folder,
                                                f"Photos ({pattern});;All files (*)")
        if files:
            self.controller.settings.recent_folder = str(Path(files[0]).parent)
            self.open_paths(files)

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of photos",
                                                  self.controller.settings.recent_folder)
        if folder:
            self.controller.settings.recent_folder = folder
            self.open_paths([folder])

    # ----- photo list -------------------------------------------------------------------------------------------------
    def _photos_added(self, docs: list[PhotoDoc]) -> None:
        for doc in docs:
            item = QListWidgetItem(self._label(doc))
            item.setData(Qt.ItemDataRole.UserRole, str(doc.path))
            item.setToolTip(str(doc.path))
            self.photo_list.addItem(item)
        self.hint.setVisible(False)

    def _label(self, doc: PhotoDoc) -> str:
        faces = f" · {len(doc.faces)} faces" if doc.detected else ""
        return f"{STATUS_MARK.get(doc.status, '')} {doc.name}{faces}"

    def _row_changed(self, row: int) -> None:
        photos = self.controller.session.photos
        self.current = photos[row] if 0 <= row < len(photos) else None
        self.face = None
        self._show_doc(full=True)

    def _photo_changed(self, doc: PhotoDoc) -> None:
        row = self.controller.session.photos.index(doc) if doc in self.controller.session.photos else -1
        item = self.photo_list.item(row)
        if item is not None:
            item.setText(self._label(doc))
            if doc.rgb is not None and item.icon().isNull():
                from .imaging import to_pixmap

                small = doc.rgb[:: max(1, doc.rgb.shape[0] // 96), :: max(1, doc.rgb.shape[0] // 96)]
                item.setIcon(QIcon(to_pixmap(small)))
            if doc.status == PhotoStatus.ERROR:
                item.setToolTip(f"{doc.path}\n{doc.error}")
        if doc is self.current:
            self._show_doc(full=False)

    # ----- showing the current photo ------------------------------------------------------------------------------
    def _show_doc(self, full: bool) -> None:
        doc = self.current
        if doc is None or doc.rgb is None:
            self._shown = ("", -1)
            self.photo_view.clear_photo()
            self.face_strip.clear()
            self.face_strip.set_message(doc.error if doc is not None and doc.error else
                                        ("Loading…" if doc is not None else
                                         "No faces yet: drop photos on the window or use File > Open."))
            self.compare_tab.clear()
            self.before_after.clear()
            return
        shown = (str(doc.path), doc.generation)
        if full or self.photo_view.photo_item is None or self._shown != shown:
            if self.photo_view.photo_item is None or self._shown[0] != shown[0] or full:
                self.photo_view.set_photo(self.controller.photo_image(doc))
            self._shown = shown
            self._fill_strip(doc)
        self.photo_view.set_faces(face_tuples(doc.faces), self.face)
        self._update_cards(doc)
        self._update_overlays(doc)
        self._update_before_after(doc)
        if not doc.faces:
            self.face_strip.set_message(f"No faces found in {doc.name}. Another detector (Settings) may find them.")

    def _fill_strip(self, doc: PhotoDoc) -> None:
        rows = [(float(f.detection.score), crop_thumbnail(doc.rgb, f.detection.box), f.include, f.model)
                for f in doc.faces]
        self.face_strip.set_faces(rows, self.controller.model_keys(), self.controller.settings.default_model)
        self.face_strip.set_selected(self.face)

    def _update_cards(self, doc: PhotoDoc) -> None:
        for card, f in zip(self.face_strip.cards, doc.faces):
            card.include.blockSignals(True)
            card.include.setChecked(f.include)
            card.include.blockSignals(False)
            model = self.controller.model_of(doc, card.index)
            if f.busy:
                card.set_busy(True)
                continue
            card.set_busy(False)
            status = face_status(f.result, model, self.controller.settings.no_harm_check)
            card.set_status(status.pick, status.verdict, status.passed, status.warning, status.tooltip,
                            status.warning_detail)
            if f.result is not None and model in f.result.outputs:
                secs = f.result.seconds.get(model)
                what = status.pick + (f", {secs:.2f} s" if secs else "")
                card.set_output(f.result.outputs[model], "\n".join(filter(None, [what, status.tooltip])))
            elif not f.include:
                card.set_output(None, "excluded")
            elif f.has_run(model):
                card.set_output(None, "original kept")
                card.output_label.setToolTip(status.tooltip)
            else:
                note = "; ".join(f.result.notes) if f.result is not None and f.result.notes else ""
                card.set_output(None, note[:40] or "not restored")

    def _update_overlays(self, doc: PhotoDoc) -> None:
        """Draw the overlays, but only while one is switched on (colouring 30 faces' maps is not free), and from a
        per-result cache so toggling is instant. Each face's maps sit in the crop of the variant that made them
        (auto picks per face); the consistency map is that of the face's current model's output."""
        if not any(self.photo_view.visible[n] for n in ("landmarks", "parsing", "attention", "consistency")):
            if self.photo_view.layers_shown is not None:
                self.photo_view.set_overlays([])
                self.photo_view.layers_shown = None
            return
        models = [self.controller.model_of(doc, i) for i in range(len(doc.faces))]
        key = tuple((id(f.result), m) if f.include else None for f, m in zip(doc.faces, models))
        if self.photo_view.layers_shown == key:
            return
        if len(self._overlay_cache) > 2000:  # results of closed or re-run photos
            self._overlay_cache.clear()
        overlays = []
        for f, model in zip(doc.faces, models):
            if not f.include or f.result is None:
                overlays.append(None)
                continue
            cached = self._overlay_cache.get((id(f.result), model))
            if cached is None or cached[0] is not f.result:
                cached = (f.result, face_overlay(f.result, consistency=model))
                self._overlay_cache[(id(f.result), model)] = cached
            overlays.append(cached[1])
        self.photo_view.set_overlays(overlays)
        self.photo_view.layers_shown = key

    def _update_before_after(self, doc: PhotoDoc) -> None:
        if doc.restored is None:
            self.before_after.clear("Restore the photo (Ctrl+R) to compare it with the original."
                                    if doc.detected else "Loading…")
            return
        if self.before_after.view.property("shown") == id(doc.restored):
            return
        after = self.controller.restored_image(doc)
        before = self.controller.photo_image(doc)
        w, h = after.width() if hasattr(after, "width") else after.shape[1], \
            after.height() if hasattr(after, "height") else after.shape[0]
        caption = (f"{doc.name}: original {doc.rgb.shape[1]}×{doc.rgb.shape[0]} → restored {w}×{h}"
                   f"  ·  {self._made_by(doc) or 'no faces pasted'}  ·  drag on the image to move the split")
        self.before_after.show_result(before, after, caption)
        self.before_after.view.setProperty("shown", id(doc.restored))

    def _made_by(self, doc: PhotoDoc) -> str:
        """Which models made the composite: auto with the variants it used (and the originals it kept), and the
        faces the no-harm check kept as they were."""
        from collections import Counter

        pairs = doc.restored_signature[1] if doc.restored_signature else ()
        no_harm = doc.restored_signature[2] if len(doc.restored_signature) > 2 else True
        parts, kept = [], 0
        for model in sorted({m for _, m in pairs}):
            faces = [doc.faces[i] for i, m in pairs if m == model and i < len(doc.faces)]
            kept += sum(1 for f in faces if f.result is not None and model in f.result.outputs
                        and not f.result.pasted(model, no_harm))
            if model == AUTO:
                picks = Counter(f.variant(model) or "original" for f in faces)
                parts.append("auto (" + ", ".join(f"{v} ×{n}" for v, n in sorted(picks.items())) + ")")
            else:
                parts.append(model)
        text = ", ".join(parts)
        if kept:
            text += f"; {kept} face(s) kept original (no-harm check)"
        return text

    def _faces_updated(self, doc: PhotoDoc) -> None:
        if doc is self.current:
            self._update_compare()
            if self.tabs.currentWidget() is self.compare_tab and self.face is not None:
                # the photo's restore may have finished while the tab waited: run what the panes still lack
                self.controller.compare(doc, self.face, self.compare_tab.models())

    # ----- faces ------------------------------------------------------------------------------------------------------
    def select_face(self, index: int) -> None:
        doc = self.current
        if doc is None or not (0 <= index < len(doc.faces)):
            return
        self.face = index
        self.photo_view.select(index, face_tuples(doc.faces))
        self.face_strip.set_selected(index)
        self._update_compare()
        if self.tabs.currentWidget() is self.compare_tab:
            self._compare_requested(self.compare_tab.models())

    def _tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.compare_tab:
            if self.face is None and self.current is not None and self.current.faces:
                self.select_face(0)
            else:
                self._compare_requested(self.compare_tab.models())

    def _compare_requested(self, models: list[str]) -> None:
        doc = self.current
        if doc is None or self.face is None:
            return
        self._update_compare()
        self.controller.compare(doc, self.face, models)

    def _update_compare(self) -> None:
        doc, idx = self.current, self.face
        if doc is None or idx is None or idx >= len(doc.faces):
            self.compare_tab.clear()
            return
        face = doc.faces[idx]
        res = face.result
        self.compare_tab.caption.setText(f"{doc.name}, face {idx + 1} (score {face.detection.score:.2f})")
        from ..badges import BADGE_HELP, badges_for

        crop = None
        if res is not None:
            crop = res.crops.get("coarse128") or next(iter(res.crops.values()), None)
        if crop is not None:
            self.compare_tab.input_panel.pane.set_image(crop.image)
            self.compare_tab.input_panel.set_badges([f"{crop.source_px:.0f} px in the photo"])
        else:
            self.compare_tab.input_panel.pane.set_image(crop_thumbnail(doc.rgb, face.detection.box))
            self.compare_tab.input_panel.set_badges([])
        no_harm = self.controller.settings.no_harm_check
        for panel in self.compare_tab.panels:
            m = panel.model
            c = self.controller.choices.get(m)
            if res is not None and m in res.outputs:
                panel.pane.set_image(res.outputs[m])
                panel.set_badges(badges_for(res, m, face.detection, face.metrics.get(m), no_harm))
                panel.badges.setToolTip(face_status(res, m, no_harm).tooltip + "\n\n" + BADGE_HELP)
            elif face.has_run(m):
                status = face_status(res, m, no_harm)
                panel.pane.set_image(None, f"{status.pick}: the face keeps its upscaled original.\n"
                                           + status.tooltip)
                panel.set_badges([status.pick])
            elif c is not None and not c.available:
                panel.pane.set_image(None, self.controller.missing_message(c))
                panel.set_badges([])
            else:
                panel.pane.set_image(None, "working…" if face.busy else "not run yet")
                panel.set_badges([])
        self.compare_tab.fit_all()

    # ----- toolbar actions ------------------------------------------------------------------------------------------
    def toggle_overlay(self, name: str, on: bool) -> None:
        self.overlay_actions[name].setChecked(on)
        self.photo_view.set_overlay_visible(name, on)
        if name != "boxes" and self.current is not None and self.current.rgb is not None:
            self._update_overlays(self.current)
            if on:
                self.controller.ensure_maps(self.current, name)

    def redetect_current(self) -> None:
        if self.current is not None and not self.controller.busy():
            self.face = None
            self.controller.load(self.current)

    def restore_all(self) -> None:
        for doc in self.controller.session.photos:
            if doc.detected and self.controller.is_stale(doc) and doc.status != "restoring":
                self.controller.restore(doc, quiet=True)

    def restore_current(self) -> None:
        if self.current is not None:
            self.controller.restore(self.current)

    def _default_model_changed(self, key: str) -> None:
        if key and key != self.controller.settings.default_model:
            s = self.controller.settings
            s.default_model = key
            self.controller.apply_settings(s)
            if self.current is not None:
                self._fill_strip(self.current)
                self._update_cards(self.current)

    def _refresh_models(self) -> None:
        keys = self.controller.model_keys()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for k in keys:
            c = self.controller.choices[k]
            self.model_combo.addItem(k if c.available else f"{k}", k)
            idx = self.model_combo.count() - 1
            self.model_combo.setItemData(idx, (c.description + ("" if c.available else "  (no weights)")),
                                         Qt.ItemDataRole.ToolTipRole)
        self.model_combo.setCurrentIndex(max(self.model_combo.findData(self.controller.settings.default_model), 0))
        self.model_combo.blockSignals(False)
        self.compare_tab.set_model_list(keys, self.controller.available_keys())
        if self.current is not None:
            for card in self.face_strip.cards:
                card.set_models(keys, self.controller.settings.default_model, self.current.faces[card.index].model
                                if card.index < len(self.current.faces) else None)

    # ----- progress and errors ----------------------------------------------------------------------------------------
    def _progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        if message:
            self.statusBar().showMessage(message, 5000)

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)  # indeterminate until the first progress report

    def show_error(self, title: str, file: str, reason: str) -> None:
        self.errors.add(title, file, reason)
        name = Path(file).name if file else ""
        self.statusBar().showMessage(f"{title}{': ' + name if name else ''}: {reason.splitlines()[0][:200]}", 10000)

    # ----- dialogs ------------------------------------------------------------------------------------------------
    def show_export(self) -> None:
        from .export_dialog import ExportDialog

        if self.current is None:
            self.show_error("Export", "", "open a photo first")
            return
        dlg = ExportDialog(self.controller, self.current, self)
        dlg.open()
        self._export_dialog = dlg

    def show_models(self) -> None:
        from .model_manager import ModelManager

        dlg = ModelManager(self.controller, self)
        dlg.open()
        self._model_manager = dlg

    def show_finetune(self) -> None:
        from .finetune import FineTuneDialog

        dlg = FineTuneDialog(self.controller, self)
        dlg.show()
        self._finetune = dlg

    def show_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.controller, self)
        dlg.open()
        self._settings_dialog = dlg

    def show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(self, "FSR Studio",
                          "<b>FSR Studio</b><br>Face super-resolution with FSRNet, FSRGAN, SPARNet/SPARNetHD and "
                          "SelFSR: restore, compare, inspect priors, fine-tune.<br>Model licences: see the model "
                          "manager.")

    def open_url(self, path: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def closeEvent(self, event) -> None:  # noqa: N802
        self.controller.shutdown(3000)
        ft = getattr(self, "_finetune", None)
        if ft is not None:
            ft.shutdown()
        super().closeEvent(event)

