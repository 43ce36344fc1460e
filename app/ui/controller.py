"""The controller: turns user actions into background jobs over the plain session and reports back with signals.

Views never call the engine and never touch a job; they call these methods and redraw on the signals. Every job
reports failures as (title, file, reason) so the window can show which photo failed and why, then carry on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from PySide6.QtCore import QObject, Signal

from .. import backend
from ..session import FaceItem, PhotoDoc, Session, expand_paths
from ..settings import AppSettings, save_settings
from .imaging import to_display_image
from .jobs import Job, JobRunner


def _load_for_display(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """backend.load_and_detect plus the screen-ready image, both in the worker thread."""
    loaded, detections, rgb, note = backend.load_and_detect(*args, **kwargs)
    return loaded, detections, rgb, to_display_image(rgb), note


def _restore_for_display(**kwargs: Any) -> backend.RestoreOutcome:
    """backend.run_restore plus the screen-ready composite (converting 10+ megapixels must not happen on the UI
    thread)."""
    out = backend.run_restore(**kwargs)
    if out.composite is not None:
        out.display = to_display_image(backend.display_rgb8(out.composite))  # type: ignore[attr-defined]
    return out


def _compare_for_display(index: int, models: Sequence[str], **kwargs: Any) -> backend.RestoreOutcome:
    return backend.compare_face(index, models, **kwargs)


def _export_for_display(*args: Any, **kwargs: Any) -> tuple[Any, list[Path]]:
    outcome, paths = backend.restore_and_export(*args, **kwargs)
    if outcome is not None and outcome.composite is not None:
        outcome.display = to_display_image(backend.display_rgb8(outcome.composite))  # type: ignore[attr-defined]
    return outcome, paths


class Controller(QObject):
    photosAdded = Signal(list)  # [PhotoDoc]
    photoChanged = Signal(object)  # PhotoDoc: status, faces, composite
    facesUpdated = Signal(object)  # PhotoDoc: new face outputs/maps (thumbnails, overlays, compare)
    errorRaised = Signal(str, str, str)  # title, file, reason
    progress = Signal(int, int, str)
    busyChanged = Signal(bool)
    modelsChanged = Signal()
    message = Signal(str)
    exported = Signal(list)  # written paths

    def __init__(self, settings: AppSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings
        self.session = Session()
        self.runner = JobRunner(self)
        self.runner.changed.connect(lambda: self.busyChanged.emit(self.runner.busy()))
        self.choices: dict[str, backend.ModelChoice] = {}
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

    def device(self) -> Any:
        return None if self.settings.device == "auto" else self.settings.device

    def apply_settings(self, settings: AppSettings) -> None:
        self.settings = settings.normalised()
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.errorRaised.emit("Settings", "", f"cannot save the settings: {exc}")

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
        doc.status, doc.error = "loading", ""
        self.photoChanged.emit(doc)
        job = Job(f"open {doc.name}", _load_for_display, doc.path, self.settings.detector,
                  self.settings.detector_model, file=str(doc.path))
        job.signals.finished.connect(lambda r, d=doc: self._loaded(d, r))
        job.signals.failed.connect(lambda why, _tb, d=doc: self._failed(d, "Cannot open photo", why))
        job.signals.cancelled.connect(lambda d=doc: self._cancelled(d))
        return self._start(job)

    def _loaded(self, doc: PhotoDoc, result: tuple[Any, ...]) -> None:
        loaded, detections, rgb, display, note = result
        doc.image, doc.rgb, doc.display = loaded, rgb, display
        if note:
            self.message.emit(f"{doc.name}: {note}")
        doc.faces = [FaceItem(d) for d in detections]
        doc.generation += 1
        doc.detected, doc.status = True, "ready"
        doc.restored, doc.restored_signature = None, ()
        self.photoChanged.emit(doc)
        if not detections:
            self.message.emit(f"{doc.name}: no faces found (try another detector in Settings)")
        elif self.settings.auto_restore:
            self.restore(doc, quiet=True)

    def _failed(self, doc: PhotoDoc | None, title: str, why: str) -> None:
        """Report a failed job; only a photo that could not be opened is marked as an error in the list."""
        if doc is not None:
            for f in doc.faces:
                f.busy = False
            if not doc.detected:
                doc.status, doc.error = "error", why
            else:
                doc.status = "restored" if doc.restored is not None else "ready"
            self.photoChanged.emit(doc)
        self.errorRaised.emit(title, str(doc.path) if doc else "", why)

    def _cancelled(self, doc: PhotoDoc | None) -> None:
        if doc is not None:
            for f in doc.faces:
                f.busy = False
            doc.status = ("restored" if doc.restored is not None else "ready") if doc.detected else "queued"
            self.photoChanged.emit(doc)
        self.message.emit("cancelled")

    def _start(self, job: Job) -> Job:
        job.signals.progress.connect(self.progress)
        return self.runner.start(job)

    def cancel(self) -> None:
        self.runner.cancel_all()

    # ----- restoration -------------------------------------------------------------------------------------------
    def model_of(self, doc: PhotoDoc, index: int) -> str:
        return doc.faces[index].model or self.settings.default_model

    def restore(self, doc: PhotoDoc, faces: Sequence[int] | None = None, *, force: bool = False,
                quiet: bool = False) -> Job | None:
        """Restore the included faces (or just `faces`) with their models, then compose the whole photo."""
        if doc.image is None or not doc.detected:
            return None
        targets = [i for i, f in enumerate(doc.faces) if f.include and (faces is None or i in faces)]
        wanted = {i: [self.model_of(doc, i)] for i in targets}
        compose = {i: self.model_of(doc, i) for i, f in enumerate(doc.faces) if f.include}
        problems = self.missing({m for ms in wanted.values() for m in ms} | set(compose.values()))
        if problems:
            self.errorRaised.emit("Missing model weights", str(doc.path), "\n".join(problems))
            if quiet:
                doc.status = "ready"
                self.photoChanged.emit(doc)
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
        if len(have) == len([f for f in doc.faces if f.include]):
            return None
        model = self.overlay_model(family)
        if model is None:
            self.errorRaised.emit("Overlay unavailable", str(doc.path), self._family_missing(family))
            return None
        wanted = {i: [model] for i, f in enumerate(doc.faces) if f.include and f not in have}
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
        self.photoChanged.emit(doc)
        job = Job(f"compare face {index + 1}", _compare_for_display, index, unmeasured, file=str(doc.path),
                  **self._restore_args(doc, {index: missing} if missing else {}, None))
        job.signals.finished.connect(lambda out, d=doc: self._restored(d, out))
        job.signals.failed.connect(lambda why, _tb, d=doc: self._failed(d, "Comparison failed", why))
        job.signals.cancelled.connect(lambda d=doc: self._cancelled(d))
        return self._start(job)

    def _restore_args(self, doc: PhotoDoc, wanted: dict[int, list[str]], compose: dict[int, str] | None,
                      force: bool = False) -> dict[str, Any]:
        """Keyword arguments of backend.run_restore for this photo (a snapshot: the job never sees later edits)."""
        return dict(pixels=doc.image.pixels, detections=[f.detection for f in doc.faces],
                    existing=[f.result for f in doc.faces], wanted=wanted, choices=dict(self.choices),
                    compose_models=compose, scale=self.settings.scale, alpha=doc.image.alpha, device=self.device(),
                    force=force, no_harm=self.settings.no_harm_check)

    def _run(self, doc: PhotoDoc, title: str, wanted: dict[int, list[str]], compose: dict[int, str] | None,
             force: bool = False) -> Job:
        for i in wanted:
            doc.faces[i].busy = True
        if compose is not None:
            doc.status = "restoring"
        self.photoChanged.emit(doc)
        job = Job(title, _restore_for_display, file=str(doc.path), **self._restore_args(doc, wanted, compose, force))
        job.signals.finished.connect(lambda out, d=doc: self._restored(d, out))
        job.signals.failed.connect(lambda why, _tb, d=doc: self._failed(d, "Restoration failed", why))
        job.signals.cancelled.connect(lambda d=doc: self._cancelled(d))
        return self._start(job)

    # ----- export ------------------------------------------------------------------------------------------------
    def export(self, doc: PhotoDoc, options: backend.ExportOptions) -> Job | None:
        """Write the restored photo / faces / priors; restores first when the composite is out of date."""
        if doc.image is None:
            self.errorRaised.emit("Export", str(doc.path), "the photo is not loaded")
            return None
        compose = {i: self.model_of(doc, i) for i, f in enumerate(doc.faces) if f.include}
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
        args = self._restore_args(doc, wanted, compose)
        provenance = backend.provenance_for(compose, self.choices, self.settings.scale, self.settings.detector,
                                            self.settings.no_harm_check)
        job = Job(f"export {doc.name}", _export_for_display, doc.path, doc.image, doc.restored, args, stale,
                  options, provenance, file=str(doc.path))
        job.signals.finished.connect(lambda r, d=doc: self._exported(d, r))
        job.signals.failed.connect(lambda why, _tb, d=doc: self._failed(d, "Export failed", why))
        job.signals.cancelled.connect(lambda d=doc: self._cancelled(d))
        return self._start(job)

    def _exported(self, doc: PhotoDoc, result: tuple[Any, list[Path]]) -> None:
        outcome, paths = result
        if outcome is not None:
            self._restored(doc, outcome)
        self.message.emit(f"{doc.name}: wrote {len(paths)} file(s) to {paths[0].parent if paths else '—'}")
        self.exported.emit(paths)

    def _restored(self, doc: PhotoDoc, out: backend.RestoreOutcome) -> None:
        for i, result in out.results.items():
            if i < len(doc.faces) and result is not None:
                doc.faces[i].result = result
                doc.faces[i].busy = False
        for i, per_model in out.metrics.items():
            if i < len(doc.faces):
                doc.faces[i].metrics.update(per_model)
        for f in doc.faces:
            f.busy = False
        if out.composite is not None:
            doc.restored, doc.restored_signature = out.composite, out.signature
            doc.restored_display = getattr(out, "display", None)
            doc.status = "restored"
        elif doc.status == "restoring":
            doc.status = "ready"
        doc.notes = out.notes
        for note in out.notes:
            self.message.emit(f"{doc.name}: {note}")
        self.photoChanged.emit(doc)
        self.facesUpdated.emit(doc)

    # ----- per-face decisions ------------------------------------------------------------------------------------
    def set_include(self, doc: PhotoDoc, index: int, on: bool) -> None:
        doc.faces[index].include = on
        self.photoChanged.emit(doc)
        if doc.restored is not None and self.settings.auto_restore:
            self.restore(doc, quiet=True)  # recomposes; runs the model only on a newly included face

    def set_face_model(self, doc: PhotoDoc, index: int, model: str | None) -> None:
        doc.faces[index].model = model or None
        self.photoChanged.emit(doc)

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
