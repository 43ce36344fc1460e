"""The controller: turns user actions into background jobs over the plain session and reports back with signals.

Views never call the engine (nor the backend) and never touch a job; they call these methods, read the Qt-free
session it exposes (``controller.session``) and redraw on the signals. The session announces every change of a photo
(status, faces, composite, per-face decisions) to its subscribers; the controller is one and re-emits it as
``photoChanged``. Every job reports failures as (title, file, reason) so the window can show which photo failed and
why, then carry on.

The user's settings become one engine ``RestoreSettings`` per job (``AppSettings.restore_settings``), passed whole to
the backend and on to the engine; what a job works on (pixels, faces, results so far, which models) is a
``backend.RestoreRequest`` snapshot.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from .. import backend
from ..backend import AUTO, ExportOptions, ImportReport, ModelChoice  # noqa: F401 - the views' value types
from ..session import FaceItem, PhotoDoc, PhotoStatus, Session, expand_paths
from ..settings import AppSettings, save_settings
from .imaging import to_display_image
from .jobs import Job, JobRunner

if TYPE_CHECKING:
    from engine.settings import RestoreSettings

# ----- what jobs hand back, made ready for the screen in the worker thread ------------------------------------------
@dataclass
class Opened:
    """An opened photo and its screen-ready image."""

    photo: backend.LoadedPhoto
    display: QImage


@dataclass
class Shown:
    """A restore job's outcome and its composite made ready for the screen (None: the job made no composite).

    Converting 10+ megapixels must not happen on the UI thread, so the worker does it."""

    outcome: backend.RestoreOutcome
    display: QImage | None = None


@dataclass
class ScreenImages:
    """A photo's screen-ready images (QImages made off the UI thread), kept beside the Qt-free PhotoDoc."""

    photo: QImage | None = None  # doc.rgb
    restored: QImage | None = None  # doc.restored


def _shown(outcome: backend.RestoreOutcome) -> Shown:
    display = None
    if outcome.composite is not None:
        display = to_display_image(backend.display_rgb8(outcome.composite))
    return Shown(outcome, display)


def _open_job(path: Path, settings: RestoreSettings, **callbacks: Any) -> Opened:
    """backend.load_and_detect plus the screen-ready image, both in the worker thread."""
    photo = backend.load_and_detect(path, settings, **callbacks)
    return Opened(photo, to_display_image(photo.rgb))


def _restore_job(request: backend.RestoreRequest, settings: RestoreSettings, **callbacks: Any) -> Shown:
    return _shown(backend.run_restore(request, settings, **callbacks))


def _compare_job(index: int, models: Sequence[str], request: backend.RestoreRequest, settings: RestoreSettings,
                 **callbacks: Any) -> Shown:
    return _shown(backend.compare_face(index, models, request, settings, **callbacks))


def _export_job(*args: Any, **callbacks: Any) -> tuple[Shown | None, list[Path]]:
    outcome, paths = backend.restore_and_export(*args, **callbacks)
    return (_shown(outcome) if outcome is not None else None), paths


class Controller(QObject):
    photosAdded = Signal(list)  # [PhotoDoc]
    photoChanged = Signal(object)  # PhotoDoc: status, faces, composite (the session's announcements)
    facesUpdated = Signal(object)  # PhotoDoc: new face outputs/maps (thumbnails, overlays, compare)
    errorRaised = Signal(str, str, str)  # title, file, reason
    progress = Signal(int, int, str)
    busyChanged = Signal(bool)
    modelsChanged = Signal()
    message = Signal(str)
    exported = Signal(object, list)  # PhotoDoc, written paths
    exportFailed = Signal(object, str)  # PhotoDoc, reason
    exportEnded = Signal(object)  # PhotoDoc: its export job ended (written, failed or cancelled)
    parametersCounted = Signal(dict)  # variant -> parameter count
    importProgress = Signal(str)
    imported = Signal(object)  # backend.ImportReport (fits or not)
    importFailed = Signal(str, str)  # file, reason (the import itself failed)
    importEnded = Signal()

    def __init__(self, settings: AppSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings
        self.session = Session()
        self.session.subscribe(self.photoChanged.emit)
        self.runner = JobRunner(self)
        self.runner.changed.connect(lambda: self.busyChanged.emit(self.runner.busy()))
        # The model manager's own worker: counting parameters builds every network and must not queue ahead of a
        # restoration.
        self.model_jobs = JobRunner(self)
        self.parameters: dict[str, int] = {}  # variant -> parameter count, once counted
        self._screen: weakref.WeakKeyDictionary[PhotoDoc, ScreenImages] = weakref.WeakKeyDictionary()
        self.choices: dict[str, ModelChoice] = {}
        self.refresh_models()

    # ----- models and settings ---------------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        try:
            self.choices = backend.choice_map()
        except Exception as exc:  # noqa: BLE001 - a broken models folder must not stop the app
            self.choices = {}
            self.errorRaised.emit("Models", "", str(exc))
        self.modelsChanged.emit()

    def model_keys(self) -> list[str]:
        return list(self.choices)

    def available_keys(self) -> list[str]:
        return [k for k, c in self.choices.items() if c.available]

    def restore_settings(self) -> RestoreSettings:
        """The engine RestoreSettings of the current preferences (one per job; the job never sees later edits)."""
        return self.settings.restore_settings()

    def apply_settings(self, settings: AppSettings) -> None:
        old, self.settings = self.settings, settings.normalised()
        if old.portrait_faces != self.settings.portrait_faces:
            self._forget_auto()
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.errorRaised.emit("Settings", "", f"cannot save the settings: {exc}")

    def _forget_auto(self) -> None:
        """auto's picks depend on the portrait rule: drop its outputs so the next restore picks again."""
        for doc in self.session.photos:
            touched = [f for f in doc.faces if f.result is not None and AUTO in f.result.outputs]
            for face in touched:
                face.result.forget(AUTO)
                face.metrics.pop(AUTO, None)
            if touched:
                doc.restored_signature = ()  # the composite holds the old picks: stale until restored again
                self.session.changed(doc)

    def change_settings(self, settings: AppSettings) -> None:
        """The settings dialog's OK: apply and save, and let every model list show the (new) default model."""
        self.apply_settings(settings)
        self.modelsChanged.emit()

    def report_error(self, title: str, file: str, reason: str) -> None:
        """A problem a view found (a bad form value, a failed training run): to the Problems window."""
        self.errorRaised.emit(title, file, reason)

    def notify(self, text: str) -> None:
        """A status-bar message."""
        self.message.emit(text)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """Messages for the models among `keys` that cannot run (unknown or without weights)."""
        out = []
        for k in dict.fromkeys(keys):
            c = self.choices.get(k)
            if c is None:
                out.append(f"unknown model {k!r}")
            elif not c.available:
                out.append(backend.missing_message(c))
        return out

    def missing_message(self, choice: ModelChoice) -> str:
        """Which file to put where so that `choice` can run."""
        return backend.missing_message(choice)

    # facts the dialogs show
    def models_folder(self) -> Path:
        return backend.models_folder()

    def bundled_folder(self) -> Path:
        return backend.bundled_folder()

    def restore_variants(self) -> list[str]:
        return backend.restore_variants()

    def weights_of(self, variant: str) -> Path | None:
        """The weight file a variant would load now (fine-tuning starts from it), or None."""
        return backend.find_weights(variant)

    def trainable_models(self) -> list[str]:
        from ..training import trainable_models

        return trainable_models()

    def detector_backends(self) -> list[tuple[str, str]]:
        return backend.detector_backends()

    def cuda_available(self) -> bool:
        return backend.cuda_available()

    def inference_summary(self) -> tuple[str, list[str]]:
        return backend.inference_summary()

    def default_output_dir(self, doc: PhotoDoc) -> Path:
        return backend.default_output_dir(doc.path, self.settings.output_dir)

    def export_target(self, doc: PhotoDoc, options: ExportOptions) -> Path:
        """Where the restored photo of `doc` would be written with these options."""
        meta = doc.image.metadata if doc.image is not None else None
        return Path(options.folder) / f"{doc.path.stem}{options.suffix}" \
            f"{backend.output_suffix(doc.path, options.format, meta)}"

    # ----- the model manager's jobs ---------------------------------------------------------------------------------
    def count_parameters(self) -> Job | None:
        """Count every variant's parameters in the background (once; parametersCounted says when)."""
        if self.parameters:
            self.parametersCounted.emit(dict(self.parameters))
            return None
        job = Job("count parameters", backend.describe_models)
        job.signals.finished.connect(self._counted)
        return self.model_jobs.start(job)

    def _counted(self, params: dict[str, int]) -> None:
        self.parameters = dict(params)
        self.parametersCounted.emit(dict(params))

    def import_checkpoint(self, path: Path, variant: str | None) -> Job:
        """Check a checkpoint against `variant` (None: find the one it fits) and import it, in the background."""
        path = Path(path)
        job = Job(f"import {path.name}", backend.import_checkpoint, path, variant, file=str(path))
        job.signals.finished.connect(self._imported)
        job.signals.failed.connect(lambda why, _tb, p=path: self._import_failed(p, why))
        job.signals.progress.connect(lambda _d, _t, text: self.importProgress.emit(text))
        job.signals.done.connect(self.importEnded)
        return self.model_jobs.start(job)

    def _imported(self, report: ImportReport) -> None:
        if report.ok:
            self.refresh_models()
        else:
            self.errorRaised.emit("Checkpoint does not fit", str(report.source), report.details)
        self.imported.emit(report)

    def _import_failed(self, path: Path, why: str) -> None:
        self.errorRaised.emit("Import failed", str(path), why)
        self.importFailed.emit(str(path), why)

    def cancel_model_jobs(self) -> None:
        self.model_jobs.cancel_all()

    def model_jobs_busy(self) -> bool:
        return self.model_jobs.busy()

    # ----- jobs -----------------------------------------------------------------------------------------------------
    def _submit(self, doc: PhotoDoc | None, job: Job, failure: str,
                on_finished: Callable[[PhotoDoc, Any], None]) -> Job:
        """Start a job about `doc`: its result goes to on_finished, a failure to the Problems window under the
        title `failure`, a cancel back to the photo's settled state; progress to the status bar."""
        job.signals.finished.connect(lambda result, d=doc: on_finished(d, result))
        job.signals.failed.connect(lambda why, _tb, d=doc: self._failed(d, failure, why))
        job.signals.cancelled.connect(lambda d=doc: self._cancelled(d))
        job.signals.progress.connect(self.progress)
        return self.runner.start(job)

    def busy(self) -> bool:
        return self.runner.busy()

    def cancel(self) -> None:
        self.runner.cancel_all()

    def shutdown(self, msecs: int = 3000) -> None:
        """Stop every job (the window is closing)."""
        self.model_jobs.shutdown(0)
        self.runner.shutdown(msecs)

    def _failed(self, doc: PhotoDoc | None, title: str, why: str) -> None:
        """Report a failed job; only a photo that could not be opened is marked as an error in the list."""
        if doc is not None:
            for f in doc.faces:
                f.busy = False
            if not doc.detected:
                self.session.set_status(doc, PhotoStatus.ERROR, why)
            else:
                self.session.set_status(doc, doc.settled_status())
        self.errorRaised.emit(title, str(doc.path) if doc else "", why)

    def _cancelled(self, doc: PhotoDoc | None) -> None:
        if doc is not None:
            for f in doc.faces:
                f.busy = False
            self.session.set_status(doc, doc.settled_status())
        self.message.emit("cancelled")

    # ----- photos ----------------------------------------------------------------------------------------------------
    def add_paths(self, paths: Iterable[str | Path]) -> list[PhotoDoc]:
        files, skipped = expand_paths(paths)
        for path, why in skipped:
            self.errorRaised.emit("Not added", str(path), why)
        docs = self.session.add(files)
        if docs:
            self.photosAdded.emit(docs)
            for doc in docs:
                self.load(doc)
        return docs

    def load(self, doc: PhotoDoc) -> Job:
        """Read the photo and find its faces (again: per-face choices are reset)."""
        self.session.set_status(doc, PhotoStatus.LOADING, "")
        job = Job(f"open {doc.name}", _open_job, doc.path, self.restore_settings(), file=str(doc.path))
        return self._submit(doc, job, "Cannot open photo", self._loaded)

    def _loaded(self, doc: PhotoDoc, opened: Opened) -> None:
        photo = opened.photo
        doc.image, doc.rgb = photo.image, photo.rgb
        self._screen[doc] = ScreenImages(photo=opened.display)
        if photo.note:
            self.message.emit(f"{doc.name}: {photo.note}")
        doc.faces = [FaceItem(d) for d in photo.detections]
        doc.generation += 1
        doc.detected = True
        doc.restored, doc.restored_signature = None, ()
        self.session.set_status(doc, PhotoStatus.READY)
        if not photo.detections:
            self.message.emit(f"{doc.name}: no faces found (try another detector in Settings)")
        elif self.settings.auto_restore:
            self.restore(doc, quiet=True)

    def photo_image(self, doc: PhotoDoc) -> QImage | np.ndarray | None:
        """The photo for the screen: the QImage made off the UI thread, else its RGB pixels (None: not read)."""
        screen = self._screen.get(doc)
        return screen.photo if screen is not None and screen.photo is not None else doc.rgb

    def restored_image(self, doc: PhotoDoc) -> QImage | np.ndarray | None:
        """The composite for the screen (None: not restored yet)."""
        if doc.restored is None:
            return None
        screen = self._screen.get(doc)
        if screen is not None and screen.restored is not None:
            return screen.restored
        return backend.display_rgb8(doc.restored)

    # ----- restoration -------------------------------------------------------------------------------------------
    def model_of(self, doc: PhotoDoc, index: int) -> str:
        return doc.model_of(index, self.settings.default_model)

    def restore(self, doc: PhotoDoc, faces: Sequence[int] | None = None, *, force: bool = False,
                quiet: bool = False) -> Job | None:
        """Restore the included faces (or just `faces`) with their models, then compose the whole photo."""
        if doc.image is None or not doc.detected:
            return None
        compose = doc.face_models(self.settings.default_model)
        wanted = {i: [m] for i, m in compose.items() if faces is None or i in faces}
        problems = self.missing({m for ms in wanted.values() for m in ms} | set(compose.values()))
        if problems:
            self.errorRaised.emit("Missing model weights", str(doc.path), "\n".join(problems))
            if quiet:
                self.session.set_status(doc, PhotoStatus.READY)
            return None
        return self._run(doc, f"restore {doc.name}", wanted, compose, force=force)

    def ensure_maps(self, doc: PhotoDoc, kind: str) -> Job | None:
        """Make sure included faces carry the maps an overlay needs: FSRNet priors or SPARNet attention.

        The consistency overlay shows the no-harm checks of the faces' own outputs: it runs nothing, and says so
        when the photo is not restored yet."""
        if doc.image is None or not doc.faces:
            return None
        if kind == "consistency":
            lacking = [i + 1 for i, f in enumerate(doc.faces) if f.include and not f.has_run(self.model_of(doc, i))]
            if lacking:
                self.message.emit(f"{doc.name}: restore the photo (Ctrl+R) to see the consistency check of faces "
                                  + ", ".join(map(str, lacking)))
            return None
        family = "fsrnet" if kind in ("landmarks", "parsing") else "sparnet"
        key = "attention" if family == "sparnet" else None
        have = [f for f in doc.faces if f.result is not None and any(
            (key in d) if key else ("priors" in d or "landmarks" in d or "heatmaps" in d)
            for d in f.result.maps.values())]
        if len(have) == len(doc.included()):
            return None
        model = self.overlay_model(family)
        if model is None:
            self.errorRaised.emit("Overlay unavailable", str(doc.path), self._family_missing(family))
            return None
        wanted = {i: [model] for i in doc.included() if doc.faces[i] not in have}
        return self._run(doc, f"{model} maps for {doc.name}", wanted, None)

    def overlay_model(self, family: str) -> str | None:
        """The model whose maps feed an overlay: the default model when it is of that family, else the first one
        of the family (x8 before HD, official before fine-tuned) that has weights."""
        default = self.choices.get(self.settings.default_model)
        if default is not None and default.family == family and default.available:
            return default.key
        return next((k for k, c in self.choices.items() if c.family == family and c.available), None)

    def _family_missing(self, family: str) -> str:
        first = next((c for c in self.choices.values() if c.family == family), None)
        what = "landmark and parsing overlays need FSRNet or FSRGAN" if family == "fsrnet" else \
            "the attention overlay needs a SPARNet model"
        return f"{what}; {backend.missing_message(first) if first else 'no such model is installed'}"

    def compare(self, doc: PhotoDoc, index: int, models: Sequence[str]) -> Job | None:
        """Run the compare panes' models on one face (only those not run before) and measure their outputs."""
        runnable = [m for m in models if m in self.choices and self.choices[m].available]
        if doc.image is None or not runnable or not (0 <= index < len(doc.faces)):
            return None
        face = doc.faces[index]
        if face.busy:
            return None
        missing = [m for m in runnable if not face.has_run(m)]
        unmeasured = [m for m in runnable if m not in face.metrics]
        if not missing and not unmeasured:
            return None
        face.busy = True
        self.session.changed(doc)
        request = self._request(doc, {index: missing} if missing else {}, None)
        job = Job(f"compare face {index + 1}", _compare_job, index, unmeasured, request, self.restore_settings(),
                  file=str(doc.path))
        return self._submit(doc, job, "Comparison failed", self._restored)

    def _request(self, doc: PhotoDoc, wanted: dict[int, list[str]], compose: dict[int, str] | None,
                 force: bool = False) -> backend.RestoreRequest:
        """What a restore job of this photo works on (a snapshot: the job never sees later edits)."""
        return backend.RestoreRequest(
            pixels=doc.image.pixels, detections=tuple(f.detection for f in doc.faces),
            existing=tuple(f.result for f in doc.faces), wanted={i: list(ms) for i, ms in wanted.items()},
            choices=dict(self.choices), compose_models=dict(compose) if compose is not None else None,
            alpha=doc.image.alpha, force=force)

    def _run(self, doc: PhotoDoc, title: str, wanted: dict[int, list[str]], compose: dict[int, str] | None,
             force: bool = False) -> Job:
        for i in wanted:
            doc.faces[i].busy = True
        if compose is not None:
            self.session.set_status(doc, PhotoStatus.RESTORING)
        else:
            self.session.changed(doc)
        job = Job(title, _restore_job, self._request(doc, wanted, compose, force), self.restore_settings(),
                  file=str(doc.path))
        return self._submit(doc, job, "Restoration failed", self._restored)

    # ----- export ------------------------------------------------------------------------------------------------
    def export(self, doc: PhotoDoc, options: ExportOptions) -> Job | None:
        """Write the restored photo / faces / priors; restores first when the composite is out of date."""
        if doc.image is None:
            self.errorRaised.emit("Export", str(doc.path), "the photo is not loaded")
            return None
        compose = doc.face_models(self.settings.default_model)
        wanted = {i: [m] for i, m in compose.items()}
        stale = self.is_stale(doc) and (options.photo or options.faces or options.priors)
        if stale:
            problems = self.missing(compose.values())
            if problems:
                self.errorRaised.emit("Missing model weights", str(doc.path), "\n".join(problems))
                return None
        if options.priors:
            prior = self.overlay_model("fsrnet")
            if prior is not None:
                for ms in wanted.values():
                    if prior not in ms:
                        ms.append(prior)
                stale = stale or any(not doc.faces[i].has_output(prior) for i in wanted)
        settings = self.restore_settings()
        provenance = backend.provenance_for(compose, self.choices, settings)
        job = Job(f"export {doc.name}", _export_job, doc.path, doc.image, doc.restored,
                  self._request(doc, wanted, compose), settings, stale, options, provenance, file=str(doc.path))
        job.signals.failed.connect(lambda why, _tb, d=doc: self.exportFailed.emit(d, why))
        job.signals.done.connect(lambda d=doc: self.exportEnded.emit(d))
        return self._submit(doc, job, "Export failed", self._exported)

    def _exported(self, doc: PhotoDoc, result: tuple[Shown | None, list[Path]]) -> None:
        shown, paths = result
        if shown is not None:
            self._restored(doc, shown)
        self.message.emit(f"{doc.name}: wrote {len(paths)} file(s) to {paths[0].parent if paths else '—'}")
        self.exported.emit(doc, paths)

    def _restored(self, doc: PhotoDoc, shown: Shown) -> None:
        out = shown.outcome
        for i, result in out.results.items():
            if i < len(doc.faces) and result is not None:
                doc.faces[i].result = result
        for i, per_model in out.metrics.items():
            if i < len(doc.faces):
                doc.faces[i].metrics.update(per_model)
        for f in doc.faces:
            f.busy = False
        doc.notes = out.notes
        for note in out.notes:
            self.message.emit(f"{doc.name}: {note}")
        if out.composite is not None:
            doc.restored, doc.restored_signature = out.composite, out.signature
            self._screen.setdefault(doc, ScreenImages()).restored = shown.display
            self.session.set_status(doc, PhotoStatus.RESTORED)
        elif doc.status == PhotoStatus.RESTORING:
            self.session.set_status(doc, PhotoStatus.READY)
        else:
            self.session.changed(doc)
        self.facesUpdated.emit(doc)

    # ----- per-face decisions ------------------------------------------------------------------------------------
    def set_include(self, doc: PhotoDoc, index: int, on: bool) -> None:
        doc.faces[index].include = on
        self.session.changed(doc)
        if doc.restored is not None and self.settings.auto_restore:
            self.restore(doc, quiet=True)  # recomposes; runs the model only on a newly included face

    def set_face_model(self, doc: PhotoDoc, index: int, model: str | None) -> None:
        doc.faces[index].model = model or None
        self.session.changed(doc)

    def rerun_face(self, doc: PhotoDoc, index: int) -> Job | None:
        doc.faces[index].metrics.clear()  # the outputs change, so do their measurements
        if not doc.faces[index].include:
            doc.faces[index].include = True
        return self.restore(doc, [index], force=True)

    def is_stale(self, doc: PhotoDoc) -> bool:
        """True when the composite no longer matches the face choices (a restore would change it)."""
        if doc.restored is None:
            return True
        return doc.restored_signature != doc.signature(self.settings.default_model, self.settings.scale,
                                                       self.settings.no_harm_check)
