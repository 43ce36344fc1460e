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
from pathlib import Path


def held_out_rows(csv_path: Path, n: int) -> list[str]:
    rows = [r for r in csv_path.read_text(encoding="utf-8").splitlines() if r.strip()]
    if not 0 < n < len(rows):
        raise SystemExit(f"error: {csv_path} has {len(rows)} faces; cannot hold out {n}")
    return rows[-n:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="training folder with landmarks68.csv (paths relative to it)")
    ap.add_argument("n", type=int, help="the run's val_split: how many faces, from the end of the CSV, were held out")
    ap.add_argument("-o", "--output", type=Path, required=True, help="new folder for the links and their CSV")
    args = ap.parse_args(argv)
    rows = held_out_rows(args.data / "landmarks68.csv", args.n)
    args.output.mkdir(parents=True, exist_ok=True)
    flat = []
    for row in rows:
        rel, coords = row.split(",", 1)
        source = (args.data / rel).resolve()
        link = args.output / source.name
        if link.is_symlink() or link.exists():
            if link.resolve() != source:
                raise SystemExit(f"error: {link} already exists and is not a link to {source}")
        else:
            link.symlink_to(source)
        flat.append(f"{source.name},{coords}")
    if len({r.split(',', 1)[0] for r in flat}) != len(flat):
        raise SystemExit("error: two held-out faces share a file name; they cannot live in one flat folder")
    (args.output / "landmarks68.csv").write_text("\n".join(flat) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(flat)} held-out faces of {args.data}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
