"""Evaluation on a folder of aligned face pairs, with the seed papers' metrics.

Folder layout (as ../shared/data/celeba_val128): ``HR/`` (required), ``LR_x8/`` (optional: synthesised with the PIL
bicubic protocol when absent), ``landmarks68.csv`` (optional, HR coordinates), ``identities.csv`` (optional).

Per model: PSNR-Y and SSIM-Y (engine.metrics conventions); landmark NRMSE of the restored faces (68 points found by
the independent dlib predictor on the output, against the HR landmarks, normalised by inter-ocular distance);
identity cosine similarity to the HR face (dlib's face-recognition embedding); FSRNet's own prior-branch landmark
error; seconds per face. Bicubic is always the baseline row.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import metrics, zoo
from .degrade import pil_resize
from .infer import infer_faces
from .io import IMAGE_SUFFIXES


@dataclass
class EvalSet:
    names: list[str]
    hr: list[np.ndarray]  # uint8 RGB, all the same size
    lr: list[np.ndarray]  # uint8 RGB, hr size / 8
    landmarks: np.ndarray | None  # N x 68 x 2 in HR pixels
    lr_synthesised: bool


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def read_landmarks_csv(path: Path) -> dict[str, np.ndarray]:
    """`file,x0,y0,...,x67,y67` rows -> {file stem: 68 x 2}."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if not row or row[0] == "file":
                continue
            out[Path(row[0]).stem] = np.asarray(row[1:137], np.float64).reshape(68, 2)
    return out


def load_eval_set(folder: str | Path, limit: int | None = None, scale: int = 8) -> EvalSet:
    folder = Path(folder)
    hr_dir, lr_dir = folder / "HR", folder / f"LR_x{scale}"
    if not hr_dir.is_dir():
        raise FileNotFoundError(f"{folder}: expected an HR/ folder of high-resolution faces")
    files = sorted(p for p in hr_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not files:
        raise FileNotFoundError(f"{hr_dir}: no images")
    hr = [_read_rgb(p) for p in files]
    synthesised = not lr_dir.is_dir()
    if synthesised:
        lr = [pil_resize(h, h.shape[0] // scale) for h in hr]
    else:
        lr = [_read_rgb(next(lr_dir.glob(p.stem + ".*"))) for p in files]
    marks = read_landmarks_csv(folder / "landmarks68.csv") if (folder / "landmarks68.csv").is_file() else None
    landmarks = np.stack([marks[p.stem] for p in files]) if marks and all(p.stem in marks for p in files) else None
    return EvalSet([p.stem for p in files], hr, lr, landmarks, synthesised)


class FaceJudge:
    """dlib's 68-point predictor and face-recognition embedding, independent of every model under test."""

    def __init__(self) -> None:
        import dlib

        from .faces.detect import dlib_models_dir

        folder = dlib_models_dir()
        self._dlib = dlib
        self.predictor = dlib.shape_predictor(str(folder / "shape_predictor_68_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))

    def _rect(self, size: int, box: Sequence[float] | None = None) -> Any:
        """The face box the predictor starts from: `box` (x0, y0, x1, y1), else the coarse crop's landmark box (the
        crop is 1.25x the landmark box around its centre: the central 80%)."""
        if box is not None:
            return self._dlib.rectangle(*(int(round(v)) for v in box))
        m = size * 0.1
        return self._dlib.rectangle(int(m), int(m), int(size - m), int(size - m))

    def landmarks(self, image: np.ndarray, box: Sequence[float] | None = None) -> np.ndarray:
        shape = self.predictor(np.ascontiguousarray(image), self._rect(image.shape[0], box))
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)

    def embedding(self, image: np.ndarray, box: Sequence[float] | None = None) -> np.ndarray:
        image = np.ascontiguousarray(image)
        shape = self.predictor(image, self._rect(image.shape[0], box))
        return np.asarray(self.encoder.compute_face_descriptor(image, shape))


def score_outputs(outputs: Sequence[np.ndarray], data: EvalSet, judge: FaceJudge | None,
                  hr_embeddings: Sequence[np.ndarray] | None = None) -> dict[str, float]:
    """PSNR/SSIM-Y, and with a judge the landmark NRMSE and identity similarity (HR embeddings computed once)."""
    row = {"psnr_y": float(np.mean([metrics.psnr_y(o, h) for o, h in zip(outputs, data.hr)])),
           "ssim_y": float(np.mean([metrics.ssim_y(o, h) for o, h in zip(outputs, data.hr)]))}
    if judge is not None:
        if data.landmarks is not None:
            pred = np.stack([judge.landmarks(o) for o in outputs])
            row["nrmse"] = metrics.landmark_nrmse(pred, data.landmarks)
        hr_embeddings = hr_embeddings if hr_embeddings is not None else [judge.embedding(h) for h in data.hr]
        row["identity"] = float(np.mean([metrics.cosine_similarity(judge.embedding(o), e)
                                         for o, e in zip(outputs, hr_embeddings)]))
    return row


def prior_nrmse(maps: dict[str, np.ndarray], data: EvalSet, name: str) -> float | None:
    """Landmark error of FSRNet's own prior branch (heatmap peaks) against the HR landmarks."""
    if "priors" not in maps or data.landmarks is None:
        return None
    import torch

    from .models.fsrnet import heatmap_peaks, split_priors

    heat, _ = split_priors(maps["priors"], zoo.variant(name).config)
    pts = heatmap_peaks(torch.from_numpy(heat), data.hr[0].shape[0]).numpy()
    return metrics.landmark_nrmse(pts, data.landmarks)


def evaluate(models: Sequence[str | tuple[str, Any]], data: EvalSet, *, tta: bool = False, judge: bool = True,
             runtime: str = "torch", mode: str = "auto", device: Any = None,
             log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Metrics per model (plus the bicubic baseline), in the JSON schema of `fsr-studio eval`."""
    judge_obj = FaceJudge() if judge else None
    hr_embeddings = [judge_obj.embedding(h) for h in data.hr] if judge_obj else None
    size = data.hr[0].shape[0]
    results: dict[str, Any] = {}
    bicubic = [pil_resize(lr, size) for lr in data.lr]
    results["bicubic"] = {**score_outputs(bicubic, data, judge_obj, hr_embeddings), "sec_per_face": 0.0}
    log(f"bicubic: {results['bicubic']}")
    for spec in models:
        name, model = spec if isinstance(spec, tuple) else (spec, zoo.load_runtime(spec, runtime, device=device))
        label = name + ("+tta" if tta else "")
        inf = infer_faces(name, model, data.lr, tta=tta, mode=mode, device=device)
        row = {**score_outputs(list(inf.images), data, judge_obj, hr_embeddings),
               "sec_per_face": inf.seconds / len(data.lr),
               "mode": inf.mode}
        prior = prior_nrmse(inf.maps, data, name)
        if prior is not None:
            row["prior_nrmse"] = prior
        results[label] = row
        log(f"{label}: {row}")
    return results


def to_markdown(report: dict[str, Any]) -> str:
    cols = ["psnr_y", "ssim_y", "nrmse", "identity", "prior_nrmse", "sec_per_face"]
    lines = [f"{report['dataset']} (n = {report['n']})", "",
             "| model | PSNR-Y | SSIM-Y | landmark NRMSE | identity cos | prior NRMSE | s/face |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    fmt = {"psnr_y": "{:.2f}", "ssim_y": "{:.4f}", "nrmse": "{:.4f}", "identity": "{:.4f}",
           "prior_nrmse": "{:.4f}", "sec_per_face": "{:.3f}"}
    for name, row in report["models"].items():
        cells = [fmt[c].format(row[c]) if row.get(c) is not None else "-" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


PLOTS_MISSING = 'plots need matplotlib, which is not installed: pip install "fsr-studio[plots]"'


class PlotsUnavailable(RuntimeError):
    """matplotlib (the `plots` extra, needed only to draw plots) is not installed; the message says what to install."""


def plots_missing() -> str | None:
    """Why plots cannot be drawn in this installation, None when they can (checked without importing matplotlib)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        found = False
    return None if found else PLOTS_MISSING


def pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg back end; PlotsUnavailable without matplotlib."""
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotsUnavailable(PLOTS_MISSING) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(report: dict[str, Any], path: str | Path) -> Path:
    """PSNR-Y bars and a PSNR/identity scatter, written as PNG (matplotlib, headless)."""
    plt = pyplot()
    names = list(report["models"])
    psnr = [report["models"][n]["psnr_y"] for n in names]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].bar(names, psnr, color="#4a7ab5")
    axes[0].set_ylabel("PSNR-Y (dB)")
    axes[0].set_ylim(min(psnr) - 1, max(psnr) + 0.5)
    axes[0].tick_params(axis="x", rotation=30)
    ident = [report["models"][n].get("identity") for n in names]
    if all(i is not None for i in ident):
        axes[1].scatter(psnr, ident)
        for n, x, y in zip(names, psnr, ident):
            axes[1].annotate(n, (x, y))
        axes[1].set_xlabel("PSNR-Y (dB)")
        axes[1].set_ylabel("identity cosine similarity")
    fig.suptitle(f"{report['dataset']} (n = {report['n']})")
    return save_figure(fig, path)


def save_figure(fig: Any, path: str | Path) -> Path:
    """Lay out, write as PNG (creating the folder) and close a matplotlib figure."""
    plt = pyplot()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
