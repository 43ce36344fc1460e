"""Face-size benchmark: every face of a dataset shrunk to s px as a photo holds it, restored like a real photo.

For each face and size s (seeded by (face index, s)): HR -> s x s (PIL bicubic, antialiased), blur, noise and JPEG
(engine.degrade.face_size_bench); the face is placed in a photo with a replicate border of s px on every side and its
landmarks scaled with it; the photo goes through the public pipeline (``restore_faces`` -> ``compose_photo``) at
scale HR/s, and the face region of the result is compared with HR. Baselines: the same photo upscaled with Lanczos
(what the pipeline pastes into) and with bicubic interpolation. Faces are laid out side by side in one photo per
chunk, each in its own bordered tile, so the networks see batches as in a crowd photo; the tiles are far enough
apart that no paste or resampling reaches a neighbour's face region. Each face still counts as a photo of its own
(`photo_faces`, default 1) for auto's portrait rule; pass a crowd's count to measure what a group photo gets.
`degradation` "photo" swaps the recipe for the training family's widest one (engine.degrade.FACE_SIZE_DEGRADATIONS):
a check under damage the benchmark never draws, not a second table of record.

The data folder holds HR faces of one crop protocol (directly or in ``HR/``) with ``landmarks68.csv`` beside them
(file, then 68 x,y in HR pixels, no header): 128 px faces are coarse crops (celeba_val128), larger ones FFHQ-aligned
(ffhq256). Sizes above the HR size are skipped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from . import metrics
from .degrade import FACE_SIZE_DEGRADATIONS
from .evaluate import FaceJudge, pyplot, read_landmarks_csv, save_figure
from .io import IMAGE_SUFFIXES

DEFAULT_SIZES = (12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
CHUNK = 24  # faces per benchmark photo


@dataclass
class BenchFaces:
    root: Path
    names: list[str]
    hr: list[np.ndarray]
    landmarks: np.ndarray  # N x 68 x 2, HR pixels

    @property
    def size(self) -> int:
        return int(self.hr[0].shape[0])

    @property
    def protocol(self) -> str:
        return "coarse128" if self.size == 128 else "ffhq"


def load_faces(folder: str | Path, limit: int | None = None, tail: int | None = None) -> BenchFaces:
    """HR faces (square, one size) and their 68 landmarks; FileNotFoundError/ValueError say what is wrong.

    tail: only the last `tail` faces by name (a held-out split such as ffhq256's last 200), then the first `limit`.
    """
    from .io import read_image, to_rgb8

    root = Path(folder)
    hr_dir = root / "HR" if (root / "HR").is_dir() else root
    if not hr_dir.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    csv_path = next((p for p in (hr_dir / "landmarks68.csv", root / "landmarks68.csv") if p.is_file()), None)
    if csv_path is None:
        raise FileNotFoundError(f"{root}: the face-size benchmark needs landmarks68.csv beside the faces")
    marks = read_landmarks_csv(csv_path)
    files = sorted(p for p in hr_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in marks)
    files = (files[-tail:] if tail else files)[:limit]
    if not files:
        raise FileNotFoundError(f"{hr_dir}: no face images listed in {csv_path.name}")
    hr = [to_rgb8(read_image(p).pixels) for p in files]
    if any(h.shape[:2] != (hr[0].shape[0], hr[0].shape[0]) for h in hr):
        raise ValueError(f"{hr_dir}: the faces must be square and of one size")
    return BenchFaces(root, [p.stem for p in files], hr, np.stack([marks[p.stem] for p in files]))


@dataclass
class BenchPhoto:
    """One benchmark photo: faces at `side` px in bordered tiles, their detections and tile origins."""

    image: np.ndarray
    detections: list[Any]
    origins: list[tuple[int, int]]  # top-left of each face (photo pixels)
    indices: list[int]  # face indices into BenchFaces


def make_photo(faces: BenchFaces, indices: Sequence[int], side: int, degradation: str = "bench") -> BenchPhoto:
    """Degrade each face to `side` px (seeded by (index, side)) and tile them with a `side`-px replicate border;
    `degradation` names one of engine.degrade.FACE_SIZE_DEGRADATIONS."""
    from .faces.detect import Detection, five_from_68

    degrade = face_degradation(degradation)
    tile = 3 * side
    cols = max(1, math.ceil(math.sqrt(len(indices))))
    rows = math.ceil(len(indices) / cols)
    photo = np.zeros((rows * tile, cols * tile, 3), np.uint8)
    detections, origins = [], []
    k = side / faces.size
    for n, i in enumerate(indices):
        small = degrade(faces.hr[i], side, np.random.default_rng([i, side]))
        ty, tx = (n // cols) * tile, (n % cols) * tile
        photo[ty:ty + tile, tx:tx + tile] = cv2.copyMakeBorder(small, side, side, side, side, cv2.BORDER_REPLICATE)
        oy, ox = ty + side, tx + side
        lm = ((faces.landmarks[i] + 0.5) * k - 0.5 + [ox, oy]).astype(np.float32)
        box = (float(lm[:, 0].min()), float(lm[:, 1].min()), float(lm[:, 0].max()), float(lm[:, 1].max()))
        detections.append(Detection(box=box, score=1.0, landmarks5=five_from_68(lm), landmarks68=lm,
                                    backend="benchmark"))
        origins.append((ox, oy))
    return BenchPhoto(photo, detections, origins, list(indices))


def face_degradation(name: str) -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    if name not in FACE_SIZE_DEGRADATIONS:
        raise ValueError(f"unknown face-size degradation {name!r}; known: {', '.join(FACE_SIZE_DEGRADATIONS)}")
    return FACE_SIZE_DEGRADATIONS[name]


def face_regions(image: np.ndarray, photo: BenchPhoto, scale: float, size: int) -> list[np.ndarray]:
    """The HR-sized face regions of an output made at `scale` (exact: tiles sit at multiples of `side`)."""
    out = []
    for ox, oy in photo.origins:
        x, y = int(round(ox * scale)), int(round(oy * scale))
        region = image[y:y + size, x:x + size]
        if region.shape[:2] != (size, size):
            region = cv2.resize(image[y:, x:][:size, :size], (size, size), interpolation=cv2.INTER_CUBIC)
        out.append(np.ascontiguousarray(region))
    return out


class Scorer:
    """PSNR/SSIM-Y against HR, and with dlib the identity cosine and landmark NRMSE (boxes per protocol)."""

    def __init__(self, faces: BenchFaces, judge: bool = True):
        self.faces = faces
        self.judge = FaceJudge() if judge else None
        self._hr_emb: dict[int, np.ndarray] = {}

    def box(self, i: int) -> Sequence[float] | None:
        if self.faces.protocol == "coarse128":
            return None  # the judge's own coarse-crop box, as in `fsr-studio eval`
        lm = self.faces.landmarks[i]
        return (lm[:, 0].min(), lm[:, 1].min(), lm[:, 0].max(), lm[:, 1].max())

    def hr_embedding(self, i: int) -> np.ndarray:
        if i not in self._hr_emb:
            self._hr_emb[i] = self.judge.embedding(self.faces.hr[i], self.box(i))
        return self._hr_emb[i]

    def score(self, i: int, out: np.ndarray) -> dict[str, float]:
        hr = self.faces.hr[i]
        row = {"psnr_y": metrics.psnr_y(out, hr), "ssim_y": metrics.ssim_y(out, hr)}
        if self.judge is not None:
            row["identity"] = metrics.cosine_similarity(self.judge.embedding(out, self.box(i)), self.hr_embedding(i))
            row["nrmse"] = metrics.landmark_nrmse(self.judge.landmarks(out, self.box(i)), self.faces.landmarks[i])
        return row


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Each score averaged over the faces (the report's per-size row)."""
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}


def run(faces: BenchFaces, models: Sequence[str], sizes: Sequence[int] = DEFAULT_SIZES, *, judge: bool = True,
        device: Any = None, precision: str = "auto", no_harm: bool = True, photo_faces: int = 1,
        degradation: str = "bench", log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """The report of `fsr-studio eval --face-sizes` (see the module docstring for the protocol)."""
    from .faces.paste import upscale_background
    from .restore import compose_photo, load_models, restore_faces

    face_degradation(degradation)  # an unknown name fails before any model loads
    notes: list[str] = []
    loaded = load_models(list(models), device, notes=notes)
    for note in notes:
        log(note)
    labels = [m.label for m in loaded]
    scorer = Scorer(faces, judge)
    report: dict[str, Any] = {"dataset": str(faces.root), "n": len(faces.names), "hr_size": faces.size,
                              "protocol": faces.protocol, "models": labels, "notes": notes, "sizes": {},
                              "choices": {}, "no_harm_check": no_harm, "photo_faces": photo_faces,
                              "degradation": degradation}
    for side in [s for s in sizes if s <= faces.size]:
        scale = faces.size / side
        rows: dict[str, list[dict[str, float]]] = {k: [] for k in ["lanczos", "bicubic", *labels]}
        choices: dict[str, dict[str, int]] = {}
        for start in range(0, len(faces.names), CHUNK):
            photo = make_photo(faces, range(start, min(start + CHUNK, len(faces.names))), side, degradation)
            restored = restore_faces(photo.image, photo.detections, loaded, device=device, precision=precision,
                                     photo_faces=photo_faces)
            outputs = {"lanczos": upscale_background(photo.image, scale)}
            h, w = outputs["lanczos"].shape[:2]
            outputs["bicubic"] = cv2.resize(photo.image, (w, h), interpolation=cv2.INTER_CUBIC)
            for label in labels:
                outputs[label] = compose_photo(photo.image, restored, label, scale, no_harm=no_harm)
                for face in restored:
                    pick = face.chosen.get(label, label) if face.pasted(label, no_harm) else "original"
                    choices.setdefault(label, {}).setdefault(pick, 0)
                    choices[label][pick] += 1
            for key, image in outputs.items():
                for i, region in zip(photo.indices, face_regions(image, photo, scale, faces.size)):
                    rows[key].append(scorer.score(i, region))
        report["sizes"][str(side)] = {k: mean_scores(v) for k, v in rows.items()}
        report["choices"][str(side)] = choices
        lz = report["sizes"][str(side)]["lanczos"]["psnr_y"]
        log(f"{side:>4} px: lanczos {lz:.2f} dB; " + ", ".join(
            f"{k} {report['sizes'][str(side)][k]['psnr_y'] - lz:+.2f}" for k in labels))
    return report


# What two reports must share for their rows to sit in one table (same faces, degradations and protocol).
SAME_RUN = ("dataset", "n", "hr_size", "protocol", "no_harm_check", "photo_faces", "selection", "degradation")


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`new`'s models added to (or replacing theirs in) `old`: rerun only the weights that changed. The faces, their
    seeded degradations and the baselines are the same in both (checked), so each row is what a full run gives; the
    merged models are `new`'s in their order, then `old`'s others."""
    defaults = {"photo_faces": 1, "degradation": "bench"}  # reports written before the options existed
    for key in SAME_RUN:
        if old.get(key, defaults.get(key)) != new.get(key, defaults.get(key)):
            raise ValueError(f"cannot merge face-size reports: {key} differs ({old.get(key)!r} vs {new.get(key)!r})")
    if list(old["sizes"]) != list(new["sizes"]):
        raise ValueError(f"cannot merge face-size reports: sizes differ ({', '.join(old['sizes'])} vs "
                         f"{', '.join(new['sizes'])})")
    for size, rows in new["sizes"].items():
        for base in ("lanczos", "bicubic"):
            if abs(rows[base]["psnr_y"] - old["sizes"][size][base]["psnr_y"]) > 1e-6:
                raise ValueError(f"cannot merge face-size reports: the {base} baseline at {size} px differs (other "
                                 f"faces or degradations)")
    kept = [m for m in old["models"] if m not in new["models"]]
    merged = {**old, "models": [*new["models"], *kept], "notes": [*new.get("notes", []), *old.get("notes", [])],
              "sizes": {}, "choices": {}}
    for size in new["sizes"]:
        merged["sizes"][size] = {**{k: v for k, v in old["sizes"][size].items() if k in kept},
                                 **new["sizes"][size]}
        # The baselines stay the old run's: the same numbers up to the last digits of a float sum, which the kept
        # rows and the cards built from them were compared against.
        merged["sizes"][size].update({base: old["sizes"][size][base] for base in ("lanczos", "bicubic")})
        merged["choices"][size] = {**{k: v for k, v in old["choices"].get(size, {}).items() if k in kept},
                                   **new["choices"].get(size, {})}
    return merged


def drop(report: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """`report` without the rows of `names` (weights no longer shipped); the baselines and other rows stay."""
    missing = [n for n in names if n not in report["models"]]
    if missing:
        raise ValueError(f"cannot drop {', '.join(missing)}: not in the report ({', '.join(report['models'])})")
    gone = set(names)
    return {**report, "models": [m for m in report["models"] if m not in gone],
            "sizes": {s: {k: v for k, v in rows.items() if k not in gone} for s, rows in report["sizes"].items()},
            "choices": {s: {k: v for k, v in rows.items() if k not in gone}
                        for s, rows in report.get("choices", {}).items()}}


METRICS = (("psnr_y", "PSNR-Y (dB)", "{:.2f}"), ("ssim_y", "SSIM-Y", "{:.4f}"),
           ("identity", "identity cosine", "{:.3f}"), ("nrmse", "landmark NRMSE", "{:.4f}"))


def to_markdown(report: dict[str, Any]) -> str:
    """One table per metric: rows are Lanczos, bicubic and the models, columns the face sizes; PSNR rows of the
    models also give the gain over Lanczos."""
    sizes = list(report["sizes"])
    rows = ["lanczos", "bicubic", *report["models"]]
    selection = f"; {report['selection']}" if report.get("selection") else ""
    damage = report.get("degradation", "bench")
    damage = "" if damage == "bench" else f"; degradation: {damage}"
    lines = [f"Face-size benchmark: {report['dataset']} ({report['n']} faces{selection}, {report['hr_size']} px, "
             f"{report['protocol']} crops{damage})", ""]
    for key, title, fmt in METRICS:
        if not all(key in report["sizes"][s]["lanczos"] for s in sizes):
            continue
        lines += [f"**{title}** by face size in the photo (px)", "",
                  "| model | " + " | ".join(sizes) + " |", "|---|" + "---:|" * len(sizes)]
        for name in rows:
            cells = []
            for s in sizes:
                value = report["sizes"][s][name][key]
                cell = fmt.format(value)
                if key == "psnr_y" and name not in ("lanczos",):
                    cell += f" ({value - report['sizes'][s]['lanczos'][key]:+.2f})"
                cells.append(cell)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    if "auto" in report["models"]:
        count = report.get("photo_faces", 1)
        lines += [f"**auto's picks** (faces per variant; 'original' = kept the upscaled original; each face counted "
                  f"as a photo of {count} face{'s' if count != 1 else ''} for the portrait rule)", ""]
        for s in sizes:
            picks = report["choices"][s].get("auto", {})
            lines.append(f"- {s} px: " + ", ".join(f"{k} {v}" for k, v in sorted(picks.items())))
        lines.append("")
    return "\n".join(lines)


def plot(reports: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Gain over Lanczos (dB) against face size, one line per model (one panel per report)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(reports), figsize=(6 * len(reports), 4), squeeze=False)
    for ax, report in zip(axes[0], reports):
        sizes = [int(s) for s in report["sizes"]]
        for name in ["bicubic", *report["models"]]:
            gains = [report["sizes"][str(s)][name]["psnr_y"] - report["sizes"][str(s)]["lanczos"]["psnr_y"]
                     for s in sizes]
            ax.plot(sizes, gains, marker="o", label=name, linewidth=2.5 if name == "auto" else 1.2)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(s) for s in sizes])
        ax.set_xlabel("face size in the photo (px)")
        ax.set_ylabel("PSNR-Y gain over Lanczos (dB)")
        ax.set_title(f"{Path(report['dataset']).name} (n = {report['n']})")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return save_figure(fig, path)
