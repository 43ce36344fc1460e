"""Restoring a photo's faces and composing it, the way the review workflow needs: per face, per model, only what
has not run yet, each face pasted with the model chosen for it.

Every option travels as one engine.settings.RestoreSettings (built by the UI from the user's settings); what one run
works on (the pixels, the faces, their results so far, which models to run and to paste) is a RestoreRequest.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .common import AUTO, Cancel, Progress
from .models import ModelChoice, model_specs

if TYPE_CHECKING:
    from engine.settings import RestoreSettings


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


@dataclass(frozen=True)
class RestoreRequest:
    """What one restore job works on: a snapshot of one photo taken on the UI thread, so that later edits in the
    window never reach a running job. Not settings: those are the RestoreSettings passed beside it."""

    pixels: np.ndarray  # the photo as loaded (engine.io.LoadedImage.pixels)
    detections: Sequence[Any]  # every face of the photo, in its numbering
    existing: Sequence[Any]  # per face: its FaceResult so far (every output merged in), or None
    wanted: Mapping[int, Sequence[str]]  # face index -> models to run (those already run are skipped unless force)
    choices: Mapping[str, ModelChoice]  # the model list the keys refer to
    compose_models: Mapping[int, str] | None = None  # face index -> model pasted into the composite; None: none
    alpha: np.ndarray | None = None
    force: bool = False  # run the wanted models again even where they ran


@dataclass
class RestoreOutcome:
    """What a restore job hands back to the UI thread: new FaceResults per face index and the composite."""

    results: dict[int, Any]  # face index -> FaceResult with every output so far merged in
    composite: np.ndarray | None
    signature: tuple
    notes: list[str]
    metrics: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)  # face -> model -> badges


def restore(image: np.ndarray, detections: Sequence[Any], keys: Sequence[str], choices: Mapping[str, ModelChoice],
            settings: RestoreSettings, *, progress: Progress | None = None,
            cancel: Cancel | None = None, photo_faces: int | None = None) -> list[Any]:
    """engine.restore.restore_faces for the given faces and models (one FaceResult per detection); photo_faces: the
    photo's face count when these are some of them (auto's portrait rule)."""
    from engine.restore import restore_faces

    specs = model_specs(keys, dict(choices), device=settings.device)
    return restore_faces(image, list(detections), specs, settings, progress=progress, cancel=cancel,
                         photo_faces=photo_faces)


def compose(image: np.ndarray, faces: Sequence[Any], per_face_model: Sequence[str], scale: float | None = None, *,
            alpha: np.ndarray | None = None, no_harm: bool | None = None,
            settings: RestoreSettings | None = None) -> np.ndarray:
    """engine.restore.compose_photo of the given faces, each with the model the user chose for it.

    settings: the RestoreSettings to paste with (scale, blend, colour match, mask, no-harm check); `scale` and
    `no_harm`, when given, change it for this call (no_harm: leave out outputs that failed the consistency check).
    All faces on one model (auto included: each face carries the variant it picked) is one compose_photo call. Mixed
    choices are still one call (so the background is upscaled once): each face is passed as a shallow copy carrying
    only its chosen output, that output's variant (``chosen``), crop and no-harm check, under the first model's
    label; compose_photo pastes each face with its own crop's matrix and size, so a 512 FFHQ-aligned face and a 128
    coarse crop land correctly side by side.
    """
    import copy

    from engine.restore import compose_photo, variant_for
    from engine.settings import RestoreSettings

    s = RestoreSettings.of(settings, scale=scale, no_harm=no_harm)
    paste = dict(blend=s.blend, alpha=alpha, color_match=s.color_match, mask=s.mask, no_harm=s.no_harm)
    models = list(dict.fromkeys(per_face_model))
    if len(models) <= 1:
        return compose_photo(image, list(faces), models[0] if models else AUTO, s.scale, **paste)
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
        proxy.blends = {label: face.blends[model]} if model in face.blends else {}
        proxies.append(proxy)
    return compose_photo(image, proxies, label, s.scale, **paste)


def merged(old: Any, new: Any) -> Any:
    """A FaceResult holding old's outputs and new's (new wins); neither input is modified (they may be on screen)."""
    import copy

    if old is None:
        return new
    out = copy.copy(old)
    for attr in ("crops", "outputs", "maps", "seconds", "chosen", "checks", "blends"):
        setattr(out, attr, {**getattr(old, attr), **getattr(new, attr)})
    out.notes = list(dict.fromkeys([*old.notes, *new.notes]))
    out.skipped = old.skipped and new.skipped
    return out


def run_restore(request: RestoreRequest, settings: RestoreSettings, *, progress: Progress | None = None,
                cancel: Cancel | None = None) -> RestoreOutcome:
    """Run every (face, model) pair the request wants that was not run yet (all of them with force), then compose.

    Faces are batched per model (one restore_faces call per model), which is how the engine batches too; "auto" is
    one model there (the engine groups its faces by the variant it picks). The composite (when the request has
    compose_models) is pasted with the settings; with the no-harm check on, faces whose output failed the engine's
    consistency check keep their upscaled original.
    """
    existing, compose_models = request.existing, request.compose_models
    by_model: dict[str, list[int]] = {}
    for i, models in request.wanted.items():
        for m in models:
            if request.force or not ran(existing[i], m):
                by_model.setdefault(m, []).append(i)
    total = sum(len(v) for v in by_model.values()) + (1 if compose_models else 0)
    done = 0
    # every face of the composite, not only those run now (re-running one face must not drop the others)
    results: dict[int, Any] = {i: existing[i] for i in sorted({*request.wanted, *(compose_models or {})})}
    notes: list[str] = []
    for model, idx in by_model.items():
        def sub(d: int, t: int, msg: str = "", _base: int = done) -> None:
            if progress:
                progress(_base + min(d, len(idx)), max(total, 1), msg or f"{model}: face {d} of {t}")

        faces = restore(request.pixels, [request.detections[i] for i in idx], [model], request.choices, settings,
                        progress=sub, cancel=cancel, photo_faces=len(request.detections))
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
        rejected = [i for i in usable if not results[i].pasted(compose_models[i], settings.no_harm)]
        if kept:
            notes.append("auto kept the upscaled original (no weights for the face's size): faces "
                         + ", ".join(str(i + 1) for i in kept))
        if skipped:
            notes.append("not pasted (no output): faces " + ", ".join(str(i + 1) for i in skipped))
        if rejected:
            notes.append("kept the original (the restoration contradicts the photo, no-harm check): faces "
                         + ", ".join(str(i + 1) for i in rejected))
        composite = compose(request.pixels, [results[i] for i in usable], [compose_models[i] for i in usable],
                            alpha=request.alpha, settings=settings)
        signature = restore_signature(settings.scale, compose_models, settings.no_harm)
        done += 1
    if progress:
        progress(total, max(total, 1), "done")
    return RestoreOutcome(results, composite, signature, notes)


def restore_signature(scale: float, compose_models: Mapping[int, str], no_harm: bool = True) -> tuple:
    """What a composite reflects: (scale, ((face, model), ...), no-harm check on)."""
    return (float(scale), tuple((i, compose_models[i]) for i in sorted(compose_models)), bool(no_harm))
