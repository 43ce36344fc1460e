"""Evaluate models on a folder of face pairs: PSNR/SSIM-Y, landmark NRMSE, identity similarity, speed.

With --face-sizes it runs the face-size benchmark instead (engine.face_bench): every face shrunk to each size as a
photo holds it, restored through the photo pipeline, against Lanczos and bicubic upscaling of the same photo.
--plot needs matplotlib (the `plots` extra); without it the command says so before evaluating anything.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--models", required=True, help="comma-separated variants, e.g. fsrnet,sparnet")
    parser.add_argument("--data", required=True, type=Path, help="folder with HR/ (and optionally LR_x8/, "
                        "landmarks68.csv), laid out like celeba_val128")
    parser.add_argument("--limit", type=int, help="only the first N faces")
    parser.add_argument("--tta", action="store_true", help="also report each model with 8-fold test-time augmentation")
    parser.add_argument("--runtime", choices=["torch", "onnx"], default="torch")
    parser.add_argument("--mode", default="auto", help="precision: auto (measured), or one inference path: fp32, "
                        "channels_last, bf16, fp16 (CUDA), onnxruntime, openvino, ... (fsr-studio bench lists them)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-judge", action="store_true", help="skip the dlib landmark/identity metrics")
    parser.add_argument("--json", type=Path, help="write the report as JSON")
    parser.add_argument("--markdown", type=Path, help="write a markdown table")
    parser.add_argument("--plot", type=Path, help="write a PNG plot (needs matplotlib: the plots extra)")
    parser.add_argument("--face-sizes", dest="face_sizes",
                        help="face-size benchmark at these sizes in px, e.g. 12,16,24,32,48,64,96,128 (models may "
                        "include 'auto'; sizes above the data's HR size are skipped)")
    parser.add_argument("--tail", type=int, help="face-size benchmark: only the last N faces by name (a held-out "
                        "split, e.g. --tail 200 for ffhq256's validation faces), before --limit")
    parser.add_argument("--update", action="store_true",
                        help="face-size benchmark: add these models' rows to the --json report (same faces, sizes "
                        "and options; rerun only the weights that changed), then write every output from the merge")
    parser.add_argument("--drop", default="", metavar="MODELS",
                        help="with --update: also remove these models' rows (weights no longer shipped)")
    parser.add_argument("--photo-faces", type=int, default=1, metavar="N",
                        help="face-size benchmark: how many faces each face's photo counts as for auto's portrait "
                        "rule (default 1: a photo per face; e.g. 28 measures what a group photo gets)")
    parser.add_argument("--face-degradation", default="bench", metavar="NAME",
                        help="face-size benchmark: how each face is damaged at its size: bench (the benchmark's "
                        "recipe, every README table) or photo (the training family's widest recipe: motion and "
                        "defocus blur, grain, colour noise, JPEG down to q30, sometimes twice)")
    parser.add_argument("--no-harm-check", dest="no_harm", action=argparse.BooleanOptionalAction, default=True,
                        help="face-size benchmark: leave out outputs that fail the consistency check (default on)")


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise ValueError(f"--face-sizes: expected comma-separated whole pixel sizes, got {text!r}") from None
    if not sizes or sizes[0] < 4:
        raise ValueError(f"--face-sizes: sizes must be at least 4 px, got {text!r}")
    return sizes


def earlier_report(path: Path | None) -> dict:
    """The report --update adds rows to."""
    if path is None or not path.is_file():
        raise ValueError("--update: needs --json naming an existing report of the same faces and sizes")
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"--update: {path} is not a readable report ({exc})") from None
    if not isinstance(report, dict) or not {"sizes", "models", "choices"} <= set(report):
        raise ValueError(f"--update: {path} is not a face-size report")
    return report


def run_face_sizes(args: argparse.Namespace) -> int:
    from engine import face_bench, zoo

    try:
        sizes = parse_sizes(args.face_sizes)
        old = earlier_report(args.json) if args.update else None  # checked before the long run
        dropped = [m.strip() for m in getattr(args, "drop", "").split(",") if m.strip()]
        if dropped and old is None:
            raise ValueError("--drop works with --update (it removes rows from an existing report)")
        if dropped:
            old = face_bench.drop(old, dropped)  # checked before the long run too
        faces = face_bench.load_faces(args.data, args.limit, args.tail)
        names = [m.strip() for m in args.models.split(",") if m.strip()]
        report = face_bench.run(faces, names, sizes, judge=not args.no_judge, device=args.device,
                                precision=args.mode, no_harm=args.no_harm, photo_faces=args.photo_faces,
                                degradation=args.face_degradation, log=print)
        report["selection"] = (f"last {args.tail} faces by name" if args.tail else "all faces") + (
            f", first {args.limit} of those" if args.limit else "")
        if old is not None:
            report = face_bench.merge(old, report)
    except (FileNotFoundError, zoo.UnknownModelError, zoo.CheckpointError, ValueError) as exc:
        print(f"error: {exc}")
        return 1
    return write_outputs(args, report, face_bench.to_markdown(report), lambda path: face_bench.plot([report], path))


def write_outputs(args: argparse.Namespace, report: dict, markdown: str, plot: Callable[[Path], Any]) -> int:
    """Print the markdown; write the JSON, markdown and plot the flags ask for (both kinds of evaluation)."""
    from engine.util import atomic_write

    print(markdown)
    if args.json:
        atomic_write(args.json, (json.dumps(report, indent=2) + "\n").encode())
    if args.markdown:
        atomic_write(args.markdown, markdown.encode())
    if args.plot:
        plot(args.plot)
    return 0


def run(args: argparse.Namespace) -> int:
    from engine import zoo
    from engine.evaluate import evaluate, load_eval_set, plot, plots_missing, to_markdown

    if args.plot and plots_missing():
        print(f"error: --plot: {plots_missing()}")
        return 2
    if args.face_sizes:
        return run_face_sizes(args)
    try:
        data = load_eval_set(args.data, args.limit)
        names = [m.strip() for m in args.models.split(",") if m.strip()]
        models = [(n, zoo.load_runtime(n, args.runtime, device=args.device)) for n in names]
    except (FileNotFoundError, zoo.UnknownModelError, zoo.CheckpointError, ValueError) as exc:
        print(f"error: {exc}")
        return 1
    kwargs = dict(runtime=args.runtime, mode=args.mode, device=args.device, judge=not args.no_judge, log=print)
    results = evaluate(models, data, **kwargs)
    if args.tta:
        tta = evaluate(models, data, tta=True, **kwargs)
        results.update({k: v for k, v in tta.items() if k != "bicubic"})
    report = {"dataset": str(args.data), "n": len(data.names), "lr_synthesised": data.lr_synthesised,
              "models": results}
    return write_outputs(args, report, to_markdown(report), lambda path: plot(report, path))
