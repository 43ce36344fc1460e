"""Build a training dataset from a folder of photos: detect, crop, 68 landmarks, parsing maps, filters, train/val split.

Re-running on the same folder reuses the cached detections and rewrites only what changed. ``--aligned`` takes the
images as already-cropped faces; ``--landmarks CSV`` (file,x0,y0,...,x67,y67 in image pixels, the faces128 format)
skips landmark detection. The result trains with ``fsr-studio train --data DATASET_DIR`` (its val/ is the default val
set). The work is trainer.prepare; this module is its command line.
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("photos", help="folder of photos (searched recursively)")
    a("-o", "--output", required=True, help="dataset folder to create or update")
    a("--size", type=int, default=128, help="crop side: 128 (x8 models, coarse crop) or 512 (SPARNetHD, FFHQ crop)")
    a("--protocol", choices=["coarse", "ffhq"], help="crop protocol (default: ffhq at 512, else coarse)")
    a("--aligned", action="store_true", help="the images already are face crops")
    a("--landmarks", help="CSV with 68 landmarks per image (file,x0,y0,...,x67,y67), skips detection")
    a("--min-face", dest="min_face", type=int, help="drop faces whose crop region is smaller (px; default size/2)")
    a("--max-face", dest="max_face", type=int,
      help="drop faces whose crop region is larger (px): to collect real low-resolution faces, e.g. with --size 16")
    a("--blur-threshold", dest="blur_threshold", type=float, default=25.0,
      help="drop faces whose Laplacian variance at 128 px is lower (default 25; bicubic x4 upscales ~20)")
    a("--dup-distance", dest="dup_distance", type=int, default=4,
      help="perceptual-hash Hamming distance counted as duplicate (default 4 of 64 bits)")
    a("--val-fraction", dest="val_fraction", type=float, default=0.1, help="share of photos held out (default 0.1)")
    a("--largest-only", dest="largest_only", action="store_true", help="keep only the largest face of each photo")
    a("--detector", default="dlib", help="face detector back end (dlib, insightface, yunet)")
    a("--detector-model", dest="detector_model", help="model file of an optional detector back end")
    a("--min-score", dest="min_score", type=float, help="drop detections scoring lower")
    a("--events", help="write JSON-lines events (progress, finished, error) to FILE or '-' for stdout")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from trainer.data import DataError
    from trainer.events import Events, say
    from trainer.prepare import PrepareOptions, prepare, summary

    events = Events(args.events)
    opts = PrepareOptions(size=args.size, protocol=args.protocol, aligned=args.aligned, landmarks=args.landmarks,
                          min_face=args.min_face, max_face=args.max_face, blur_threshold=args.blur_threshold,
                          dup_distance=args.dup_distance,
                          val_fraction=args.val_fraction, largest_only=args.largest_only, detector=args.detector,
                          detector_model=args.detector_model, min_score=args.min_score)
    bar = None

    def progress(i: int, n: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=n, desc="prepare", unit="photo", file=sys.stderr, mininterval=1.0)
            events.emit("start", command="prepare", photos=n, output=args.output)
        bar.update(i - bar.n)
        if i % 50 == 0:
            events.emit("progress", done=i, total=n)

    try:
        manifest = prepare(args.photos, args.output, opts, progress, log=say)
    except (DataError, OSError) as exc:
        events.emit("error", message=str(exc))
        say(f"error: {exc}")
        return 2
    except Exception as exc:  # noqa: BLE001  (detector back ends raise their own types)
        events.emit("error", message=f"{type(exc).__name__}: {exc}")
        say(f"error: {type(exc).__name__}: {exc}")
        return 1
    finally:
        if bar is not None:
            bar.close()
    say(summary(manifest))
    events.emit("finished", output=args.output, counts=manifest["counts"])
    events.close()
    if manifest["counts"]["kept"] == 0:
        say("error: no usable face was found")
        return 2
    return 0
