"""The one-call API: restore every face of a photo with one or several models and paste them back.

    result = engine.restore_photo("solvay.jpg", models=["fsrnet", "fsrgan"], scale=2)
    result.image          # restored photo of models[0] (numpy, same channels and dtype class as the input)
    result.faces[0].maps  # FSRNet priors, landmarks, SPARNet attention, ...

The building blocks are public too, so a GUI can detect first and restore only the faces the user picked:
``engine.faces.detect.detect_faces`` -> :func:`restore_faces` -> :func:`compose_photo`.
Arrays are RGB (not OpenCV's BGR), HxW (grey), HxWx3 or HxWx4 (alpha), uint8 or uint16.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .faces.align import AlignedFace
from .faces.detect import Detection
from .settings import SCALE_RANGE, RestoreSettings, check_scale  # noqa: F401 - SCALE_RANGE re-exported

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]
# Larger photos are searched for faces on a downscaled copy: dlib's HOG pyramid of a 100 MP photo takes 1.2 GB and
# ~30 s here, and faces in photos that large are large (still >= 130 px after the downscale to find them).
DETECT_MAX_PIXELS = 36_000_000


class Cancelled(RuntimeError):
    """Raised when the ``cancel()`` callback returned True; nothing partial is returned."""


@dataclass
class FaceResult:
    """Everything known about one face: where it is, its crops, each model's output and by-products."""

    index: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in input-photo pixels
    score: float
    landmarks5: np.ndarray  # 5 x 2, input-photo pixels
    landmarks68: np.ndarray | None  # 68 x 2 or None
    crops: dict[str, AlignedFace] = field(default_factory=dict)  # crop protocol -> aligned crop
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # model name -> restored face, uint8 RGB
    maps: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # model -> {"priors", "landmarks", ...}
    seconds: dict[str, float] = field(default_factory=dict)  # model -> seconds spent on this face
    notes: list[str] = field(default_factory=list)  # too small/large, skipped, fallbacks, ...
    skipped: bool = False  # True when no model output was pasted for this face
    chosen: dict[str, str] = field(default_factory=dict)  # label -> variant that made the output ("auto" picks)
    checks: dict[str, Any] = field(default_factory=dict)  # label -> engine.consistency.Consistency (no-harm check)
    blends: dict[str, Any] = field(default_factory=dict)  # label -> the engine.auto.Blend its output was made with

    @property
    def size_px(self) -> float:
        """The face's size in the photo: the side of its coarse crop in photo pixels (any crop as a fallback)."""
        crop = self.crops.get("coarse128") or next(iter(self.crops.values()), None)
        return float(crop.source_px) if crop is not None else float(self.box[2] - self.box[0])

    def variant_of(self, label: str) -> str:
        """The variant behind `label`'s output for this face (auto chooses per face)."""
        return self.chosen.get(label) or variant_for(label).name

    def forget(self, label: str) -> None:
        """Drop everything `label` produced for this face (auto's pick is out of date once its rule changes)."""
        for store in (self.outputs, self.maps, self.seconds, self.chosen, self.checks, self.blends):
            store.pop(label, None)
        self.notes = [n for n in self.notes if not n.startswith(f"{label}:")]

    def made_by(self, label: str) -> str:
        """Which weights made `label`'s output, in words: a variant, or a blend ("a x0.6 + b x0.3")."""
        blend = self.blends.get(label)
        return blend.describe(self.variant_of(label)) if blend is not None else self.variant_of(label)

    def variants_used(self, label: str) -> tuple[str, ...]:
        """The variants whose weights made `label`'s output: its pick and, for a blend, the partner."""
        if label not in self.chosen and label not in self.outputs:
            return ()
        blend = self.blends.get(label)
        return (self.variant_of(label),) + ((blend.partner,) if blend is not None and blend.partner else ())

    def pasted(self, label: str, no_harm: bool = True) -> bool:
        """Whether `label`'s output goes into the photo: it exists and, with the no-harm check on, passed it."""
        check = self.checks.get(label)
        return label in self.outputs and not (no_harm and check is not None and not check.passed)


@dataclass
class PhotoResult:
    """A restored photo: the composite per model, every face, timings and the metadata to write back."""

    image: np.ndarray  # restored photo of models[0]
    images: dict[str, np.ndarray]  # model name -> restored photo
    faces: list[FaceResult]
    timings: dict[str, float]
    source: str | None
    metadata: Any  # engine.io.ImageMetadata
    scale: float = 2.0
    models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)  # model, weights sha256, settings


@dataclass
class LoadedModel:
    """A network ready to run: the label its results are stored under, its variant, and where its weights came from.

    Pass these to :func:`restore_photo` to load weights once for a whole folder of photos.
    """

    label: str
    variant: Any  # engine.models.registry.Variant
    module: Any  # nn.Module (or an ONNX runtime wrapper from engine.zoo)
    weights: str | None = None
    sha256: str | None = None

    @property
    def protocol(self) -> str:
        return self.variant.crop

    @property
    def protocols(self) -> list[str]:
        return [self.variant.crop]

    @property
    def natives(self) -> dict[str, Any]:
        """Protocol -> the variant that restores large faces at their own resolution (Variant.native_max)."""
        return {self.variant.crop: self.variant} if self.variant.native_max else {}


class LazyModels(Mapping[str, LoadedModel]):
    """Variant name -> LoadedModel, loaded on first use: auto knows every candidate with weights, but a photo whose
    faces all fall in one size band should pay for loading one network, not seven."""

    def __init__(self, loaders: Mapping[str, Callable[[], LoadedModel]]):
        self._loaders = dict(loaders)
        self._loaded: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> LoadedModel:
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = self._loaders[name]()
            return self._loaded[name]

    def __contains__(self, name: object) -> bool:  # without loading (Mapping's default would load)
        return name in self._loaders

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)

    @property
    def loaded(self) -> list[str]:
        """The names loaded so far."""
        return list(self._loaded)


@dataclass
class AutoModel:
    """`auto`: per face, the candidate whose size band fits the face (engine.auto); outputs are stored as "auto"."""

    label: str
    candidates: Mapping[str, LoadedModel]  # variant name -> network (only those with weights; LazyModels loads late)

    @property
    def protocols(self) -> list[str]:
        from . import zoo

        return sorted({"coarse128", *(zoo.variant(name).crop for name in self.candidates)})

    @property
    def natives(self) -> dict[str, Any]:
        from . import zoo

        variants = [zoo.variant(name) for name in self.candidates]
        return {v.crop: v for v in variants if v.native_max}

    def choose(self, face: "FaceResult", portrait: bool = False) -> tuple[LoadedModel | None, Any, str]:
        """(network or None to keep the original, its engine.auto.Blend or None, reason) for one face."""
        from .auto import blend_for, choose

        def available(name: str) -> bool:
            return name in self.candidates

        name, reason = choose(face.size_px, available, portrait=portrait)
        if not name:
            return None, None, reason
        return self.candidates[name], blend_for(face.size_px, name, available), reason


def variant_for(label: str, module: Any = None) -> Any:
    """The registered variant behind a label: its name, or "name:anything" (e.g. "fsrnet:my-finetune")."""
    from . import zoo

    known = zoo.names()
    for candidate in (label, label.split(":", 1)[0], getattr(module, "variant_name", None)):
        if candidate and candidate in known:
            return zoo.variant(candidate)
    raise ValueError(f"{label!r} is not a model variant; name it after one of {', '.join(zoo.names('restore'))} "
                     f"(for your own weights use e.g. 'fsrnet:my-finetune')")


def weights_sha256(path: str | None) -> str | None:
    """SHA256 of a weight file (zoo.sha256_cached: a folder of photos hashes it once)."""
    from . import zoo

    return zoo.sha256_cached(path) if path else None


def resolve_name(name: str, notes: list[str] | None = None) -> str:
    """A family name (fsrnet, sparnet, sparnethd, selfsr, ...) -> the best variant with weights; notes say which."""
    from . import zoo
    from .auto import resolve_family

    if ":" in name:  # "fsrnet:my-finetune" names a weight file, not a family
        return name
    resolved, note = resolve_family(name, lambda n: n in zoo.names() and zoo.find_weights(n) is not None)
    if note and notes is not None:
        notes.append(note)
    return resolved


def load_auto(device: Any = None) -> AutoModel:
    """The auto model: every candidate of engine.auto.AUTO_BANDS that has weights, each loaded once, when a face
    first needs it."""
    from . import zoo
    from .auto import AUTO, candidates

    def loader(name: str) -> Callable[[], LoadedModel]:
        def load() -> LoadedModel:
            module = zoo.load(name, device=device)
            path = getattr(module, "weights_path", None)
            return LoadedModel(name, zoo.variant(name), module, path, weights_sha256(path))
        return load

    found = [name for name in candidates() if zoo.find_weights(name) is not None]
    return AutoModel(AUTO, LazyModels({name: loader(name) for name in found}))


def load_models(models: Sequence[Any], device: Any = None, weights: str | Path | None = None,
                notes: list[str] | None = None) -> list[Any]:
    """Names -> networks from the zoo (WeightsNotFound says where to put missing files); (label, module) kept as is.

    "auto" gives an :class:`AutoModel`; a family name without weights of its own resolves to the best member with
    weights (engine.auto.FAMILY_PREFERENCE), noted in `notes`. `weights` is an explicit weight file, allowed only
    with a single model.
    """
    from . import zoo
    from .auto import AUTO

    single = isinstance(models, (str, LoadedModel, AutoModel)) or (isinstance(models, tuple) and len(models) == 2
                                                         and isinstance(models[0], str)
                                                         and not isinstance(models[1], str))
    specs = [models] if single else list(models)
    if not specs:
        raise ValueError("no model given")
    if weights is not None and len(specs) != 1:
        raise ValueError("an explicit weight file applies to a single model; got several")
    loaded: list[LoadedModel] = []
    for spec in specs:
        if isinstance(spec, (LoadedModel, AutoModel)):
            item = spec
        elif isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
            label, module = spec
            path = getattr(module, "weights_path", None)
            item = LoadedModel(label, variant_for(label, module), module, path, weights_sha256(path))
        elif isinstance(spec, str) and spec == AUTO and weights is None:
            item = load_auto(device)
        elif isinstance(spec, str):
            if weights is None:
                spec = resolve_name(spec, notes)
            v = variant_for(spec)
            if v.task != "restore":
                raise ValueError(f"{spec!r} is a {v.task} network, not a face restoration model")
            module = zoo.load(v.name, weights=weights, device=device)
            path = getattr(module, "weights_path", None)
            item = LoadedModel(spec, v, module, path, weights_sha256(path))
        else:
            raise TypeError(f"a model is a name or a (name, module) pair, got {type(spec).__name__}")
        if any(m.label == item.label for m in loaded):
            raise ValueError(f"model {item.label!r} given twice")
        loaded.append(item)
    return loaded


class _Steps:
    """progress(done, total, message) and cancel() plumbing shared by the public functions."""

    def __init__(self, total: int, progress: Progress | None, cancel: Cancel | None):
        self.total, self.done, self.progress, self.cancel = max(1, total), 0, progress, cancel

    def check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled("cancelled")

    def advance(self, n: int, message: str) -> None:
        self.done = min(self.total, self.done + n)
        if self.progress is not None:
            self.progress(self.done, self.total, message)
        self.check()


def _minimum_face_px(lr_size: int) -> float:
    """Below this crop side a face carries too little to restore: half the x8 models' 16 px, 1/16 of 512."""
    return lr_size / 2 if lr_size <= 64 else lr_size / 16


def size_note(source_px: float, lr_size: int, label: str) -> tuple[bool, str | None]:
    """(usable, note) for a face whose crop covers `source_px` photo pixels and a model taking `lr_size` inputs."""
    n = int(round(source_px))
    if source_px < _minimum_face_px(lr_size):
        return False, (f"{label}: face is {n} px, below the {int(_minimum_face_px(lr_size))} px minimum for a "
                       f"{lr_size} px model input: not restored")
    if source_px > 2 * lr_size:
        return True, (f"{label}: face is {n} px, model input is {lr_size} px: detail above {lr_size} px is "
                      f"discarded")
    if lr_size > 64 and source_px < lr_size / 2:
        return True, (f"{label}: face is {n} px, enlarged x{lr_size / source_px:.1f} to the model's {lr_size} px "
                      f"input: the detail is invented")
    return True, None


def check_output_memory(pixels: np.ndarray, alpha: np.ndarray | None, scale: float, n_models: int,
                        name: str) -> None:
    """Refuse before any work when the restored photos cannot fit in the memory available now (ImageTooLarge).

    Each model's composite is held until written; the Lanczos upscale and the encoder (Pillow keeps 4 bytes per
    pixel) add about two more output-sized buffers.
    """
    from .faces.paste import output_size
    from .io import check_memory

    out_h, out_w = output_size(pixels.shape, scale)
    channels = (pixels.shape[2] if pixels.ndim == 3 else 1) + (alpha is not None)
    canvas = out_h * out_w * max(channels, 4 if pixels.dtype == np.uint8 else channels) * pixels.dtype.itemsize
    check_memory(canvas * (n_models + 2), f"{name}: restoring to {out_w} x {out_h} pixels (x{scale:g})")


def _scaled_detection(det: Detection, fx: float, fy: float) -> Detection:
    """A detection made on a resized copy, in the full photo's pixels (boxes by their edges, points by centres)."""
    import dataclasses

    def points(p: np.ndarray | None) -> np.ndarray | None:
        if p is None:
            return None
        return ((np.asarray(p, np.float32) + 0.5) * np.array([fx, fy], np.float32) - 0.5).astype(np.float32)

    x0, y0, x1, y1 = det.box
    return dataclasses.replace(det, box=(x0 * fx, y0 * fy, x1 * fx, y1 * fy), landmarks5=points(det.landmarks5),
                               landmarks68=points(det.landmarks68))


def detect_in_photo(rgb: np.ndarray, detector: str = "dlib", detector_model: str | Path | None = None,
                    max_pixels: int | None = None) -> tuple[list[Detection], str | None]:
    """detect_faces, on a copy downscaled to `max_pixels` (DETECT_MAX_PIXELS) when the photo is larger.

    Returns (faces in the photo's pixels, a note for the user or None).
    """
    import cv2

    from .faces.detect import detect_faces

    h, w = rgb.shape[:2]
    max_pixels = DETECT_MAX_PIXELS if max_pixels is None else max_pixels
    if h * w <= max_pixels:
        return detect_faces(rgb, detector, detector_model), None
    factor = float(np.sqrt(h * w / max_pixels))
    size = (max(1, int(round(w / factor))), max(1, int(round(h / factor))))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    faces = detect_faces(small, detector, detector_model)
    fx, fy = w / size[0], h / size[1]
    note = (f"faces searched on a {size[0]} x {size[1]} copy of the {w} x {h} photo (memory and time); "
            f"faces under about {int(80 * factor)} px may be missed")
    return [_scaled_detection(d, fx, fy) for d in faces], note


def _aligned_detection(shape: tuple[int, ...]) -> Detection:
    from .faces.align import FFHQ_TEMPLATE_512

    h, w = shape[:2]
    five = FFHQ_TEMPLATE_512 * np.array([w / 512.0, h / 512.0], np.float32)
    return Detection(box=(0.0, 0.0, float(w), float(h)), score=1.0, landmarks5=five.astype(np.float32),
                     backend="aligned")


def _face_results(rgb: np.ndarray, detections: Sequence[Detection], protocols: Sequence[str],
                  aligned: bool, natives: Mapping[str, Any] | None = None) -> list[FaceResult]:
    """A FaceResult per detection with its crop for every protocol; `natives` (protocol -> variant): a face larger
    than that protocol's crop is cropped at its own resolution for the variant that can restore it so."""
    faces = []
    for i, det in enumerate(detections):
        face = FaceResult(index=i, box=tuple(float(v) for v in det.box), score=float(det.score),
                          landmarks5=np.asarray(det.landmarks5, np.float32),
                          landmarks68=None if det.landmarks68 is None else np.asarray(det.landmarks68, np.float32))
        for protocol in protocols:
            crop = _protocol_crop(rgb, face, protocol, aligned)
            native = (natives or {}).get(protocol)
            side = native.input_side(crop.source_px) if native is not None else crop.size
            face.crops[protocol] = crop if side == crop.size else _protocol_crop(rgb, face, protocol, aligned, side)
        faces.append(face)
    return faces


def _protocol_crop(rgb: np.ndarray, face: FaceResult, protocol: str, aligned: bool,
                   size: int | None = None) -> AlignedFace:
    from .faces.align import align_face, whole_image_crop

    if aligned:
        return whole_image_crop(rgb, protocol, size)
    return align_face(rgb, face.landmarks5, face.landmarks68, protocol, size)


def _run_auto(model: AutoModel, faces: Sequence[FaceResult], settings: RestoreSettings, gray: bool,
              steps: _Steps, photo_faces: int | None = None) -> None:
    """Group the faces by the candidate auto picks for their size, run each group under the label "auto".

    A call with few faces (settings.portrait_faces) is a portrait: the bands' slower, better restorers come first."""
    groups: dict[tuple[str, Any], list[FaceResult]] = {}
    portrait = (len(faces) if photo_faces is None else photo_faces) <= settings.portrait_faces
    for face in faces:
        chosen, blend, reason = model.choose(face, portrait)
        face.notes.append(reason)
        if chosen is None:
            steps.advance(1, f"{model.label}: face {face.index + 1} kept as is")
            continue
        face.chosen[model.label] = chosen.variant.name
        groups.setdefault((chosen.variant.name, blend), []).append(face)
    for (name, blend), group in groups.items():
        _run_model(model.candidates[name], group, settings, gray, steps, label=model.label)
        if blend is not None:
            partner = model.candidates[blend.partner] if blend.partner else None
            _blend_outputs(model.candidates[name], partner, blend, group, settings, gray, steps, model.label)


def _blend_outputs(lead: LoadedModel, partner: LoadedModel | None, blend: Any, faces: Sequence[FaceResult],
                   settings: RestoreSettings, gray: bool, steps: _Steps, label: str) -> None:
    """Replace each face's `label` output by the lead's correction x blend.weight plus the partner's correction x
    blend.partner_weight, carried into the lead's crop (engine.auto.Blend says why). The result stays an output
    of the lead's protocol, so pasting, the no-harm check and the face cards read it as any other."""
    extra = f"{label}+{partner.label}" if partner is not None else ""
    if partner is not None:
        quiet = _Steps(0, None, steps.cancel)  # the partner's faces were counted with the lead's
        _run_model(partner, [f for f in faces if label in f.outputs], settings, gray, quiet, label=extra)
    for face in faces:
        out = face.outputs.get(label)
        if out is None:
            continue
        crop = face.crops[lead.variant.crop]
        base = network_input(crop, lead.variant).astype(np.float32)
        mixed = base + blend.weight * (out.astype(np.float32) - base)
        used = blend
        if extra in face.outputs:
            mixed += blend.partner_weight * _correction_in(face, partner.variant, extra, crop, out.shape[0])
            face.seconds[label] = face.seconds.get(label, 0.0) + face.seconds.get(extra, 0.0)
        elif blend.partner:
            used = blend.lead_only()  # the partner could not restore this face
        face.outputs[label] = np.clip(np.round(mixed), 0, 255).astype(np.uint8)
        face.blends[label] = used
        if extra:
            face.forget(extra)


def _correction_in(face: FaceResult, variant: Any, label: str, target: AlignedFace, side: int) -> np.ndarray:
    """`label`'s correction (output - input, faded out at its crop's edge as a pasted one is) warped into the
    `side`-px output of the `target` crop; zero where its own crop does not reach."""
    import cv2

    from .faces.align import compose, invert
    from .faces.paste import correction_mask, output_to_face_matrix

    out = face.outputs[label].astype(np.float32)
    own = face.crops[variant.crop]
    n = out.shape[0]
    correction = (out - network_input(own, variant).astype(np.float32)) * correction_mask(n)[..., None]
    # target output pixel -> photo pixel -> own output pixel (pixel centres throughout)
    photo_to_own = output_to_face_matrix(own.matrix, n / own.size, 1.0, 1.0)
    target_to_photo = invert(output_to_face_matrix(target.matrix, side / target.size, 1.0, 1.0))
    return cv2.warpAffine(correction, compose(photo_to_own, target_to_photo), (side, side),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0.0)


def _run_any(model: Any, faces: Sequence[FaceResult], settings: RestoreSettings, gray: bool, steps: _Steps,
             photo_faces: int | None = None) -> None:
    if isinstance(model, AutoModel):
        _run_auto(model, faces, settings, gray, steps, photo_faces)
    else:
        _run_model(model, faces, settings, gray, steps)
    for face in faces:
        check_face(face, model.label)


def check_face(face: FaceResult, label: str) -> None:
    """The no-harm check of one output (engine.consistency), stored in face.checks and noted when it fails."""
    from .consistency import check_consistency

    out = face.outputs.get(label)
    if out is None:
        return
    crop = face.crops[variant_for(face.variant_of(label)).crop]
    check = check_consistency(out, crop.image, crop.source_px)
    face.checks[label] = check
    if not check.passed:
        face.notes.append(f"{label}: {check.describe()}: not pasted, the face keeps its upscaled original")


def _run_model(model: LoadedModel, faces: Sequence[FaceResult], settings: RestoreSettings, gray: bool, steps: _Steps,
               label: str | None = None) -> None:
    """Run one model over every usable face in batches, storing outputs, maps, seconds and notes on the faces
    (under `label`, default the model's own)."""
    import torch

    from .infer import infer_faces

    v = model.variant
    label = label or model.label
    todo: list[tuple[FaceResult, np.ndarray]] = []
    for face in faces:
        crop = face.crops[v.crop]
        usable, note = size_note(crop.source_px, v.lr_size, model.label)
        if note:
            face.notes.append(note)
        if not usable:
            steps.advance(1, f"{model.label}: face {face.index + 1} skipped (too small)")
            continue
        lr = network_input(crop, v)
        if lr.shape[0] != v.lr_size:
            face.notes.append(f"{model.label}: restored at the face's own resolution ({lr.shape[0]} px crop, "
                              f"not shrunk to {v.lr_size})")
        todo.append((face, lr))
    batch_size = settings.batch_size
    done = 0
    for chunk in _same_size_batches(todo, batch_size):
        steps.check()
        result = infer_faces(v.name, model.module, [lr for _, lr in chunk], tta=settings.tta, mode=settings.precision,
                             device=settings.device, batch_size=batch_size)
        outputs = result.images
        if gray:
            luma = outputs.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            outputs = np.repeat(np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None], 3, axis=3)
        landmarks = None
        if "priors" in result.maps and v.family == "fsrnet":
            from .models.fsrnet import heatmap_peaks, split_priors

            heat, _ = split_priors(result.maps["priors"], v.config)
            peaks = heatmap_peaks(torch.from_numpy(heat), out_size=v.hr_size)
            landmarks = peaks.numpy().astype(np.float32)
        for i, (face, _) in enumerate(chunk):
            face.outputs[label] = np.ascontiguousarray(outputs[i])
            maps = {k: np.ascontiguousarray(m[i]) for k, m in result.maps.items()}
            if landmarks is not None:
                maps["landmarks"] = landmarks[i] * (face.crops[v.crop].size / v.hr_size)
            face.maps[label] = maps
            face.seconds[label] = result.seconds / len(chunk)
            face.notes.extend(n for n in result.notes if n not in face.notes)
        done += len(chunk)
        steps.advance(len(chunk), f"{label}: {done}/{len(todo)} faces")


def _same_size_batches(todo: Sequence[tuple["FaceResult", np.ndarray]], batch_size: int
                       ) -> Iterator[list[tuple["FaceResult", np.ndarray]]]:
    """Batches of at most `batch_size` faces whose network inputs share one side (native-resolution crops of large
    faces differ from the rest and from each other)."""
    by_side: dict[int, list[tuple[FaceResult, np.ndarray]]] = {}
    for item in todo:
        by_side.setdefault(item[1].shape[0], []).append(item)
    for items in by_side.values():
        for start in range(0, len(items), batch_size):
            yield items[start:start + batch_size]


def restore_faces(image: np.ndarray, detections: Sequence[Detection], models: Sequence[Any] = ("fsrnet",),
                  settings: RestoreSettings | None = None, *, progress: Progress | None = None,
                  cancel: Cancel | None = None, photo_faces: int | None = None,
                  **options: Any) -> list[FaceResult]:
    """Crop each detected face per model protocol and run every model on it (batched, inference mode).

    image: the photo the detections refer to (RGB/grey/RGBA, uint8/uint16). With `aligned`, the image itself is the
    face crop and `detections` may be empty. Faces too small for a model are noted and skipped for that model.
    settings: a RestoreSettings; `options` are its fields by keyword (aligned=True, precision="fp32", ...).
    photo_faces: how many faces the whole photo has when `detections` are some of them (auto's portrait rule counts
    the photo's faces, so re-running one face of a group photo picks what the whole run picked).
    """
    from .io import is_gray_content, to_rgb8

    settings = RestoreSettings.of(settings, **options)
    loaded = load_models(models, settings.device)
    rgb = to_rgb8(image)
    if settings.aligned and not detections:
        detections = [_aligned_detection(rgb.shape)]
    steps = _Steps(len(detections) * len(loaded), progress, cancel)
    gray = is_gray_content(np.asarray(image)[..., :3] if np.asarray(image).ndim == 3 else np.asarray(image))
    return _restore_detected(rgb, detections, loaded, settings, gray, steps, photo_faces=photo_faces)


def _restore_detected(rgb: np.ndarray, detections: Sequence[Detection], loaded: Sequence[Any],
                      settings: RestoreSettings, gray: bool, steps: _Steps,
                      timings: dict[str, float] | None = None, photo_faces: int | None = None) -> list[FaceResult]:
    """Align every detection for every protocol the models need, run each model, mark faces no model restored;
    the shared core of restore_faces and restore_photo (which times each step)."""
    tick = time.perf_counter()
    natives = {p: v for m in loaded for p, v in m.natives.items()}
    faces = _face_results(rgb, detections, sorted({p for m in loaded for p in m.protocols}), settings.aligned,
                          natives)
    if timings is not None:
        timings["align"], tick = time.perf_counter() - tick, time.perf_counter()
    for model in loaded:
        _run_any(model, faces, settings, gray, steps, photo_faces)
        if timings is not None:
            timings[f"restore:{model.label}"], tick = time.perf_counter() - tick, time.perf_counter()
    for face in faces:
        face.skipped = not face.outputs
    return faces


def compose_photo(image: np.ndarray, faces: Sequence[FaceResult], model: str, scale: float = 2, *,
                  blend: float = 1.0, alpha: np.ndarray | None = None, color_match: bool = True,
                  mask: str = "square", no_harm: bool = True, residual_paste: bool = True) -> np.ndarray:
    """Upscale the photo (Lanczos) and paste one model's restored faces back into it.

    image: the input photo (HxW, HxWx3, HxWx4 or HxWx2 with alpha; uint8/uint16); the result has the same channels
    and dtype at round(scale x size). mask: "square", "landmarks" or "none" (aligned inputs). no_harm: leave out
    faces whose output failed the consistency check (FaceResult.checks); False pastes every output.
    residual_paste: a same-size restorer's face goes in as its correction over the upscaled photo (see
    :func:`paste_face`'s `base`); False blends its output in like an x8 model's.
    """
    from .faces.align import transform_points
    from .faces.paste import attach_alpha, paste_face, upscale_background
    from .io import is_gray_content, split_alpha

    pixels = np.asarray(image)
    if alpha is None:
        pixels, alpha = split_alpha(pixels)
    check_scale(scale)
    canvas = upscale_background(pixels, scale)
    sy, sx = canvas.shape[0] / pixels.shape[0], canvas.shape[1] / pixels.shape[1]
    gray = is_gray_content(pixels)
    for face in faces:
        if not face.pasted(model, no_harm):
            continue
        protocol = variant_for(face.variant_of(model)).crop
        if protocol not in face.crops:
            continue
        out = face.outputs[model]
        crop = face.crops[protocol]
        variant = variant_for(face.variant_of(model))
        base = network_input(crop, variant) if residual_paste and variant.same_size else None
        lm = None
        if mask == "landmarks" and face.landmarks68 is not None:
            lm = transform_points(crop.matrix, face.landmarks68)
        # a pasted correction keeps the photo's own colours; a colour match would only add its Lab round trip
        reference = crop.image if color_match and base is None else None
        paste_face(canvas, out, crop.matrix, crop.size, (sx, sy), reference=reference,
                   blend=blend, mask=mask if (mask != "landmarks" or lm is not None) else "square", landmarks=lm,
                   gray=gray, base=base)
    return attach_alpha(canvas, alpha, scale)


def network_input(crop: AlignedFace, variant: Any) -> np.ndarray:
    """What the network is fed for this crop: the crop at the variant's input size (as it is for a native crop)."""
    from .degrade import pil_resize

    return crop.image if variant.accepts(crop.size) else pil_resize(crop.image, variant.lr_size)


def crop_to_photo(points: np.ndarray, crop: AlignedFace) -> np.ndarray:
    """Points in crop pixels (e.g. FSRNet's predicted landmarks) -> input-photo pixels."""
    from .faces.align import invert, transform_points

    return transform_points(invert(crop.matrix), points).astype(np.float32)


def provenance_of(model: Any, faces: Sequence[FaceResult], settings: dict[str, Any], no_harm: bool = True
                  ) -> dict[str, Any]:
    """What made a restored photo: model, weights and their sha256 (per variant for auto, with each face's pick)."""
    label = model.label
    pasted = sum(1 for f in faces if f.pasted(label, no_harm))
    rejected = sum(1 for f in faces if label in f.outputs and not f.pasted(label, no_harm))
    row: dict[str, Any] = {"software": "FSR Studio", "model": label}
    if isinstance(model, AutoModel):
        used = {v for f in faces for v in f.variants_used(label)}
        row.update(variant="auto", weights={n: Path(model.candidates[n].weights).name for n in sorted(used)
                                            if model.candidates[n].weights},
                   weights_sha256={n: model.candidates[n].sha256 for n in sorted(used)},
                   face_models={str(f.index): f.made_by(label) if label in f.chosen else "original (upscaled)"
                                for f in faces})
    else:
        row.update(variant=model.variant.name,
                   weights=Path(model.weights).name if model.weights else "in-memory module (no weight file)",
                   weights_sha256=model.sha256)
    row.update(faces_restored=pasted, faces_kept_by_no_harm_check=rejected, **settings)
    return row


def restore_photo(source: str | Path | np.ndarray, models: Sequence[Any] = ("fsrnet",), scale: float | None = None,
                  *, settings: RestoreSettings | None = None, progress: Progress | None = None,
                  cancel: Cancel | None = None, **options: Any) -> PhotoResult:
    """Read (if a path), detect, align, restore with every model, paste back; see the module docstring.

    models: zoo names, (name, nn.Module) pairs or LoadedModel objects; the first one gives ``result.image``.
    settings: a RestoreSettings (engine.settings); `scale` and the keyword `options` (detector=, blend=, tta=,
    precision=, no_harm=, ...: its fields) change it for this call.
    Raises engine.io.ImageReadError for unusable photos, engine.zoo.WeightsNotFound for missing weights,
    engine.faces.detect.DetectorModelMissing for a missing optional detector model, Cancelled when cancel() is True.
    A photo without faces is not an error: the result is the upscaled photo with a note.
    """
    from .io import ImageMetadata, is_gray_content, read_image, split_alpha, to_rgb8

    s = RestoreSettings.of(settings, scale=scale, **options)
    timings: dict[str, float] = {}
    t_start = tick = time.perf_counter()
    if isinstance(source, np.ndarray):
        pixels, alpha = split_alpha(np.asarray(source))
        metadata, source_name = ImageMetadata(bit_depth=16 if pixels.dtype == np.uint16 else 8), None
    else:
        loaded_image = read_image(source)
        pixels, alpha, metadata, source_name = (loaded_image.pixels, loaded_image.alpha, loaded_image.metadata,
                                                str(source))
    if pixels.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"expected uint8 or uint16 pixels, got {pixels.dtype}")
    timings["read"], tick = time.perf_counter() - tick, time.perf_counter()
    notes: list[str] = list(metadata.notes)
    loaded = load_models(models, s.device, notes=notes)
    timings["load_models"], tick = time.perf_counter() - tick, time.perf_counter()
    check_output_memory(pixels, alpha, s.scale, len(loaded), source_name or "the photo")
    rgb = to_rgb8(pixels)
    steps = _Steps(1, progress, cancel)
    steps.check()
    detections = _photo_detections(rgb, s, notes)
    timings["detect"] = time.perf_counter() - tick
    gray = is_gray_content(pixels)
    if gray and pixels.ndim == 3:
        notes.append("grey content stored as RGB: restored faces are converted to grey")
    steps.total = 1 + len(detections) * len(loaded) + len(loaded)
    steps.advance(1, f"{len(detections)} face(s) found")
    faces = _restore_detected(rgb, detections, loaded, s, gray, steps, timings)
    images: dict[str, np.ndarray] = {}
    tick = time.perf_counter()
    for model in loaded:
        images[model.label] = compose_photo(pixels, faces, model.label, s.scale, blend=s.blend, alpha=alpha,
                                            color_match=s.color_match, mask="none" if s.aligned else s.mask,
                                            no_harm=s.no_harm)
        timings[f"paste:{model.label}"], tick = time.perf_counter() - tick, time.perf_counter()
        steps.advance(1, f"{model.label}: photo composed")
    timings["total"] = time.perf_counter() - t_start
    provenance = {m.label: provenance_of(m, faces, s.record(), s.no_harm) for m in loaded}
    return PhotoResult(image=images[loaded[0].label], images=images, faces=faces, timings=timings,
                       source=source_name, metadata=metadata, scale=s.scale, models=[m.label for m in loaded],
                       notes=notes, provenance=provenance)


def _photo_detections(rgb: np.ndarray, settings: RestoreSettings, notes: list[str]) -> list[Detection]:
    """The faces restore_photo works on: the whole image when aligned, else the detector's (only the centre one
    with only_center_face); notes what the detector says and when it found nothing."""
    from .faces.detect import center_face

    if settings.aligned:
        return [_aligned_detection(rgb.shape)]
    detections, detect_note = detect_in_photo(rgb, settings.detector, settings.detector_model)
    if detect_note:
        notes.append(detect_note)
    if settings.only_center_face and detections:
        detections = [center_face(detections, rgb.shape)]
    if not detections:
        notes.append("no face found: the photo is only upscaled")
    return list(detections)
