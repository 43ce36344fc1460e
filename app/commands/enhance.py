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
first photo it fails. The batch logic is engine.batch; this module is its command line.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from engine.batch import EXT_CHOICES


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
    parser.add_argument("--precision", default="auto", help="auto (measured once per machine and model, the default), or one path: fp32, "
                        "channels_last, bf16 (CPU), fp16 (CUDA), onnxruntime, openvino, openvino-bf16, openvino-int8, "
                        "onnxruntime-int8 (fsr-studio bench compares them)")
    parser.add_argument("--no-harm-check", dest="no_harm", action=argparse.BooleanOptionalAction, default=True,
                        help="do not paste restored faces that contradict the photo (consistency check at the face's "
                        "own resolution); they keep the upscaled original (default: on)")
    parser.add_argument("--portrait-faces", type=int, default=4, metavar="N",
                        help="with -m auto, a photo with at most N faces is a portrait: its faces from ~56 px get the "
                        "slower HD restorer (0: never; default: 4)")
    parser.add_argument("--overwrite", action="store_true", help="redo photos whose outputs already exist")
    parser.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality (default: 95)")


def settings_from(args: argparse.Namespace) -> Any:
    """The one RestoreSettings of this run, from the flags (raises ValueError naming the bad flag's value)."""
    from engine.settings import RestoreSettings

    return RestoreSettings(scale=args.upscale, detector=args.detector, detector_model=args.detector_model,
                           only_center_face=args.only_center_face, aligned=args.aligned, blend=args.blend,
                           tta=args.tta, precision=args.precision, color_match=not args.no_color_match,
                           mask=args.mask, no_harm=getattr(args, "no_harm", True),
                           portrait_faces=getattr(args, "portrait_faces", 4))


FLAG_OF = {"scale": "--upscale", "blend": "--blend", "precision": "--precision", "mask": "--mask",
           "portrait_faces": "--portrait-faces"}


def check_options(args: argparse.Namespace) -> str | None:
    """Every option checked before any model loads; returns the error message, None when all are usable."""
    from engine.naming import NamingError, check_suffix

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


def _say(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine import zoo
    from engine.batch import (DISK_FULL, InputError, check_output_folder, clean_leftovers, describe_error,
                              is_face_line_note, list_inputs, made_from, model_for_weights, model_notes,
                              output_suffixes, plan_run, process_photo, summarize_notes)
    from engine.faces.detect import DetectorModelMissing, DetectorUnavailable, get_detector
    from engine.restore import load_models

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
            ValueError, RuntimeError, zoo.UnknownModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from engine.io import READ_SUFFIXES
    from engine.naming import NamingError, already_done

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
        path = plan.source
        bar.set_postfix_str(path.name[-30:])
        if not args.overwrite and already_done(plan, made_from):
            skipped += 1
            continue
        try:
            report, seconds, notes = process_photo(plan, models, output, settings, inputs,
                                                   with_faces=args.save_faces, with_priors=args.save_priors,
                                                   quality=args.quality)
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
