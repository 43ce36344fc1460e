"""Write the ffhq256 training and validation manifests: the last 200 faces by name are the validation split.

    python scripts/ffhq256_split.py ../shared/data/ffhq256 runs/    # -> ffhq256_train.csv, ffhq256_val/

The training manifest is a landmarks68.csv with absolute paths (the trainer reads images in place); the validation
split is a folder of links laid out like celeba_val128 (HR/ + landmarks68.csv), so `fsr-studio eval` reads it as is.
"""
from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

VAL_COUNT = 200


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    src, out = Path(argv[0]).resolve(), Path(argv[1])
    with open(src / "landmarks68.csv", newline="", encoding="utf-8") as f:
        rows = sorted((r for r in csv.reader(f) if r), key=lambda r: r[0])
    train, val = rows[:-VAL_COUNT], rows[-VAL_COUNT:]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "ffhq256_train.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([[str(src / r[0]), *r[1:]] for r in train])
    hr = out / "ffhq256_val" / "HR"
    hr.mkdir(parents=True, exist_ok=True)
    for r in val:
        link = hr / r[0]
        if not link.exists():
            os.symlink(src / r[0], link)
    with open(out / "ffhq256_val" / "landmarks68.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(val)
    print(f"{len(train)} training faces -> {out / 'ffhq256_train.csv'}; {len(val)} validation -> {hr.parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
