"""Choose the no-harm threshold: consistency scores of real restorations against those of wrong faces.

Every face of the data folder is degraded to each size as in the face-size benchmark and restored through the photo
pipeline (`auto` and the named models). "Good" scores compare each output with its own face's crop; "wrong" scores
compare the output made for the next face (another person, here) with this face's crop - what a model that invents
another identity would paste. Prints percentiles per size, so the threshold in engine/consistency.py can sit in the
gap. Rerun:

    python scripts/consistency_threshold.py --data ../shared/data/celeba_val128 --limit 60 -m auto,sparnet-light3d
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import face_bench  # noqa: E402
from engine.consistency import check_consistency  # noqa: E402
from engine.restore import load_models, restore_faces  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("-m", "--models", default="auto")
    ap.add_argument("--sizes", default="12,16,24,32,48,64,96,128")
    args = ap.parse_args(argv)
    faces = face_bench.load_faces(args.data, args.limit)
    loaded = load_models([m for m in args.models.split(",") if m])
    good: list[float] = []
    wrong: list[float] = []
    print(f"{'size':>5} {'model':<18} {'good p1':>8} {'good p5':>8} {'good med':>8} {'wrong med':>9} "
          f"{'wrong p95':>9} {'wrong p99':>9}")
    for side in [int(s) for s in args.sizes.split(",") if int(s) <= faces.size]:
        photo = face_bench.make_photo(faces, range(len(faces.names)), side)
        restored = restore_faces(photo.image, photo.detections, loaded)
        for m in loaded:
            g, w = [], []
            for k, face in enumerate(restored):
                other = restored[(k + 1) % len(restored)]
                if m.label not in face.outputs or m.label not in other.outputs:
                    continue
                crop = face.crops[_protocol(face, m.label)]
                g.append(check_consistency(face.outputs[m.label], crop.image, crop.source_px).score)
                if _protocol(other, m.label) == crop.protocol:
                    w.append(check_consistency(other.outputs[m.label], crop.image, crop.source_px).score)
            if not g:
                continue
            good += g
            wrong += w
            print(f"{side:>5} {m.label:<18} {np.percentile(g, 1):8.1f} {np.percentile(g, 5):8.1f} "
                  f"{np.median(g):8.1f} {np.median(w) if w else float('nan'):9.1f} "
                  f"{np.percentile(w, 95) if w else float('nan'):9.1f} "
                  f"{np.percentile(w, 99) if w else float('nan'):9.1f}")
    print(f"all: good p1 {np.percentile(good, 1):.1f} dB, p0.1 {np.percentile(good, 0.1):.1f}; "
          f"wrong p99 {np.percentile(wrong, 99):.1f} dB, max {np.max(wrong):.1f} (n good {len(good)}, "
          f"n wrong {len(wrong)})")
    return 0


def _protocol(face, label: str) -> str:
    from engine.restore import variant_for

    return variant_for(face.variant_of(label)).crop


if __name__ == "__main__":
    raise SystemExit(main())
