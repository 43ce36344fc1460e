"""Pipeline benchmark (not a test): detection recall per back end, and seconds per face/photo and peak memory per
model for the whole photo pipeline (read, detect, align, restore, paste) on this machine.

    fsr-studio bench-pipeline                       # every restore variant, Solvay + crowd_1
    fsr-studio bench-pipeline --models fsrnet,sparnet --json bench_out/pipeline.json
    fsr-studio bench-pipeline --models auto --photos solvay_conference_1927.jpg --skip-detection

Each model and photo is measured in a process of its own (this command with the internal --one), so the peak memory
reported is that model's pipeline alone; what is measured, and how, is engine.bench_pipeline.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.commands import self_command
from engine.bench_pipeline import DEFAULT_PHOTOS, SHARED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="all",
                        help="comma-separated restore variants and/or auto (default: all = every variant and auto)")
    parser.add_argument("--photos", default=",".join(DEFAULT_PHOTOS),
                        help="photo files, or names in ../shared/data/photos")
    parser.add_argument("--detector", default="dlib", help="detector for the restoration runs (default: dlib)")
    parser.add_argument("--detector-models", type=Path, default=SHARED / "models",
                        help="folder with the optional detectors' ONNX files")
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--hd-faces", type=int, default=3, help="faces restored per photo by 512 px variants")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--skip-restore", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: "model|photo" measured in a child process


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {"detector": args.detector, "detector_models": args.detector_models, "scale": args.scale,
            "precision": args.precision, "threads": args.threads}


def restore_table(models: list[str], photos: list[Path], args: argparse.Namespace) -> list[dict[str, Any]]:
    from engine.bench_pipeline import REPO

    rows = []
    for model in models:
        for photo in photos:
            cmd = [*self_command(), "bench-pipeline", "--one", f"{model}|{photo}",
                   "--detector", args.detector, "--detector-models", str(args.detector_models),
                   "--scale", str(args.scale), "--hd-faces", str(args.hd_faces), "--precision", args.precision,
                   "--threads", str(args.threads)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            if proc.returncode or not lines:
                rows.append({"model": model, "photo": photo.name, "error": (proc.stderr or proc.stdout)[-400:]})
            else:
                rows.append(json.loads(lines[-1]))
            _print_restore_row(rows[-1])
    return rows


def _print_auto_row(r: dict[str, Any]) -> None:
    if "error" in r:
        return
    picks = ", ".join(f"{k} {v}" for k, v in sorted(r["picks"].items())) or "no faces"
    print(f"{'':<16} {'':<28} auto cold {r['cold_s']:.1f} s (models {r['load_s']:.1f} s), warm {r['warm_s']:.1f} s; "
          f"weights: {', '.join(r['candidates']) or 'none'}; faces: {picks}", flush=True)


def _print_restore_row(r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"{r['model']:<16} {r['photo']:<28} ERROR {r['error'].strip().splitlines()[-1] if r['error'] else ''}")
        return
    mark = "*" if r["extrapolated"] else " "
    print(f"{r['model']:<16} {r['photo']:<28} {r['faces_restored']:>3}/{r['faces_detected']:<3} "
          f"{r['detect_s']:>7.2f} {r['s_per_face']:>8.3f} {r['s_per_photo']:>9.1f}{mark} {r['peak_rss_mb']:>8.0f}",
          flush=True)
    if r["model"] == "auto":
        _print_auto_row(r)


def run(args: argparse.Namespace) -> int:
    from engine.bench_pipeline import detection_table, measure_auto, measure_restore, photo_path

    if args.one:
        model, photo = args.one.split("|", 1)
        row = measure_auto(Path(photo), **_options(args)) if model == "auto" else \
            measure_restore(model, Path(photo), hd_faces=args.hd_faces, **_options(args))
        print(json.dumps(row))
        return 0
    from engine import zoo

    photos = [photo_path(p) for p in args.photos.split(",") if p]
    missing = [str(p) for p in photos if not p.is_file()]
    if missing:
        print(f"photos not found: {', '.join(missing)} (../shared/data/photos is expected beside the checkout)",
              file=sys.stderr)
        return 1
    models = [*zoo.names("restore"), "auto"] if args.models == "all" else [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m != "auto" and m not in zoo.names("restore")]
    if unknown:
        print(f"unknown models: {', '.join(unknown)} (restore variants: {', '.join(zoo.names('restore'))}, or auto)",
              file=sys.stderr)
        return 2
    report: dict[str, Any] = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                          "load_average": os.getloadavg(), "python": platform.python_version()},
                              "detection": [], "restore": []}
    if not args.skip_detection:
        print("\nDetection (consensus = faces found by >= 2 back ends)")
        print(f"{'photo':<28} {'back end':<12} {'faces':>5} {'matched':>8} {'recall':>7} {'seconds':>8}")
        report["detection"] = detection_table(photos, args.detector_models)
        for r in report["detection"]:
            if "skipped" in r:
                print(f"{r['photo']:<28} {r['backend']:<12} skipped: {r['skipped'][:70]}")
            else:
                print(f"{r['photo']:<28} {r['backend']:<12} {r['faces']:>5} {r['matched']:>4}/{r['consensus_faces']:<3}"
                      f" {r['recall']:>7.3f} {r['seconds']:>8.2f}")
    if not args.skip_restore:
        print(f"\nRestoration, detector {args.detector}, scale x{args.scale} (random weights; * = extrapolated from "
              f"{args.hd_faces} faces; auto: the weights found, no-harm check on, s/photo warm)")
        print(f"{'model':<16} {'photo':<28} {'faces':>7} {'detect_s':>7} {'s/face':>8} {'s/photo':>9}  {'peak MB':>8}")
        report["restore"] = restore_table(models, photos, args)
    report["machine"]["load_average_end"] = os.getloadavg()
    text = json.dumps(report, indent=2)
    print("\n" + text)
    if args.json:
        from engine.util import atomic_write

        atomic_write(args.json, (text + "\n").encode())
    return 0
