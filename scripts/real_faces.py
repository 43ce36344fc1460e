"""A figure of the same real faces restored by each model and by auto (for the README): real photos, no ground truth.

Faces are chosen by rule, not by look: the front row of a group photo is the `-n` detections whose centres are
lowest in the photo (nearest the camera), shown left to right; for other photos, the first `-n` detections left to
right. Every column is the face's region of the restored photo at `--scale` (the first column: the photo upscaled with
Lanczos, what every restoration is pasted into), so sharpness compares pixel for pixel. Rows that a model left
untouched (no-harm check, or auto keeping the original) look like the first column; the label says so.

    python scripts/real_faces.py ../shared/data/photos/solvay_conference_1927.jpg --front-row -n 5 \
        -m auto,sparnethd-blind256,sparnet-blind-large,sparnet-blind-u,sparnet-blind-gan,fsrnet-blind,fsrnet -o docs/results/real_solvay.png
    python scripts/real_faces.py ../shared/data/photos/crowd_1.jpg -n 5 -s 4 \
        -m auto,sparnethd-blind256,sparnet-blind-large,sparnet-blind-u,sparnet-blind-gan,fsrnet-blind,fsrnet -o docs/results/real_crowd.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.faces.paste import upscale_background  # noqa: E402
from engine.io import read_image, to_rgb8, write_image  # noqa: E402
from engine.restore import compose_photo, detect_in_photo, restore_faces  # noqa: E402
from scripts import figures  # noqa: E402

TILE = 192
STYLE = {"scale": 0.38, "max_chars": 34}  # captions of labelled tiles


def label(tile: np.ndarray, text: str) -> np.ndarray:
    return figures.label(tile, text, **STYLE)


def region(image: np.ndarray, box: tuple[float, ...], scale: float) -> np.ndarray:
    """The face box enlarged 1.3x around its centre, in the output photo, resized to a TILE square."""
    x0, y0, x1, y1 = box
    cx, cy, half = (x0 + x1) / 2 * scale, (y0 + y1) / 2 * scale, max(x1 - x0, y1 - y0) * scale * 0.65
    a, b = int(max(0, cy - half)), int(max(0, cx - half))
    crop = image[a:int(cy + half), b:int(cx + half)]
    return cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_AREA if crop.shape[0] > TILE else cv2.INTER_CUBIC)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photo", type=Path)
    ap.add_argument("-m", "--models", default="auto,sparnethd-blind256,sparnet-blind-large,sparnet-blind-u,sparnet-blind,fsrnet-blind,fsrnet")
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--front-row", action="store_true", help="the n lowest faces (a group photo's front row)")
    ap.add_argument("-s", "--scale", type=float, default=2.0)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args()
    photo = to_rgb8(read_image(args.photo).pixels)
    detections, _ = detect_in_photo(photo)
    if args.front_row:
        detections = sorted(detections, key=lambda d: -d.center[1])[: args.n]
    detections = sorted(detections, key=lambda d: d.center[0])[: args.n]
    models = [m for m in args.models.split(",") if m]
    faces = restore_faces(photo, detections, models)
    columns = [("photo, Lanczos x%g" % args.scale, [region(upscale_background(photo, args.scale), d.box, args.scale)
                                                  for d in detections])]
    for name in models:
        image = compose_photo(photo, faces, name, args.scale)
        tiles = []
        for face, det in zip(faces, detections):
            tile = region(image, det.box, args.scale)
            used = ((face.made_by(name) if name in face.chosen else name) if face.pasted(name) else "kept original")
            used = used.replace("sparnethd-blind256", "hd").replace("sparnet-blind-", "")  # fits the tile
            tiles.append(label(tile, f"{used} {int(face.size_px)}px") if name == "auto" or used == "kept original"
                         else label(tile, f"{int(face.size_px)} px"))
        columns.append((name, tiles))
    columns[0] = (columns[0][0], [label(t, "") for t in columns[0][1]])
    grid = figures.labelled_grid(columns, **STYLE)
    write_image(args.output, grid)
    print(f"wrote {args.output}: {len(detections)} faces x {', '.join(t for t, _ in columns)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
