"""Restoring photos and folders in a batch, as `fsr-studio enhance` does (app/commands/enhance.py holds the command).

The pieces around :func:`engine.restore.restore_photo` that a batch of files needs: the inputs of a photo or a folder
(:func:`list_inputs`), output names planned for the whole run (:func:`plan_run`, engine.naming: two inputs never share
an output, ``a.jpg`` and ``a.JPG`` get ``a`` and ``a~2``, nothing is written outside the output folder, long names
are shortened), outputs this same input made earlier recognised by their provenance (:func:`made_from`), the output
size each format can hold checked before restoring (:func:`check_output_size`), the temporary files of killed runs
removed (:func:`clean_leftovers`), one photo restored and written with its by-products (:func:`process_photo`:
``<stem>_<suffix or model>.<ext>``, restored_faces/, cropped_faces/, cmp/, priors/), and the per-face report lines
(:func:`face_lines`, :func:`model_notes`). Inputs are never written over.
"""
from __future__ import annotations

import errno
import re
from collections import Counter
from pathlib import Path
from typing import Any

EXT_CHOICES = ("auto", "png", "jpg", "webp", "tif", "bmp")  # output formats; auto keeps the input's


# ----- planning -------------------------------------------------------------------------------------------------
class InputError(ValueError):
    """The input names something that is neither a photo nor a folder."""


def list_inputs(source: Path, output: Path, suffixes: list[str]) -> tuple[list[Path], list[str]]:
    """The photos to process: the file itself, or the folder's image files (not recursive), minus our own outputs;
    and a line for every photo-named entry left out (broken links, FIFOs, folders), so nothing is skipped silently."""
    import os
    import stat

    from .io import READ_SUFFIXES, kind_of

    try:
        mode = os.stat(source).st_mode
    except OSError as exc:
        raise InputError(f"{source}: {'a broken link' if os.path.islink(source) else exc.strerror or exc}") from None
    if stat.S_ISREG(mode):
        return [source], []
    if not stat.S_ISDIR(mode):
        raise InputError(f"{source}: is {kind_of(mode)}, not a photo or a folder")
    files, skipped = [], []
    for p in sorted(source.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in READ_SUFFIXES:
            continue
        try:
            entry = os.stat(p).st_mode
        except OSError:
            skipped.append(f"skipped {p.name}: a broken link" if p.is_symlink() else f"skipped {p.name}: unreadable")
            continue
        if stat.S_ISREG(entry):
            files.append(p)
        else:
            skipped.append(f"skipped {p.name}: {kind_of(entry)}")
    if output.resolve() == source.resolve():  # writing beside the inputs: do not take earlier outputs for inputs
        files = [p for p in files if not any(s and p.stem.endswith("_" + s) for s in suffixes)]
    return files, skipped


def output_suffixes(labels: list[str], suffix: str | None) -> dict[str, str]:
    from .export import safe_name

    if suffix is None:
        return {label: safe_name(label) for label in labels}
    if len(labels) == 1:
        return {labels[0]: suffix}
    return {label: f"{suffix}_{safe_name(label)}" for label in labels}


def output_extension(path: Path, ext: str, fmt: str | None = None) -> str:
    """auto: the input's own format (its suffix when it names that format)."""
    from .io import EXT_FORMATS, FORMAT_EXT

    if ext != "auto":
        return "." + ext
    suffix = path.suffix.lower()
    if suffix in EXT_FORMATS and (fmt is None or EXT_FORMATS[suffix] == fmt or fmt == "MPO"):
        return suffix
    return FORMAT_EXT.get(fmt or "", ".png")


def sniff(path: Path) -> tuple[str | None, tuple[int, int] | None]:
    """The format named by the file's header (a PNG named .jpg is written as .png) and its (width, height); Nones if
    unknown. No decoding; only regular files reach here (list_inputs)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                return img.format, (int(img.size[0]), int(img.size[1]))
    except Exception:  # noqa: BLE001 - unreadable files are reported when processed
        return None, None


def made_from(path: Path) -> str | None:
    """The input an existing output was made from (its provenance note's "source"), None for anything else."""
    from .io import read_provenance

    try:
        note = read_provenance(path)
    except Exception:  # noqa: BLE001 - a foreign or damaged file is simply not ours
        return None
    source = note.get("source") if isinstance(note, dict) else None
    return source if isinstance(source, str) else None


def plan_run(inputs: list[Path], output: Path, suffixes: dict[str, str], ext: str) -> list[Any]:
    """Every input's outputs, planned together (engine.naming.plan_outputs) from the formats their headers name."""
    from .naming import plan_outputs

    headers = {p: sniff(p) for p in inputs}
    return plan_outputs(inputs, output, suffixes, lambda p: output_extension(p, ext, headers[p][0] if
                                                                             ext == "auto" else None), made_from)


def check_output_size(path: Path, targets: dict[str, Path], scale: float) -> None:
    """Refuse, before restoring, a photo whose output its format cannot hold (a 35000 px wide JPEG at x2)."""
    from .faces.paste import output_size
    from .io import check_writable, output_format

    _, size = sniff(path)
    if size is None:
        return
    height, width = output_size((size[1], size[0]), scale)
    for target in targets.values():
        check_writable(output_format(target), width, height)


DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
OUTPUT_SUBFOLDERS = ("", "restored_faces", "cropped_faces", "cmp")


def check_output_folder(output: Path) -> None:
    """Create the output folder and prove a file can be written in it (raises OSError otherwise)."""
    import os
    import tempfile

    output.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix=f".write-test.{os.getpid()}.", suffix=".part", dir=output)
    os.close(fd)
    os.unlink(probe)


def clean_leftovers(output: Path) -> int:
    """Remove the temporary files of killed runs from the folders a batch writes; returns how many."""
    from .util import remove_stale_parts

    folders = [output / sub for sub in OUTPUT_SUBFOLDERS]
    priors = output / "priors"
    if priors.is_dir():
        folders += [p for p in priors.iterdir() if p.is_dir()]
    return sum(len(remove_stale_parts(folder)) for folder in folders)


def model_for_weights(path: str) -> str:
    """The model a weight file given without -m is for: the variant its card names, else fsrnet (the default before
    auto, which takes no weight file)."""
    from . import zoo

    name = zoo.read_card(path).get("variant")
    return name if isinstance(name, str) and name in zoo.names("restore") else "fsrnet"


# ----- reporting --------------------------------------------------------------------------------------------------
def summarize_notes(notes: list[str]) -> list[str]:
    """Collapse per-face notes ("face is 99 px, ...") into counted lines; a note only one face gave stays as it was."""
    def general(note: str) -> str:
        return re.sub(r"face is \d+ px", "face is N px", re.sub(r"x\d+\.\d", "xN", note))

    counts = Counter(general(n) for n in notes)
    first = {}
    for note in notes:
        first.setdefault(general(note), note)
    return [f"{c} face(s): {text}" if c > 1 else first[text] for text, c in counts.items()]


def face_lines(faces: list[Any], labels: list[str], no_harm: bool = True) -> list[str]:
    """One line per face: its size in the photo, then per model what went into the photo (auto's pick, kept the
    original, not restored) and the no-harm verdict when the output was left out."""
    from .auto import AUTO

    lines = []
    for face in faces:
        parts = []
        for label in labels:
            check = face.checks.get(label)
            if label in face.outputs and not face.pasted(label, no_harm):
                what = f"not pasted, {check.describe()}"
            elif label in face.outputs:
                what = "restored" if check is None or check.passed else f"pasted although {check.describe()}"
            else:
                what = "kept the original" if label == AUTO else "not restored (kept the original)"
            if label == AUTO and label in face.chosen:
                what = f"{face.made_by(label)}, {what}"
            parts.append(f"{label}: {what}")
        lines.append(f"face {face.index:02d} ({int(round(face.size_px))} px): " + "; ".join(parts))
    return lines


def is_face_line_note(note: str) -> bool:
    """Per-face notes that :func:`face_lines` already reports (the no-harm verdicts)."""
    return bool(re.match(r"^.+: consistency -?[\d.]+ dB \(", note))


def model_notes(models: list[Any]) -> list[str]:
    """What the loaded models mean for this run: which weights auto found (and that the rest keep the original)."""
    from .auto import AUTO_BANDS, candidates
    from .restore import AutoModel

    notes = []
    for model in models:
        if not isinstance(model, AutoModel):
            continue
        found = list(model.candidates)
        spans: list[list[float]] = []  # size ranges no candidate with weights covers, adjacent bands merged
        needed: list[str] = []
        for band in AUTO_BANDS:
            if not band.candidates or any(n in found for n in band.candidates):
                continue  # covered, or an empty band: the original by design (band.why), not missing weights
            needed += [n for n in band.candidates if n not in needed]
            if spans and spans[-1][1] == band.min_px:
                spans[-1][1] = band.max_px
            else:
                spans.append([band.min_px, band.max_px])
        ranges = " and ".join(f"of {lo:g} px and up" if hi == float("inf") else f"under {hi:g} px" if lo <= 0
                              else f"of {lo:g}-{hi:g} px" for lo, hi in spans)
        if not found:
            notes.append(f"auto: none of {', '.join(candidates())} has weights: every face keeps its upscaled "
                         f"original")
        elif spans:
            notes.append(f"auto: weights found for {', '.join(found)}; faces {ranges} keep the upscaled original "
                         f"(no weights for {', '.join(needed)})")
        else:
            notes.append(f"auto: weights found for {', '.join(found)}")
        notes += [f"auto: faces of {band.span} keep the upscaled original ({band.why})"
                  for band in AUTO_BANDS if not band.candidates and found]
    return notes



def describe_error(exc: BaseException) -> str:
    from .io import ImageReadError

    if isinstance(exc, ImageReadError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def process_photo(plan: Any, models: list[Any], output: Path, settings: Any, inputs: list[Path], *,
                  with_faces: bool = False, with_priors: bool = False,
                  quality: int = 95) -> tuple[dict[str, Any], float, list[str]]:
    """Restore one photo with `settings` (engine.settings.RestoreSettings) and write its planned outputs
    (engine.naming.PhotoOutputs), plus restored_faces/, cropped_faces/, cmp/ (`with_faces`) and priors/
    (`with_priors`); returns ({"found", "restored": face counts, "lines": the per-face report, "targets": the files
    written}, seconds, notes). The restored images are not kept beyond this photo."""
    from .export import save_faces, save_priors
    from .io import check_not_input, split_alpha, write_image
    from .restore import AutoModel, restore_photo, variant_for

    path, targets = plan.source, plan.targets
    for target in targets.values():
        check_not_input(target, inputs)
    check_output_size(path, targets, settings.scale)
    result = restore_photo(path, models, settings=settings)
    notes = list(result.notes) + [n for f in result.faces for n in f.notes]
    stem = plan.stem
    if with_faces:
        save_faces(output, stem, result.faces, result.models, inputs)
    if with_priors:
        for model in models:
            if isinstance(model, AutoModel):  # auto's faces come from several variants: each with its own maps
                picks: dict[str, list[Any]] = {}
                for face in result.faces:
                    if model.label in face.chosen:
                        picks.setdefault(face.chosen[model.label], []).append(face)
                for name, group in picks.items():
                    save_priors(output, stem, group, model.label, variant_for(name), path.name, inputs)
            else:
                save_priors(output, stem, result.faces, model.label, model.variant, path.name, inputs)
    for model in models:
        pixels, alpha = split_alpha(result.images[model.label])
        provenance = {**result.provenance[model.label], "source": path.name}
        notes += write_image(targets[model.label], pixels, alpha=alpha, metadata=result.metadata,
                             provenance=provenance, inputs=inputs, quality=quality)
    no_harm = settings.no_harm
    report = {"found": len(result.faces),
              "restored": sum(1 for f in result.faces if any(f.pasted(m.label, no_harm) for m in models)),
              "lines": face_lines(result.faces, [m.label for m in models], no_harm), "targets": targets}
    return report, result.timings.get("total", 0.0), notes
