"""The app's only door into the engine: thin calls to its public functions, run by the UI's background jobs.

Nothing here re-implements the pipeline; it resolves the user's choices (settings, per-face models, extra weight
files from fine-tuning or import) into the arguments of ``engine.io``, ``engine.faces.detect``, ``engine.restore`` and
``engine.zoo`` calls. No Qt, so it is also what the tests drive directly.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]
AUTO = "auto"  # engine.auto.AUTO: the model key that picks a variant per face (the app's default)


# ----- models ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelChoice:
    """A restore model the user can pick: a zoo variant, or extra weights (fine-tuned/imported) for one."""

    key: str  # shown in the UI and the engine's output label: the variant name, "variant:file-stem", or "auto"
    variant: str  # the zoo variant ("auto" for auto, whose variant is chosen per face: FaceResult.variant_of)
    weights: Path | None  # None: no weights anywhere (the UI says what to put where); None for auto
    source: str  # "user folder", "bundled", "fine-tuned", "imported", "missing", "per face" (auto)
    family: str = ""
    description: str = ""
    uses: tuple[str, ...] = ()  # auto: the candidate variants that have weights (engine.auto.candidates order)

    @property
    def is_auto(self) -> bool:
        return self.key == AUTO

    @property
    def available(self) -> bool:
        return bool(self.uses) if self.is_auto else self.weights is not None

    @property
    def is_extra(self) -> bool:
        return self.key != self.variant


def _source_of(path: Path | None) -> str:
    """Where a weight file came from, for the model list: bundled, fine-tuned, imported or user folder."""
    from engine import zoo

    if path is None:
        return "missing"
    try:
        path.resolve().relative_to(zoo.bundled_dir().resolve())
        return "bundled"
    except ValueError:
        pass
    try:
        card = zoo.read_card(path)
    except Exception:  # noqa: BLE001
        card = {}
    if card.get("training"):
        return "fine-tuned"
    if card.get("imported"):
        return "imported"
    return "user folder"


def auto_choice() -> ModelChoice:
    """`auto` (engine.restore.load_models(["auto"])): the candidates of engine.auto.AUTO_BANDS that have weights.

    It can run when at least one candidate has weights; faces whose size band has none keep their upscaled original
    (the engine notes it per face).
    """
    from engine import zoo
    from engine.auto import AUTO_BANDS, candidates

    found = tuple(n for n in candidates() if n in zoo.names() and zoo.find_weights(n) is not None)
    bands = "; ".join(f"{_band_range(b)}: {' / '.join(b.candidates)}" for b in AUTO_BANDS)
    uncovered = [_band_range(b) for b in AUTO_BANDS if not any(n in found for n in b.candidates)]
    description = f"a model per face, chosen by the face's size in the photo ({bands})"
    if found:
        description += f". Weights found for {', '.join(found)}"
    if uncovered:
        description += f". Faces of {', '.join(uncovered)} keep their upscaled original (no weights for that size)"
    return ModelChoice(AUTO, AUTO, None, "per face" if found else "missing", "auto", description, found)


def _band_range(band: Any) -> str:
    return f"{band.min_px:g}-{band.max_px:g} px" if band.max_px != float("inf") else f"{band.min_px:g} px and up"


def list_models() -> list[ModelChoice]:
    """`auto` first, every restore variant (with where its weights are), then extra weight files in the user models
    folder.

    An extra file is any weight file with a model card naming a restore variant whose stem is not that variant's own
    name: the trainer's fine-tuned exports and imported checkpoints kept under their own names.
    """
    from engine import zoo

    choices: list[ModelChoice] = [auto_choice()]
    restore = zoo.names(task="restore")
    for name in restore:
        v = zoo.variant(name)
        path = zoo.find_weights(name)
        choices.append(ModelChoice(name, name, path, _source_of(path), v.family, v.description))
    taken = {c.weights.resolve() for c in choices if c.weights is not None}
    folder = zoo.user_models_dir()
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix not in zoo.WEIGHT_SUFFIXES or path.resolve() in taken or path.stem in restore:
                continue
            try:
                card = zoo.read_card(path)
            except Exception:  # noqa: BLE001 - a broken card just hides that file from the list
                continue
            variant = card.get("variant") or card.get("model")
            if variant not in restore:
                continue
            v = zoo.variant(variant)
            source = _source_of(path)
            choices.append(ModelChoice(f"{variant}:{path.stem}", variant, path, source, v.family,
                                       f"{source} {variant} weights ({path.name})"))
    return choices


def choice_map() -> dict[str, ModelChoice]:
    return {c.key: c for c in list_models()}


def missing_message(choice: ModelChoice) -> str:
    from engine import zoo

    if choice.is_auto:
        from engine.auto import candidates

        names = candidates()
        return (f"auto has weights for none of the models it chooses from ({', '.join(names)}); "
                + zoo.missing_weights_message(names[0]))
    return zoo.missing_weights_message(choice.variant)


def crop_protocol(result: Any, label: str) -> str | None:
    """The crop protocol of the output `label` made for this face (auto: that of the variant it picked), or None
    when the face has no such output's variant (auto kept the original)."""
    from engine.restore import variant_for

    if result is None:
        return None
    try:
        return variant_for(result.variant_of(label)).crop
    except ValueError:
        return None


def ran(result: Any, model: str) -> bool:
    """Whether `model` was already run on this face: it has an output, or auto decided to keep the original (the
    engine's "auto: ..." note), so that asking again does not redo the same decision."""
    if result is None:
        return False
    if model in result.outputs:
        return True
    return model == AUTO and any(str(n).startswith(f"{AUTO}: face is") for n in result.notes)


def model_specs(keys: Sequence[str], choices: dict[str, ModelChoice], device: Any = None) -> list[Any]:
    """Engine model specs: zoo names as they are, extra weights as (key, loaded nn.Module)."""
    from engine import zoo

    specs: list[Any] = []
    for key in keys:
        c = choices[key]
        if not c.available:
            raise FileNotFoundError(missing_message(c))
        specs.append(key if not c.is_extra else (key, zoo.load(c.variant, weights=c.weights, device=device)))
    return specs


# ----- photos --------------------------------------------------------------------------------------------------------
def read_photo(path: Path) -> Any:
    """engine.io.read_image: upright pixels, alpha, metadata; ImageReadError names the file and the reason."""
    from engine import io

    return io.read_image(path)


def display_rgb8(pixels: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 for the screen (16-bit, grey and alpha photos included)."""
    from engine import io

    return io.to_rgb8(pixels)


def detect(image: np.ndarray, detector: str = "dlib", model_path: str = "") -> tuple[list[Any], str | None]:
    """engine.restore.detect_in_photo with the user's back end and model file: huge photos are searched on a
    downscaled copy, as on the command line. Returns (detections in photo pixels, a note for the user or None)."""
    from engine.restore import detect_in_photo

    faces, note = detect_in_photo(image, detector, model_path or None)
    return list(faces), note


def load_and_detect(path: Path, detector: str, model_path: str, *, progress: Progress | None = None,
                    cancel: Cancel | None = None) -> tuple[Any, list[Any], np.ndarray, str | None]:
    """Read a photo and find its faces; returns (LoadedImage, detections, display RGB8, detection note)."""
    if progress:
        progress(0, 2, f"reading {path.name}")
    loaded = read_photo(path)
    rgb = display_rgb8(loaded.pixels)
    if cancel and cancel():
        from engine.restore import Cancelled

        raise Cancelled()
    if progress:
        progress(1, 2, f"finding faces in {path.name}")
    detections, note = detect(rgb, detector, model_path)
    if progress:
        progress(2, 2, f"{len(detections)} faces in {path.name}")
    return loaded, detections, rgb, note


def restore(image: np.ndarray, detections: Sequence[Any], keys: Sequence[str], choices: dict[str, ModelChoice], *,
            device: Any = None, progress: Progress | None = None, cancel: Cancel | None = None) -> list[Any]:
    """engine.restore.restore_faces for the given faces and models (one FaceResult per detection)."""
    from engine.restore import restore_faces

    specs = model_specs(keys, choices, device=device)
    return restore_faces(image, list(detections), specs, device=device, progress=progress, cancel=cancel)


def compose(image: np.ndarray, faces: Sequence[Any], per_face_model: Sequence[str], scale: float, *,
            alpha: np.ndarray | None = None, no_harm: bool = True) -> np.ndarray:
    """engine.restore.compose_photo of the given faces, each with the model the user chose for it.

    All faces on one model (auto included: each face carries the variant it picked) is one compose_photo call. Mixed
    choices are still one call (so the background is upscaled once): each face is passed as a shallow copy carrying
    only its chosen output, that output's variant (``chosen``), crop and no-harm check, under the first model's
    label; compose_photo pastes each face with its own crop's matrix and size, so a 512 FFHQ-aligned face and a 128
    coarse crop land correctly side by side. no_harm: leave out outputs that failed the consistency check.
    """
    import copy

    from engine.restore import compose_photo, variant_for

    models = list(dict.fromkeys(per_face_model))
    if len(models) <= 1:
        return compose_photo(image, list(faces), models[0] if models else AUTO, scale, alpha=alpha,
                             no_harm=no_harm)
    label = models[0]
    proxies = []
    for face, model in zip(faces, per_face_model):
        if model not in face.outputs:
            continue
        variant = face.variant_of(model)
        protocol = variant_for(variant).crop
        proxy = copy.copy(face)
        proxy.outputs = {label: face.outputs[model]}
        proxy.crops = {protocol: face.crops[protocol]}
        proxy.chosen = {label: variant}
        proxy.checks = {label: face.checks[model]} if model in face.checks else {}
        proxies.append(proxy)
    return compose_photo(image, proxies, label, scale, alpha=alpha, no_harm=no_harm)


@dataclass
class RestoreOutcome:
    """What a restore job hands back to the UI thread: new FaceResults per face index and the composite."""

    results: dict[int, Any]  # face index -> FaceResult with every output so far merged in
    composite: np.ndarray | None
    signature: tuple
    notes: list[str]
    metrics: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)  # face -> model -> badges


def merged(old: Any, new: Any) -> Any:
    """A FaceResult holding old's outputs and new's (new wins); neither input is modified (they may be on screen)."""
    import copy

    if old is None:
        return new
    out = copy.copy(old)
    for attr in ("crops", "outputs", "maps", "seconds", "chosen", "checks"):
        setattr(out, attr, {**getattr(old, attr), **getattr(new, attr)})
    out.notes = list(dict.fromkeys([*old.notes, *new.notes]))
    out.skipped = old.skipped and new.skipped
    return out


def run_restore(pixels: np.ndarray, detections: Sequence[Any], existing: Sequence[Any], wanted: dict[int, list[str]],
                choices: dict[str, ModelChoice], *, compose_models: dict[int, str] | None = None, scale: float = 2.0,
                alpha: np.ndarray | None = None, device: Any = None, force: bool = False, no_harm: bool = True,
                progress: Progress | None = None, cancel: Cancel | None = None) -> RestoreOutcome:
    """Run every (face, model) pair in `wanted` that was not run yet (all of them with force), then compose.

    Faces are batched per model (one restore_faces call per model), which is how the engine batches too; "auto" is
    one model there (the engine groups its faces by the variant it picks). compose_models: face index -> model for
    the composite (None: no composite). no_harm: faces whose output failed the engine's consistency check keep
    their upscaled original.
    """
    by_model: dict[str, list[int]] = {}
    for i, models in wanted.items():
        for m in models:
            if force or not ran(existing[i], m):
                by_model.setdefault(m, []).append(i)
    total = sum(len(v) for v in by_model.values()) + (1 if compose_models else 0)
    done = 0
    # every face of the composite, not only those run now (re-running one face must not drop the others)
    results: dict[int, Any] = {i: existing[i] for i in sorted({*wanted, *(compose_models or {})})}
    notes: list[str] = []
    for model, idx in by_model.items():
        def sub(d: int, t: int, msg: str = "", _base: int = done) -> None:
            if progress:
                progress(_base + min(d, len(idx)), max(total, 1), msg or f"{model}: face {d} of {t}")

        faces = restore(pixels, [detections[i] for i in idx], [model], choices, device=device, progress=sub,
                        cancel=cancel)
        for i, fr in zip(idx, faces):
            fr.index = i  # the engine numbers the faces it was given; keep the photo's numbering
            results[i] = merged(results.get(i), fr)
        done += len(idx)
    composite = None
    signature: tuple = ()
    if compose_models is not None:
        if progress:
            progress(done, max(total, 1), "pasting the faces back")
        order = sorted(compose_models)
        usable = [i for i in order if results.get(i) is not None and compose_models[i] in results[i].outputs]
        kept = [i for i in order if i not in usable and compose_models[i] == AUTO and results.get(i) is not None]
        skipped = [i for i in order if i not in usable and i not in kept]
        rejected = [i for i in usable if not results[i].pasted(compose_models[i], no_harm)]
        if kept:
            notes.append("auto kept the upscaled original (no weights for the face's size): faces "
                         + ", ".join(str(i + 1) for i in kept))
        if skipped:
            notes.append("not pasted (no output): faces " + ", ".join(str(i + 1) for i in skipped))
        if rejected:
            notes.append("kept the original (the restoration contradicts the photo, no-harm check): faces "
                         + ", ".join(str(i + 1) for i in rejected))
        composite = compose(pixels, [results[i] for i in usable], [compose_models[i] for i in usable], scale,
                            alpha=alpha, no_harm=no_harm)
        signature = restore_signature(scale, compose_models, no_harm)
        done += 1
    if progress:
        progress(total, max(total, 1), "done")
    return RestoreOutcome(results, composite, signature, notes)


def restore_signature(scale: float, compose_models: dict[int, str], no_harm: bool = True) -> tuple:
    """What a composite reflects: (scale, ((face, model), ...), no-harm check on)."""
    return (float(scale), tuple((i, compose_models[i]) for i in sorted(compose_models)), bool(no_harm))


# ----- timing helper for the compare badges --------------------------------------------------------------------------
def now() -> float:
    return time.perf_counter()


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2)


# ----- model manager -------------------------------------------------------------------------------------------------
@dataclass
class ImportReport:
    """The outcome of importing a checkpoint: where it went, or why it does not fit (per variant tried)."""

    ok: bool
    source: Path
    variant: str | None = None
    target: Path | None = None
    key: str | None = None
    details: str = ""

    def text(self) -> str:
        if self.ok:
            return (f"{self.source.name} fits {self.variant}.\nSaved as {self.target}"
                    f"\nIt is listed as '{self.key}'.\n{self.details}").strip()
        return f"{self.source.name} could not be imported.\n\n{self.details}"


def guess_variants(path: Path, variant: str | None) -> list[str]:
    """Variants to try for a checkpoint: the one asked for; else those named in the file name (longest name first,
    so "sparnethd" beats "sparnet"), those whose official file it is, then every other restore variant (x8 before
    the large HD ones)."""
    from engine import zoo

    if variant:
        return [variant]
    restore = zoo.names(task="restore")
    stem = path.stem.lower()
    named = sorted((n for n in restore if n.replace("-", "") in stem.replace("-", "").replace("_", "")),
                   key=lambda n: -len(n))
    official = [n for n in restore if zoo.variant(n).official_file
                and Path(zoo.variant(n).official_file).stem.lower() == stem]
    rest = sorted(restore, key=lambda n: (zoo.variant(n).hr_size, n))
    return list(dict.fromkeys([*official, *named, *rest]))


def same_architecture(name: str) -> list[str]:
    """Other variants whose networks are identical (FSRNet and FSRGAN): a checkpoint cannot tell them apart."""
    from engine import zoo

    v = zoo.variant(name)
    return [n for n in zoo.names(task="restore") if n != name and zoo.variant(n).family == v.family
            and zoo.variant(n).config == v.config]


def import_checkpoint(path: str | Path, variant: str | None = None, *, progress: Progress | None = None,
                      cancel: Cancel | None = None) -> ImportReport:
    """Check a checkpoint against a variant (or find the variant it fits) and save it into the user models folder.

    Reading and checking are engine.zoo's (read_state_dict / check_state_dict: missing, unexpected and mis-shaped
    keys, non-finite values); the file is re-saved with engine.zoo.save_weights as full-precision safetensors with a
    card saying where it came from. Existing weights are never replaced: a second import gets its own name.
    """
    from engine import zoo

    path = Path(path)
    try:
        state = zoo.read_state_dict(path)
    except zoo.CheckpointError as exc:
        return ImportReport(False, path, details=str(exc))
    candidates = guess_variants(path, variant)
    problems: list[str] = []
    for n, name in enumerate(candidates):
        if cancel and cancel():
            from engine.restore import Cancelled

            raise Cancelled()
        if progress:
            progress(n, len(candidates), f"checking {path.name} against {name}")
        model = zoo.build(name)
        try:
            zoo.check_state_dict(model, state, path)
        except zoo.CheckpointError as exc:
            problems.append(f"— {name}: " + str(exc).split("\n", 1)[-1].strip())
            continue
        expected = model.state_dict()
        model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
        folder = zoo.user_models_dir()
        target = folder / f"{name}.safetensors"
        if zoo.find_weights(name) is not None and zoo.find_weights(name).parent.resolve() == folder.resolve():
            stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in path.stem)
            target = folder / f"{name}-{stem}.safetensors"
            i = 2
            while target.exists():
                target = folder / f"{name}-{stem}-{i}.safetensors"
                i += 1
        card = {"imported_from": str(path), "imported": True, "licence": zoo.variant(name).licence,
                "source_sha256": zoo.sha256_of(path)}
        zoo.save_weights(model, target, name, card=card, half=False)
        key = name if target.stem == name else f"{name}:{target.stem}"
        note = "" if target.stem == name else (f"{name} already had weights in the models folder, so this file was "
                                               f"kept beside them under its own name.")
        twins = same_architecture(name) if variant is None else []
        if twins:
            note += (f"\n{', '.join(twins)} has the same architecture: if these are {twins[0]} weights, import the "
                     f"file again choosing {twins[0]}.")
        if progress:
            progress(len(candidates), len(candidates), f"imported {path.name} as {key}")
        return ImportReport(True, path, name, target, key, note)
    tried = ", ".join(candidates)
    return ImportReport(False, path, details=f"It does not fit any of: {tried}.\n\n" + "\n".join(problems))


def describe_models(*, progress: Progress | None = None, cancel: Cancel | None = None) -> dict[str, int]:
    """Parameter count per variant (builds each network once, so it runs as a background job)."""
    from engine import zoo

    names = zoo.names(task="restore")
    out = {}
    for i, name in enumerate(names):
        if cancel and cancel():
            break
        out[name] = zoo.parameter_count(zoo.build(name))
        if progress:
            progress(i + 1, len(names), name)
    return out


# ----- export ---------------------------------------------------------------------------------------------------------
@dataclass
class ExportOptions:
    folder: Path
    photo: bool = True
    format: str = "auto"  # auto: the input's format
    quality: int = 95
    suffix: str = "_restored"
    faces: bool = False
    priors: bool = False  # per-channel PNGs, composite, NPZ and landmarks JSON (engine.export.save_priors)


def output_suffix(source: Path, fmt: str, metadata: Any = None) -> str:
    """File suffix for the restored photo: the chosen format, or the input's own ("auto")."""
    from engine import io

    if fmt != "auto":
        return "." + fmt.lower().lstrip(".")
    if metadata is not None and getattr(metadata, "format", None) in io.FORMAT_EXT:
        return io.FORMAT_EXT[metadata.format]
    return source.suffix.lower() if source.suffix.lower() in io.EXT_FORMATS else ".png"


def default_output_dir(source: Path, setting: str = "") -> Path:
    return Path(setting).expanduser() if setting else source.parent / "restored"


def export_outputs(source: Path, loaded: Any, restored: np.ndarray | None, faces: Sequence[tuple[int, Any, str]],
                   options: ExportOptions, provenance: dict[str, Any], *, progress: Progress | None = None,
                   cancel: Cancel | None = None) -> list[Path]:
    """Write what the user asked for through engine.io.write_image (atomic, metadata kept, never over the input).

    faces: (face index, FaceResult, chosen model) for the included faces. Faces and priors are written by
    engine.export (the same layout as ``fsr-studio enhance --save-faces --save-priors``). Returns the written paths.
    """
    from engine import io
    from engine.restore import Cancelled

    folder = Path(options.folder)
    stem = source.stem
    written: list[Path] = []
    steps = (1 if options.photo else 0) + (1 if options.faces else 0) + (1 if options.priors else 0)
    done = 0

    def tick(msg: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, max(steps, 1), msg)
        if cancel and cancel():
            raise Cancelled()

    if options.photo:
        if restored is None:
            raise ValueError(f"{source.name}: nothing restored yet; restore the photo before exporting it")
        target = folder / f"{stem}{options.suffix}{output_suffix(source, options.format, loaded.metadata)}"
        pixels, alpha = io.split_alpha(restored) if restored.ndim == 3 and restored.shape[2] in (2, 4) else \
            (restored, None)
        io.write_image(target, pixels, alpha=alpha, metadata=loaded.metadata, provenance=provenance,
                       inputs=[source], quality=options.quality)
        written.append(target)
        tick(f"wrote {target.name}")
    included = [(i, r, m) for i, r, m in faces if r is not None]
    if options.faces:
        from engine.export import save_faces

        by_model: dict[str, list[Any]] = {}
        for _i, result, model in included:
            by_model.setdefault(model, []).append(result)
        for model, results in by_model.items():
            written.extend(save_faces(folder, stem, results, [model], inputs=[source]))
        tick("wrote the faces")
    if options.priors:
        written.extend(export_priors(source, [r for _i, r, _m in included], folder))
        tick("wrote the prior maps")
    return written


def export_priors(source: Path, results: Sequence[Any], folder: Path) -> list[Path]:
    """engine.export.save_priors for every model whose maps the faces carry (FSRNet priors, SPARNet attention):
    per-channel PNGs, a composite, an NPZ stack and landmarks JSON in photo coordinates, per face and model.
    auto's faces come from several variants: each group is saved with its own variant (as the command line does)."""
    from engine.export import save_priors
    from engine.restore import variant_for

    labels = list(dict.fromkeys(label for r in results for label, maps in r.maps.items() if maps))
    if not labels:
        raise ValueError(f"{source.name}: no prior maps yet; restore the faces with FSRNet/FSRGAN (landmarks and "
                         f"parsing) or SPARNet (attention) first")
    written: list[Path] = []
    for label in labels:
        groups: dict[str, list[Any]] = {}
        for r in results:
            if r.maps.get(label) and label in r.outputs:
                groups.setdefault(r.variant_of(label), []).append(r)
        for variant, group in groups.items():
            written.extend(save_priors(folder, source.stem, group, label, variant_for(variant), source.name,
                                       inputs=[source]))
    return written


def provenance_for(doc_models: dict[int, str], choices: dict[str, ModelChoice], scale: float,
                   detector: str, no_harm: bool = True) -> dict[str, Any]:
    """The provenance note written into exported files: which model (and weight file) restored which face.

    auto's weights depend on the faces: :func:`provenance_with_faces` completes the note once they are restored."""
    from engine.restore import weights_sha256

    models = {}
    for key in sorted(set(doc_models.values())):
        c = choices.get(key)
        if c is not None and c.is_auto:
            models[key] = {"variant": "auto (a variant per face, by its size)", "candidates": list(c.uses)}
            continue
        models[key] = {"variant": c.variant if c else key,
                       "weights": c.weights.name if c and c.weights else None,
                       "weights_sha256": weights_sha256(str(c.weights)) if c and c.weights else None}
    return {"software": "FSR Studio", "scale": float(scale), "detector": detector, "no_harm_check": bool(no_harm),
            "faces": {str(i + 1): m for i, m in sorted(doc_models.items())}, "models": models}


def provenance_with_faces(provenance: dict[str, Any], faces: Sequence[tuple[int, Any, str]],
                          no_harm: bool = True) -> dict[str, Any]:
    """The provenance note plus what each face really got: auto's pick per face and the weights of the variants it
    used (file and sha256), and the faces left as they were (no output, or the no-harm check)."""
    from engine import zoo
    from engine.restore import weights_sha256

    out = {**provenance, "models": {k: dict(v) for k, v in provenance.get("models", {}).items()}}
    kept: list[str] = []
    picks: dict[str, str] = {}
    for i, result, model in faces:
        if result is None or not result.pasted(model, no_harm):
            kept.append(str(i + 1))
        if model == AUTO and result is not None:
            picks[str(i + 1)] = result.chosen.get(AUTO, "original (upscaled)")
    if picks:
        used = sorted({v for v in picks.values() if v in zoo.names()})
        files = {v: zoo.find_weights(v) for v in used}
        out["models"][AUTO] = {**out["models"].get(AUTO, {}),
                               "weights": {v: p.name for v, p in files.items() if p is not None},
                               "weights_sha256": {v: weights_sha256(str(p)) for v, p in files.items()
                                                  if p is not None}}
        out["auto_face_models"] = picks
    out["faces_kept_original"] = kept
    return out


def restore_and_export(source: Path, loaded: Any, restored: np.ndarray | None, restore_args: dict[str, Any],
                       needs_restore: bool, options: ExportOptions, provenance: dict[str, Any], *,
                       progress: Progress | None = None, cancel: Cancel | None = None
                       ) -> tuple[RestoreOutcome | None, list[Path]]:
    """Bring the composite up to date with the face choices if needed (run_restore), then export_outputs.

    restore_args: the keyword arguments of run_restore for this photo (its compose_models say which faces are
    included and with which model).
    """
    outcome = None
    results = list(restore_args["existing"])
    if needs_restore:
        outcome = run_restore(progress=progress, cancel=cancel, **restore_args)
        restored = outcome.composite
        results = [outcome.results.get(i, r) for i, r in enumerate(results)]
    faces = [(i, results[i], m) for i, m in sorted((restore_args.get("compose_models") or {}).items())]
    provenance = provenance_with_faces(provenance, faces, restore_args.get("no_harm", True))
    paths = export_outputs(source, loaded, restored, faces, options, provenance, progress=progress, cancel=cancel)
    return outcome, paths


# ----- fidelity evidence for the Compare badges ----------------------------------------------------------------------
_JUDGE: Any = None


def inference_summary() -> tuple[str, list[str]]:
    """What precision "auto" runs here, for the settings dialog: the CPU with the flags that matter, and one line
    per model and batch size measured so far (path and why)."""
    from engine import runtime_choice

    lines = [f"{v.key.get('variant')} (batch {v.key.get('batch')}, {v.key.get('device')}): {v.reason}"
             for v in runtime_choice.current_verdicts()]
    return runtime_choice.cpu_info().describe(), lines


def judge() -> Any:
    """engine.evaluate.FaceJudge (dlib's 68-point predictor and face embedding), loaded once, off the UI thread."""
    global _JUDGE
    if _JUDGE is None:
        from engine.evaluate import FaceJudge

        _JUDGE = FaceJudge()
    return _JUDGE


def face_metrics(result: Any, detection: Any, models: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per model: identity (distance between the dlib face embeddings of the input crop and the output; dlib calls
    two faces the same person below 0.6) and landmarks (NRMSE of dlib's 68 points found on the output against the
    detector's points in the same crop).

    Only for outputs in the coarse 128 crop, whose layout the judge assumes (the face box is the crop's central 80 %);
    FFHQ-aligned SPARNetHD outputs get no numbers rather than wrong ones.
    """
    from engine import metrics as m
    from engine.faces.align import transform_points

    out: dict[str, dict[str, float]] = {model: {} for model in models}  # an empty row: tried, nothing computable
    crop = result.crops.get("coarse128") if result is not None else None
    if crop is None:
        return out
    j = judge()
    reference = None
    target = None
    if getattr(detection, "landmarks68", None) is not None:
        target = transform_points(crop.matrix, np.asarray(detection.landmarks68, np.float64))
    for model in models:
        face = result.outputs.get(model)
        if face is None or crop_protocol(result, model) != "coarse128":
            continue
        face = face if face.shape[0] == crop.size else _resize(face, crop.size)
        row: dict[str, float] = {}
        try:
            if reference is None:
                reference = j.embedding(crop.image)
            # dlib's embedding is built for Euclidean distance (same person below 0.6); cosine barely moves
            row["identity"] = float(np.linalg.norm(np.asarray(j.embedding(face)) - np.asarray(reference)))
            if target is not None:
                row["landmarks"] = m.landmark_nrmse(j.landmarks(face), target)
        except Exception:  # noqa: BLE001 - a face dlib cannot read gets no badge, not an error
            pass
        out[model] = row
    return out


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    from engine.models.registry import pil_resize

    return pil_resize(image, size)


def compare_face(index: int, metric_models: Sequence[str], *, progress: Progress | None = None,
                 cancel: Cancel | None = None, **restore_args: Any) -> RestoreOutcome:
    """run_restore for the Compare tab's face, then the fidelity metrics of each pane's output."""
    outcome = run_restore(progress=progress, cancel=cancel, **restore_args)
    result = outcome.results.get(index, restore_args["existing"][index])
    if progress:
        progress(0, 1, "measuring identity and landmarks")
    outcome.metrics = {index: face_metrics(result, restore_args["detections"][index], metric_models)}
    return outcome
