"""Importing a checkpoint into the user models folder: find the variant it fits (or check the one asked for), with a
report of every missing, unexpected and mis-shaped key when it fits none."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .common import Cancel, Progress, check_cancel


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
        check_cancel(cancel)
        if progress:
            progress(n, len(candidates), f"checking {path.name} against {name}")
        model = zoo.build(name)
        try:
            zoo.load_state_into(model, path, state)
        except zoo.CheckpointError as exc:
            problems.append(f"— {name}: " + str(exc).split("\n", 1)[-1].strip())
            continue
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

