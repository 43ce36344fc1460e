"""A folder of the faces a training run held out (its `val_split`), laid out for the face-size benchmark.

`fsr-studio train` with `val_split: N` trains on every face of the data's landmarks68.csv but the last N rows and
validates on those. `auto`'s size bands are set on exactly these faces (never on the validation sets the README
reports), but faces128 keeps its faces in subfolders, which `fsr-studio eval --face-sizes` does not read. This makes
a flat folder of symbolic links to those N faces (nothing is copied) with their landmarks68.csv, e.g.:

    python scripts/holdout_folder.py ../shared/data/faces128 200 -o runs/holdout128
    fsr-studio eval --face-sizes 12,16,24,32,48,64,96,128 -m sparnet-blind,sparnet-blind-u \\
        --data runs/holdout128 --limit 100 --no-judge
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.data import DataError, FaceRecord, resolve_train_source  # noqa: E402


def held_out(data: Path, n: int) -> list[FaceRecord]:
    """The faces a run with `data` and `val_split: n` validates on: the same reader and split as the trainer."""
    records, _ = resolve_train_source(data)
    if not 0 < n < len(records):
        raise SystemExit(f"error: {data} has {len(records)} faces; cannot hold out {n}")
    if any(r.landmarks is None for r in records[-n:]):
        raise SystemExit(f"error: {data}: the face-size benchmark needs landmarks for every face")
    return records[-n:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="the run's training data (folder with landmarks68.csv, or a CSV manifest)")
    ap.add_argument("n", type=int, help="the run's val_split: how many faces, from the end of its list, were held out")
    ap.add_argument("-o", "--output", type=Path, required=True, help="new folder for the links and their CSV")
    args = ap.parse_args(argv)
    try:
        faces = held_out(args.data, args.n)
    except DataError as exc:
        raise SystemExit(f"error: {exc}") from None
    if len({Path(f.path).name for f in faces}) != len(faces):
        raise SystemExit("error: two held-out faces share a file name; they cannot live in one flat folder")
    args.output.mkdir(parents=True, exist_ok=True)
    rows = []
    for face in faces:
        source = Path(face.path).resolve()
        link = args.output / source.name
        if link.is_symlink() or link.exists():
            if link.resolve() != source:
                raise SystemExit(f"error: {link} already exists and is not a link to {source}")
        else:
            link.symlink_to(source)
        rows.append(",".join([source.name, *(f"{v:.6g}" for v in face.landmarks.reshape(-1))]))
    (args.output / "landmarks68.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(rows)} held-out faces of {args.data}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
