"""Make a folder of aligned face crops readable by the face-size benchmark: links to the images plus a
``landmarks68.csv`` found by the dlib detector (the largest face of each crop, as `fsr-studio prepare --aligned`).

The benchmark needs 68 landmarks per face; ../shared/data/hd512 ships none. With this its 512 px faces measure
where the HD restorer stops helping (the top of its `auto` band, engine/auto.py):

    python scripts/landmarks_folder.py ../shared/data/hd512 -o runs/hd512_lm
    fsr-studio eval --face-sizes 256,320,384,512 -m sparnethd-blind256 --data runs/hd512_lm --limit 40 --no-judge

Images where no face or no 68 landmarks are found are left out and named. The source folder is only read.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def landmark_row(path: Path) -> str | None:
    """``name,x0,y0,...,x67,y67`` for the crop's face (`fsr-studio prepare --aligned`'s landmarks), or None when
    dlib detects no face (prepare would guess from a central box; a benchmark wants measured landmarks only)."""
    from trainer.prepare import PrepareOptions, aligned_landmarks, read_photo

    face = aligned_landmarks(read_photo(path), PrepareOptions(aligned=True))[0]
    if face.get("fallback_box") or face.get("estimated"):
        return None
    return path.name + "," + ",".join(f"{v:.2f}" for v in np.ravel(face["l68"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of aligned face crops (read only)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder to create: links + landmarks68.csv")
    args = parser.parse_args(argv)
    images = sorted(p for p in args.source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        print(f"error: no images in {args.source}", file=sys.stderr)
        return 2
    if args.output.resolve() == args.source.resolve():
        print("error: the output folder must not be the source folder", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in images:
        row = landmark_row(path)
        if row is None:
            print(f"left out {path.name}: no face with 68 landmarks found")
            continue
        link = args.output / path.name
        if not link.exists():
            os.symlink(path.resolve(), link)
        rows.append(row)
    tmp = args.output / "landmarks68.csv.tmp"
    tmp.write_text("\n".join(rows) + "\n")
    tmp.replace(args.output / "landmarks68.csv")
    print(f"{len(rows)} faces in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
