"""Exporting: the restored photo, the restored faces and the prior maps, written through engine.io and engine.export
(atomic, metadata kept, never over an input), each with a provenance note saying which model restored which face."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .common import AUTO, Cancel, Progress
from .models import ModelChoice
from .restoring import RestoreOutcome, RestoreRequest, run_restore

if TYPE_CHECKING:
    from engine.settings import RestoreSettings


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


def provenance_for(doc_models: dict[int, str], choices: dict[str, ModelChoice], settings: RestoreSettings
                   ) -> dict[str, Any]:
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
    return {"software": "FSR Studio", "scale": float(settings.scale), "detector": settings.detector,
            "no_harm_check": bool(settings.no_harm),
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
    variants: set[str] = set()  # auto's picks and the partners they were blended with
    for i, result, model in faces:
        if result is None or not result.pasted(model, no_harm):
            kept.append(str(i + 1))
        if model == AUTO and result is not None:
            picks[str(i + 1)] = result.made_by(AUTO) if AUTO in result.chosen else "original (upscaled)"
            variants.update(result.variants_used(AUTO))
    if picks:
        used = sorted(v for v in variants if v in zoo.names())
        files = {v: zoo.find_weights(v) for v in used}
        out["models"][AUTO] = {**out["models"].get(AUTO, {}),
                               "weights": {v: p.name for v, p in files.items() if p is not None},
                               "weights_sha256": {v: weights_sha256(str(p)) for v, p in files.items()
                                                  if p is not None}}
        out["auto_face_models"] = picks
    out["faces_kept_original"] = kept
    return out

def restore_and_export(source: Path, loaded: Any, restored: np.ndarray | None, request: RestoreRequest,
                       settings: RestoreSettings, needs_restore: bool, options: ExportOptions,
                       provenance: dict[str, Any], *, progress: Progress | None = None, cancel: Cancel | None = None
                       ) -> tuple[RestoreOutcome | None, list[Path]]:
    """Bring the composite up to date with the face choices if needed (run_restore), then export_outputs.

    request: this photo's restore request (its compose_models say which faces are included and with which model).
    """
    outcome = None
    results = list(request.existing)
    if needs_restore:
        outcome = run_restore(request, settings, progress=progress, cancel=cancel)
        restored = outcome.composite
        results = [outcome.results.get(i, r) for i, r in enumerate(results)]
    faces = [(i, results[i], m) for i, m in sorted((request.compose_models or {}).items())]
    provenance = provenance_with_faces(provenance, faces, settings.no_harm)
    paths = export_outputs(source, loaded, restored, faces, options, provenance, progress=progress, cancel=cancel)
    return outcome, paths
