"""A figure of the same validation faces restored by every model that has weights (for the README).

Columns: bicubic x8, each model, the HR face. Rows: the first N faces of the set (no picking). --band cuts the same
rows of every face (e.g. the eyes) and enlarges them with nearest-neighbour, to compare sharpness pixel for pixel;
the sharpness printed per column is the mean variance of the Laplacian of the Y channel (higher = more detail).

    python scripts/val_faces.py --data ../shared/data/celeba_val128 -n 6 -o docs/results/val_faces.png
    python scripts/val_faces.py -m fsrnet,fsrgan -n 4 --band 40,88 --zoom 3 -o docs/results/fsrgan_vs_fsrnet.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import zoo  # noqa: E402
from engine.degrade import pil_resize  # noqa: E402
from engine.evaluate import load_eval_set  # noqa: E402
from engine.infer import infer_faces  # noqa: E402
from engine.io import write_image  # noqa: E402
from engine.metrics import laplacian_sharpness as sharpness  # noqa: E402
from scripts.figures import labelled_grid  # noqa: E402


def zoom(image: np.ndarray, k: int) -> np.ndarray:
    return image if k <= 1 else np.repeat(np.repeat(image, k, axis=0), k, axis=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/celeba_val128"))
    parser.add_argument("-n", type=int, default=6, help="number of faces (the first n of the set)")
    parser.add_argument("-m", "--models", default="", help="comma-separated; default: every x8 model with weights")
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/results/val_faces.png"))
    parser.add_argument("--band", default="", help="TOP,BOTTOM rows of the 128 px faces to show (default: all)")
    parser.add_argument("--zoom", type=int, default=1, help="nearest-neighbour enlargement of the shown faces")
    args = parser.parse_args()
    data = load_eval_set(args.data, args.n)
    names = [m for m in args.models.split(",") if m] or [
        n for n in zoo.names(task="restore") if zoo.variant(n).lr_size == 16 and zoo.find_weights(n)]
    columns = [("bicubic", np.stack([pil_resize(lr, 128) for lr in data.lr]))]
    for name in names:
        columns.append((name, infer_faces(name, zoo.load(name), data.lr).images))
    columns.append(("HR", np.stack(data.hr)))
    for title, images in columns:
        print(f"{title}: sharpness {np.mean([sharpness(im) for im in images]):.1f}")
    top, bottom = (int(v) for v in args.band.split(",")) if args.band else (0, 128)
    columns = [(t, [zoom(im[top:bottom], args.zoom) for im in images]) for t, images in columns]
    grid = labelled_grid(columns)
    write_image(args.output, grid)
    print(f"wrote {args.output} ({len(data.names)} faces x {', '.join(t for t, _ in columns)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
