"""Pipeline benchmark (not a test): detection recall per back end, and seconds per face/photo and peak memory per
model for the whole photo pipeline (read, detect, align, restore, paste) on this machine.

    python -m engine.bench_pipeline                       # every restore variant, Solvay + crowd_1
    python -m engine.bench_pipeline --models fsrnet,sparnet --json bench_out/pipeline.json
    python -m engine.bench_pipeline --models auto --photos solvay_conference_1927.jpg --skip-detection

Detection: each back end on the Solvay 1927 photo (29 faces) and the crowd photo. There are no ground-truth boxes, so a
face counts as found when it matches (eye centres within half the inter-ocular distance) a face that at least two back
ends agree on; on Solvay that consensus has all 29 faces. Optional back ends whose model file is absent are reported
as skipped.

Restoration: every model runs with random weights (speed does not depend on them) in its own subprocess, so the peak
resident memory reported is that model's pipeline alone. 512 px (SPARNetHD) variants restore only `--hd-faces` faces
per photo; their per-photo time is extrapolated from the per-face time and marked so.

`auto` (a model per face by its size, engine.auto) is measured with the weights it finds (user models folder, then
the bundled ones), as a user runs it, with the no-harm check on: cold (the first ``restore_photo`` of the process,
loading its candidates included) and warm (the same photo again with the models already loaded). Its rows say how many
faces each candidate restored and how many kept the upscaled original (no weights for their size, or the no-harm
check); with no weights for a size band, those faces cost nothing but the paste.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_PHOTOS = ("solvay_conference_1927.jpg", "crowd_1.jpg")
DETECTOR_FILES = {"dlib": None, "insightface": "scrfd_500m_kps.onnx", "yunet": "yunet_n_dynamic.onnx"}
SOLVAY_FACES = 29


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


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def photo_path(name: str) -> Path:
    p = Path(name)
    return p if p.is_file() else SHARED / "photos" / name


# ----- detection ----------------------------------------------------------------------------------------------------
def detection_table(photos: list[Path], model_dir: Path) -> list[dict[str, Any]]:
    from .faces.detect import detect_faces, get_detector
    from .io import read_image

    rows = []
    for photo in photos:
        rgb = read_image(photo).rgb8()
        found: dict[str, list] = {}
        for backend, file in DETECTOR_FILES.items():
            model = None if file is None else model_dir / file
            try:
                get_detector(backend, model)
            except Exception as exc:  # noqa: BLE001 - a missing/broken optional back end is reported
                rows.append({"photo": photo.name, "backend": backend, "skipped": str(exc)[:200]})
                continue
            detect_faces(rgb[:64, :64], backend, model)  # warm-up (session creation, caches)
            t0 = time.perf_counter()
            faces = detect_faces(rgb, backend, model)
            found[backend] = faces
            rows.append({"photo": photo.name, "backend": backend, "faces": len(faces),
                         "seconds": round(time.perf_counter() - t0, 3)})
        consensus = _consensus(found)
        for row in rows:
            if row["photo"] == photo.name and "faces" in row:
                matched = sum(1 for c in consensus if _matches(c, found[row["backend"]]))
                row["consensus_faces"] = len(consensus)
                row["matched"] = matched
                row["recall"] = round(matched / max(1, len(consensus)), 3)
                if photo.name.startswith("solvay"):
                    row["recall_of_29"] = round(matched / SOLVAY_FACES, 3)
    return rows


def _eyes(face) -> tuple[Any, float]:
    import numpy as np

    centre = face.landmarks5[:2].mean(0)
    return centre, float(max(np.linalg.norm(face.landmarks5[1] - face.landmarks5[0]), 2.0))


def _matches(face, candidates) -> bool:
    import numpy as np

    centre, iod = _eyes(face)
    return any(np.linalg.norm(_eyes(c)[0] - centre) < 0.5 * iod for c in candidates)


def _consensus(found: dict[str, list]) -> list:
    """Faces found by at least two back ends (one representative each)."""
    reps: list = []
    names = list(found)
    for name in names:
        for face in found[name]:
            votes = 1 + sum(_matches(face, found[other]) for other in names if other != name)
            if votes >= min(2, len(names)) and not _matches(face, reps):
                reps.append(face)
    return reps


# ----- restoration --------------------------------------------------------------------------------------------------
def measure_restore(model_name: str, photo: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Runs inside a child process: restore one photo with one random-weight model and report times and memory."""
    import torch

    from . import zoo
    from .faces.detect import detect_faces
    from .io import read_image
    from .restore import compose_photo, restore_faces

    if args.threads:
        torch.set_num_threads(args.threads)
    base = _peak_rss_mb()
    variant = zoo.variant(model_name)
    torch.manual_seed(0)
    module = variant.build().eval()
    t0 = time.perf_counter()
    image = read_image(photo)
    t_read = time.perf_counter() - t0
    detector_model = None if DETECTOR_FILES.get(args.detector) is None else \
        args.detector_models / DETECTOR_FILES[args.detector]
    t0 = time.perf_counter()
    detections = detect_faces(image.pixels, args.detector, detector_model)
    t_detect = time.perf_counter() - t0
    hd = variant.lr_size > 64
    chosen = detections[: args.hd_faces] if hd else detections
    t0 = time.perf_counter()
    faces = restore_faces(image.pixels, chosen, [(model_name, module)], precision=args.precision)
    t_restore = time.perf_counter() - t0
    t0 = time.perf_counter()
    compose_photo(image.pixels, faces, model_name, args.scale, alpha=image.alpha)
    t_paste = time.perf_counter() - t0
    restored = sum(1 for f in faces if not f.skipped)
    per_face = t_restore / max(1, restored)
    extrapolated = hd and len(detections) > len(chosen)
    restore_all = per_face * sum(1 for _ in detections) if extrapolated else t_restore
    return {"model": model_name, "photo": photo.name, "faces_detected": len(detections), "faces_restored": restored,
            "read_s": round(t_read, 3), "detect_s": round(t_detect, 3), "restore_s": round(t_restore, 3),
            "paste_s": round(t_paste, 3), "s_per_face": round(per_face, 3),
            "s_per_photo": round(t_read + t_detect + restore_all + t_paste, 2), "extrapolated": extrapolated,
            "peak_rss_mb": round(_peak_rss_mb(), 1), "model_rss_mb": round(_peak_rss_mb() - base, 1),
            "parameters": zoo.parameter_count(module), "threads": torch.get_num_threads(),
            "precision": args.precision}


def measure_auto(photo: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Runs inside a child process: `auto` with the weights it finds, no-harm check on; cold, then warm."""
    from collections import Counter

    import torch

    from .auto import AUTO
    from .restore import load_models, restore_photo
    from .settings import RestoreSettings

    if args.threads:
        torch.set_num_threads(args.threads)
    base = _peak_rss_mb()
    detector_model = None if DETECTOR_FILES.get(args.detector) is None else \
        args.detector_models / DETECTOR_FILES[args.detector]
    settings = RestoreSettings(scale=args.scale, detector=args.detector, detector_model=detector_model,
                               precision=args.precision, no_harm=True)
    t0 = time.perf_counter()
    models = load_models([AUTO])
    t_load = time.perf_counter() - t0
    cold = restore_photo(photo, models, settings=settings)
    t_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = restore_photo(photo, models, settings=settings)
    t_warm = time.perf_counter() - t0
    faces = warm.faces
    picks = Counter(f.chosen[AUTO] if f.pasted(AUTO) else
                    ("original (no-harm check)" if AUTO in f.outputs else "original (no weights for its size)")
                    for f in faces)
    restored = sum(1 for f in faces if f.pasted(AUTO))
    restore_s = warm.timings.get(f"restore:{AUTO}", 0.0)
    return {"model": AUTO, "photo": photo.name, "faces_detected": len(faces), "faces_restored": restored,
            "candidates": list(models[0].candidates), "picks": dict(picks),
            "faces_kept_by_no_harm_check": sum(1 for f in faces if AUTO in f.outputs and not f.pasted(AUTO)),
            "load_s": round(t_load, 3), "cold_s": round(t_cold, 2), "warm_s": round(t_warm, 2),
            "cold_timings": {k: round(v, 3) for k, v in cold.timings.items()},
            "warm_timings": {k: round(v, 3) for k, v in warm.timings.items()},
            "detect_s": round(warm.timings.get("detect", 0.0), 3),
            "s_per_face": round(restore_s / restored, 3) if restored else 0.0, "s_per_photo": round(t_warm, 2),
            "extrapolated": False, "peak_rss_mb": round(_peak_rss_mb(), 1),
            "model_rss_mb": round(_peak_rss_mb() - base, 1), "threads": torch.get_num_threads(),
            "precision": args.precision, "no_harm_check": True}


def restore_table(models: list[str], photos: list[Path], args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for model in models:
        for photo in photos:
            cmd = [sys.executable, "-m", "engine.bench_pipeline", "--one", f"{model}|{photo}",
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.bench_pipeline", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.one:
        model, photo = args.one.split("|", 1)
        row = measure_auto(Path(photo), args) if model == "auto" else measure_restore(model, Path(photo), args)
        print(json.dumps(row))
        return 0
    from . import zoo

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
        from .util import atomic_write

        atomic_write(args.json, (text + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
