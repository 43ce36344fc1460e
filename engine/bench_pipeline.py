"""Pipeline benchmark (not a test): detection recall per back end, and seconds per face/photo and peak memory per
model for the whole photo pipeline (read, detect, align, restore, paste) on this machine.

This module measures; the command that runs it is `fsr-studio bench-pipeline` (app/commands/bench_pipeline.py):

    fsr-studio bench-pipeline                       # every restore variant, Solvay + crowd_1
    fsr-studio bench-pipeline --models fsrnet,sparnet --json bench_out/pipeline.json
    fsr-studio bench-pipeline --models auto --photos solvay_conference_1927.jpg --skip-detection

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

import time
from pathlib import Path
from typing import Any

from .bench import peak_rss_mb

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_PHOTOS = ("solvay_conference_1927.jpg", "crowd_1.jpg")
DETECTOR_FILES = {"dlib": None, "insightface": "scrfd_500m_kps.onnx", "yunet": "yunet_n_dynamic.onnx"}
SOLVAY_FACES = 29


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
def detector_model_for(detector: str, detector_models: Path) -> Path | None:
    """The model file of `detector` in the folder of optional detectors' files (None for dlib)."""
    return None if DETECTOR_FILES.get(detector) is None else detector_models / DETECTOR_FILES[detector]


def measure_restore(model_name: str, photo: Path, *, detector: str = "dlib", detector_models: Path = SHARED / "models",
                    scale: float = 2.0, hd_faces: int = 3, precision: str = "auto",
                    threads: int = 0) -> dict[str, Any]:
    """Restore one photo with one random-weight model and report times and memory; run it in a process of its own
    (the peak memory is the process's)."""
    import torch

    from . import zoo
    from .faces.detect import detect_faces
    from .io import read_image
    from .restore import compose_photo, restore_faces

    if threads:
        torch.set_num_threads(threads)
    base = peak_rss_mb()
    variant = zoo.variant(model_name)
    torch.manual_seed(0)
    module = variant.build().eval()
    t0 = time.perf_counter()
    image = read_image(photo)
    t_read = time.perf_counter() - t0
    detector_model = detector_model_for(detector, detector_models)
    t0 = time.perf_counter()
    detections = detect_faces(image.pixels, detector, detector_model)
    t_detect = time.perf_counter() - t0
    hd = variant.lr_size > 64
    chosen = detections[:hd_faces] if hd else detections
    t0 = time.perf_counter()
    faces = restore_faces(image.pixels, chosen, [(model_name, module)], precision=precision)
    t_restore = time.perf_counter() - t0
    t0 = time.perf_counter()
    compose_photo(image.pixels, faces, model_name, scale, alpha=image.alpha)
    t_paste = time.perf_counter() - t0
    restored = sum(1 for f in faces if not f.skipped)
    per_face = t_restore / max(1, restored)
    extrapolated = hd and len(detections) > len(chosen)
    restore_all = per_face * sum(1 for _ in detections) if extrapolated else t_restore
    return {"model": model_name, "photo": photo.name, "faces_detected": len(detections), "faces_restored": restored,
            "read_s": round(t_read, 3), "detect_s": round(t_detect, 3), "restore_s": round(t_restore, 3),
            "paste_s": round(t_paste, 3), "s_per_face": round(per_face, 3),
            "s_per_photo": round(t_read + t_detect + restore_all + t_paste, 2), "extrapolated": extrapolated,
            "peak_rss_mb": round(peak_rss_mb(), 1), "model_rss_mb": round(peak_rss_mb() - base, 1),
            "parameters": zoo.parameter_count(module), "threads": torch.get_num_threads(),
            "precision": precision}


def measure_auto(photo: Path, *, detector: str = "dlib", detector_models: Path = SHARED / "models",
                 scale: float = 2.0, precision: str = "auto", threads: int = 0) -> dict[str, Any]:
    """`auto` with the weights it finds, no-harm check on; cold, then warm. Run it in a process of its own."""
    from collections import Counter

    import torch

    from .auto import AUTO
    from .restore import load_models, restore_photo
    from .settings import RestoreSettings

    if threads:
        torch.set_num_threads(threads)
    base = peak_rss_mb()
    detector_model = detector_model_for(detector, detector_models)
    settings = RestoreSettings(scale=scale, detector=detector, detector_model=detector_model,
                               precision=precision, no_harm=True)
    t0 = time.perf_counter()
    models = load_models([AUTO])
    t_load = time.perf_counter() - t0
    cold = restore_photo(photo, models, settings=settings)
    t_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = restore_photo(photo, models, settings=settings)
    t_warm = time.perf_counter() - t0
    faces = warm.faces
    picks = Counter(f.made_by(AUTO) if f.pasted(AUTO) else
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
            "extrapolated": False, "peak_rss_mb": round(peak_rss_mb(), 1),
            "model_rss_mb": round(peak_rss_mb() - base, 1), "threads": torch.get_num_threads(),
            "precision": precision, "no_harm_check": True}
