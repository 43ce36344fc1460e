"""The model list: every restore variant with where its weights are, `auto`, and extra weight files (fine-tuned or
imported); what is missing and where to put it; parameter counts; the folders and the machine facts the dialogs show.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .common import AUTO, Cancel, Progress


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
    licence: str = ""  # the variant's licence ("" for auto: that of the model it picks)

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
    bands = "; ".join(f"{b.span}: {' / '.join(map(b.shown, b.candidates))}"
                      + (f" (photos with few faces: {' / '.join(map(b.shown, b.portrait))} first)" if b.portrait
                         else "")
                      for b in AUTO_BANDS)
    uncovered = [b.span for b in AUTO_BANDS if not any(n in found for n in b.candidates)]
    description = f"a model per face, chosen by the face's size in the photo ({bands})"
    if found:
        description += f". Weights found for {', '.join(found)}"
    if uncovered:
        description += f". Faces of {', '.join(uncovered)} keep their upscaled original (no weights for that size)"
    return ModelChoice(AUTO, AUTO, None, "per face" if found else "missing", "auto", description, found)



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
        choices.append(ModelChoice(name, name, path, _source_of(path), v.family, v.description, licence=v.licence))
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
                                       f"{source} {variant} weights ({path.name})", licence=v.licence))
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



def inference_summary() -> tuple[str, list[str]]:
    """What precision "auto" runs here, for the settings dialog: the CPU with the flags that matter, and one line
    per model and batch size measured so far (path and why)."""
    from engine import runtime_choice

    lines = [f"{v.key.get('variant')} (batch {v.key.get('batch')}, {v.key.get('device')}): {v.reason}"
             for v in runtime_choice.current_verdicts()]
    return runtime_choice.cpu_info().describe(), lines


def restore_variants() -> list[str]:
    """Every restore variant of the zoo (the architectures a checkpoint can be imported as)."""
    from engine import zoo

    return zoo.names(task="restore")


def find_weights(variant: str) -> Path | None:
    """The weight file the zoo would load for `variant` (user folder first, then bundled), or None."""
    from engine import zoo

    return zoo.find_weights(variant)


def models_folder() -> Path:
    """The user models folder (``$FSR_STUDIO_MODELS`` or the platform's data folder)."""
    from engine import zoo

    return zoo.user_models_dir()


def bundled_folder() -> Path:
    """The folder of the weights shipped with the app."""
    from engine import zoo

    return zoo.bundled_dir()


def detector_backends() -> list[tuple[str, str]]:
    """(name, description) of every registered face detector back end."""
    try:
        from engine.faces import detect

        return [(name, desc) for name, (_factory, desc) in detect.BACKENDS.items()]
    except Exception:  # noqa: BLE001 - the settings dialog still opens if the detector module cannot load
        return [("dlib", "dlib HOG + 68 landmarks (default)")]


def cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False
