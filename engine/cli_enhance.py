"""Restore every face in photos or folders (flags mirror GFPGAN/CodeFormer/Real-ESRGAN).

    fsr-studio enhance -i PHOTO_OR_FOLDER -o OUT_DIR -s 2               # -m auto: a model per face, by its size
    fsr-studio enhance -i PHOTO_OR_FOLDER -o OUT_DIR -m fsrnet,fsrgan -s 2

The default model, ``auto``, picks per face the variant whose size range fits the face (engine.auto) and keeps the
upscaled original where no weights fit; family names (``-m sparnet``) use the best weights of the family found. A
restored face that contradicts the photo (engine.consistency) is not pasted unless --no-no-harm-check; the report
lists every face with its size, auto's pick and any such verdict.

Writes ``<stem>_<suffix or model>.<ext>`` per model (same format as the input unless --ext), optionally
restored_faces/, cropped_faces/, cmp/ (--save-faces) and priors/ (--save-priors). Names are planned for the whole run
(engine.naming): two inputs never share an output (``a.jpg`` and ``a.JPG`` get ``a`` and ``a~2``), nothing is written
outside the output folder, long names are shortened to fit. One bad file is reported and the batch goes on; outputs
this same input made earlier are skipped (a re-run finishes an interrupted batch, and removes the temporary files a
killed run left); the exit code is 1 if anything failed. Inputs are never written over. Options, the output folder
and the output size each format can hold are checked before any photo is restored; a full disk stops the batch at the
first photo it fails.
"""
from __future__ import annotations

import argparse
import errno
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from .naming import already_done

EXT_CHOICES = ("auto", "png", "jpg", "webp", "tif", "bmp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--input", required=True, help="a photo or a folder of photos")
    parser.add_argument("-o", "--output", default="results", help="output folder (default: results)")
    parser.add_argument("-m", "--models", "--model", default=None,
                        help="model name(s), comma separated (default: auto, a variant per face chosen by its size; "
                        "with -w, the variant named by the weight file's card, else fsrnet); family names such as "
                        "sparnet use the best weights of the family; see `fsr-studio models`")
    parser.add_argument("-s", "--upscale", type=float, default=2.0, help="final scale of the photo (default: 2)")
    parser.add_argument("--only-center-face", "--only_center_face", action="store_true",
                        help="restore only the face nearest the centre")
    parser.add_argument("--aligned", "--has_aligned", action="store_true",
                        help="inputs are already face crops in the model's protocol (no detection)")
    parser.add_argument("--ext", choices=EXT_CHOICES, default="auto",
                        help="output format; auto keeps the input's format (default)")
    parser.add_argument("--suffix", default=None, help="file-name suffix (default: the model name)")
    parser.add_argument("--save-faces", "--save_faces", action="store_true",
                        help="also write cropped_faces/, restored_faces/ and cmp/ comparison strips")
    parser.add_argument("--save-priors", "--save_priors", action="store_true",
                        help="also write priors/: heatmaps and parsing maps as PNG, .npz, landmarks JSON")
    parser.add_argument("--tta", action="store_true", help="test-time augmentation: fuse the 8 flips/rotations")
    parser.add_argument("--blend", type=float, default=1.0,
                        help="strength of the restored faces against the original, 0..1 (default: 1)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--detector", "--detection_model", default="dlib",
                        help="face detector: dlib (default, offline), insightface (SCRFD) or yunet")
    parser.add_argument("--detector-model", default=None,
                        help="model file or folder for the insightface/yunet detectors")
    parser.add_argument("--weights", "-w", default=None, help="weight file for the model (a single model only)")
    parser.add_argument("--mask", choices=("square", "landmarks"), default="square",
                        help="paste mask: feathered square (default) or limited to the landmark face outline")
    parser.add_argument("--no-color-match", action="store_true",
                        help="do not match colour and tone of restored faces to the original")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16 (CPU), fp16 (CUDA), channels_last")
    parser.add_argument("--no-harm-check", dest="no_harm", action=argparse.BooleanOptionalAction, default=True,
                        help="do not paste restored faces that contradict the photo (consistency check at the face's "
                        "own resolution); they keep the upscaled original (default: on)")
    parser.add_argument("--overwrite", action="store_true", help="redo photos whose outputs already exist")
    parser.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality (default: 95)")


# ----- planning -------------------------------------------------------------------------------------------------
class InputError(ValueError):
    """-i names something that is neither a photo nor a folder."""


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


def settings_from(args: argparse.Namespace) -> Any:
    """The one RestoreSettings of this run, from the flags (raises ValueError naming the bad flag's value)."""
    from .settings import RestoreSettings

    return RestoreSettings(scale=args.upscale, detector=args.detector, detector_model=args.detector_model,
                           only_center_face=args.only_center_face, aligned=args.aligned, blend=args.blend,
                           tta=args.tta, precision=args.precision, color_match=not args.no_color_match,
                           mask=args.mask, no_harm=getattr(args, "no_harm", True))


FLAG_OF = {"scale": "--upscale", "blend": "--blend", "precision": "--precision", "mask": "--mask"}


def check_options(args: argparse.Namespace) -> str | None:
    """Every option checked before any model loads; returns the error message, None when all are usable."""
    from .naming import NamingError, check_suffix

    if not args.input.strip():
        return "-i/--input is empty: give a photo or a folder"
    if not args.output.strip():
        return "-o/--output is empty: give an output folder"
    if not 1 <= args.quality <= 100:
        return f"--quality must be between 1 and 100, got {args.quality}"
    try:
        settings_from(args)
        if args.suffix is not None:
            check_suffix(args.suffix)
    except (ValueError, NamingError) as exc:
        field = str(exc).split(" ", 1)[0]
        return f"{FLAG_OF[field]} {str(exc).split(' ', 1)[1]}" if field in FLAG_OF else str(exc)
    return None


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
    """Remove the temporary files of killed runs from the folders this command writes; returns how many."""
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
    """Collapse per-face notes ("face is 99 px, ...") into counted lines."""
    counts = Counter(re.sub(r"face is \d+ px", "face is N px", re.sub(r"x\d+\.\d", "xN", n)) for n in notes)
    return [f"{c} face(s): {text}" if c > 1 else text for text, c in counts.items()]


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
                what = f"{face.chosen[label]}, {what}"
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
            if any(n in found for n in band.candidates):
                continue
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
    return notes


def _say(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


# ----- running ----------------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import zoo
    from .faces.detect import DetectorModelMissing, DetectorUnavailable, get_detector
    from .restore import load_models

    if args.models is None:
        try:
            labels = [model_for_weights(args.weights)] if args.weights else ["auto"]
        except zoo.CheckpointError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    else:
        labels = [m.strip() for m in args.models.split(",") if m.strip()]
    source, output = Path(args.input).expanduser(), Path(args.output).expanduser()
    if not labels:
        print("error: no model given (-m)", file=sys.stderr)
        return 2
    if args.weights and len(labels) != 1:
        print("error: --weights applies to a single model; give one -m MODEL", file=sys.stderr)
        return 2
    if args.weights and labels == ["auto"]:
        print("error: --weights needs the model it fits, e.g. -m fsrnet (auto chooses among several)",
              file=sys.stderr)
        return 2
    problem = check_options(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if not source.exists():
        kind = "a broken link" if source.is_symlink() else "no such file or folder"
        print(f"error: {source}: {kind}", file=sys.stderr)
        return 1
    try:
        device = zoo.resolve_device(args.device)
        load_notes: list[str] = []
        models = load_models(labels, device=device, weights=args.weights, notes=load_notes)
        if not args.aligned:
            get_detector(args.detector, args.detector_model)
    except (zoo.WeightsNotFound, zoo.CheckpointError, DetectorModelMissing, DetectorUnavailable,
            ValueError, RuntimeError, KeyError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) and exc.args else exc}", file=sys.stderr)
        return 1
    from .io import READ_SUFFIXES
    from .naming import NamingError

    suffixes = output_suffixes([m.label for m in models], args.suffix)
    try:
        inputs, skipped_inputs = list_inputs(source, output, list(suffixes.values()))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in skipped_inputs:
        _say(f"note: {line}")
    if not inputs:
        kinds = ", ".join(sorted({s.lstrip(".").upper() for s in READ_SUFFIXES}))
        print(f"error: no photos ({kinds}) in {source}", file=sys.stderr)
        return 1
    try:
        check_output_folder(output)
    except OSError as exc:
        print(f"error: cannot write to the output folder {output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if clean_leftovers(output):
        _say("removed temporary files left by an interrupted run")
    settings = settings_from(args).but(device=device)
    try:
        plans = plan_run(inputs, output, suffixes, args.ext)
    except NamingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for note in load_notes + model_notes(models):
        _say(f"note: {note}")
    failures: list[tuple[Path, str]] = []
    done = skipped = 0
    started = time.perf_counter()
    bar = tqdm(plans, unit="photo", disable=None, file=sys.stderr, dynamic_ncols=True)
    for plan in bar:
        path, targets = plan.source, plan.targets
        bar.set_postfix_str(path.name[-30:])
        if not args.overwrite and already_done(plan, made_from):
            skipped += 1
            continue
        try:
            report, seconds, notes = process_photo(plan, models, output, args, settings, inputs)
        except KeyboardInterrupt:
            bar.close()
            print("interrupted: finished photos are kept; run the same command again to continue", file=sys.stderr)
            return 130
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
            failures.append((path, describe_error(exc)))
            _say(f"FAILED {describe_error(exc)}")
            if isinstance(exc, OSError) and exc.errno in DISK_FULL:  # every other photo would fail the same way
                _say(f"error: the disk holding {output} is full: stopped; free some space and run the same command "
                     f"again to continue")
                break
            continue
        done += 1
        _say(f"{path.name}: {report['found']} face(s), {report['restored']} restored, {seconds:.1f} s -> "
             f"{', '.join(t.name for t in report['targets'].values())}")
        for line in report["lines"]:
            _say(f"  {line}")
        for line in summarize_notes([n for n in notes if not is_face_line_note(n)]):
            _say(f"  note: {line}")
    bar.close()
    total = time.perf_counter() - started
    print(f"{done} restored, {skipped} already done, {len(failures)} failed, in {total:.1f} s; outputs in {output}",
          file=sys.stderr)
    for path, reason in failures:
        print(f"  failed: {reason if reason.startswith(str(path)) else f'{path}: {reason}'}", file=sys.stderr)
    return 1 if failures else 0


def describe_error(exc: BaseException) -> str:
    from .io import ImageReadError

    if isinstance(exc, ImageReadError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def process_photo(plan: Any, models: list[Any], output: Path, args: argparse.Namespace,
                  settings: Any, inputs: list[Path]) -> tuple[dict[str, Any], float, list[str]]:
    """Restore one photo and write its planned outputs (engine.naming.PhotoOutputs); returns ({"found", "restored":
    face counts, "lines": the per-face report, "targets": the files written}, seconds, notes). The restored images
    are not kept beyond this photo."""
    from .export import save_faces, save_priors
    from .io import check_not_input, split_alpha, write_image
    from .restore import AutoModel, restore_photo, variant_for

    path, targets = plan.source, plan.targets
    for target in targets.values():
        check_not_input(target, inputs)
    check_output_size(path, targets, args.upscale)
    result = restore_photo(path, models, settings=settings)
    notes = list(result.notes) + [n for f in result.faces for n in f.notes]
    stem = plan.stem
    if args.save_faces:
        save_faces(output, stem, result.faces, result.models, inputs)
    if args.save_priors:
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
                             provenance=provenance, inputs=inputs, quality=args.quality)
    no_harm = settings.no_harm
    report = {"found": len(result.faces),
              "restored": sum(1 for f in result.faces if any(f.pasted(m.label, no_harm) for m in models)),
              "lines": face_lines(result.faces, [m.label for m in models], no_harm), "targets": targets}
    return report, result.timings.get("total", 0.0), notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fsr-studio enhance", description=__doc__.strip().splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
