"""How much of two restorers' corrections a face should get: the face-size benchmark's gain over Lanczos for every
pair of weights (lead x a + partner x b), which is how engine.auto's blends were chosen.

Each face is degraded and restored once per size exactly as `fsr-studio eval --face-sizes` does (same photos, same
seeds, same residual paste); the blends are then formed on the pasted photos (Lanczos + a x lead correction + b x
partner correction), which equals the pipeline's blend up to the resampling of the partner's correction into the
lead's crop. Run it on hold-outs, never on the validation sets:

    python scripts/blend_grid.py --data runs/holdout128 --limit 100 --sizes 48,64,80,96,112,128
    python scripts/blend_grid.py --data ../shared/data/ffhq256 --tail 300 --limit 60 --sizes 128,192,256
    python scripts/blend_grid.py --data runs/hd512_lm --limit 40 --sizes 256,320,384,448,512 --partner none

(runs/holdout128 and runs/hd512_lm: engine/auto.py has the commands that make them.) ``--judge`` adds the identity
cosine of the best blend and of the lead alone (dlib; slower). ``--judge-blends 0.7:0.3,0.85:0`` scores the named
blends (lead weight:partner weight) on every goal of the benchmark: PSNR-Y gain, identity cosine and landmark NRMSE
next to Lanczos's, as `fsr-studio eval --face-sizes` reports them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LEAD_WEIGHTS = (0.0, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.0)
PARTNER_WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)


def regions_per_size(data: str, models: list[str], sizes: list[int], limit: int | None, tail: int | None
                     ) -> tuple[object, dict[int, dict[str, list[np.ndarray]]]]:
    """The benchmark faces and, per size, the face regions of Lanczos and of each model's pasted photo."""
    from engine import face_bench
    from engine.faces.paste import upscale_background
    from engine.restore import compose_photo, load_models, restore_faces

    faces = face_bench.load_faces(data, limit=limit, tail=tail)
    loaded = load_models(models)
    out: dict[int, dict[str, list[np.ndarray]]] = {}
    for side in [s for s in sizes if s <= faces.size]:
        scale = faces.size / side
        regions: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(faces.names), face_bench.CHUNK):
            photo = face_bench.make_photo(faces, range(start, min(start + face_bench.CHUNK, len(faces.names))), side)
            restored = restore_faces(photo.image, photo.detections, loaded, precision="auto", photo_faces=1)
            images = {"lanczos": upscale_background(photo.image, scale)}
            images.update({m.label: compose_photo(photo.image, restored, m.label, scale) for m in loaded})
            for key, image in images.items():
                regions.setdefault(key, []).extend(face_bench.face_regions(image, photo, scale, faces.size))
        out[side] = regions
        print(f"{side} px restored", file=sys.stderr, flush=True)
    return faces, out


def blend(lanczos: np.ndarray, lead: np.ndarray, partner: np.ndarray | None, a: float, b: float) -> np.ndarray:
    """Lanczos + a x (lead - Lanczos) + b x (partner - Lanczos), as uint8."""
    base = lanczos.astype(np.float32)
    mixed = base + a * (lead.astype(np.float32) - base)
    if partner is not None:
        mixed += b * (partner.astype(np.float32) - base)
    return np.clip(np.round(mixed), 0, 255).astype(np.uint8)


def gain_grid(hr: list[np.ndarray], regions: dict[str, list[np.ndarray]], lead: str, partner: str | None
              ) -> np.ndarray:
    """Mean PSNR-Y gain over Lanczos (dB) for every (lead weight, partner weight)."""
    from engine import metrics

    lanczos = np.mean([metrics.psnr_y(x, h) for x, h in zip(regions["lanczos"], hr)])
    bs = PARTNER_WEIGHTS if partner else (0.0,)
    grid = np.zeros((len(LEAD_WEIGHTS), len(bs)))
    for i, a in enumerate(LEAD_WEIGHTS):
        for j, b in enumerate(bs):
            grid[i, j] = np.mean([metrics.psnr_y(blend(lz, ld, pt, a, b), h) for lz, ld, pt, h in zip(
                regions["lanczos"], regions[lead], regions[partner] if partner else [None] * len(hr), hr)])
    return grid - lanczos


def identity(scorer: object, images: list[np.ndarray]) -> float:
    """Mean dlib identity cosine against HR, as the benchmark's scorer measures it."""
    return float(np.mean([scorer.score(i, x)["identity"] for i, x in enumerate(images)]))


def parse_blends(text: str) -> list[tuple[float, float]]:
    """"0.7:0.3,0.85" -> [(0.7, 0.3), (0.85, 0.0)]: lead weight, partner weight."""
    pairs = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        a, _, b = item.partition(":")
        pairs.append((float(a), float(b or 0.0)))
    return pairs


def judge_rows(scorer: object, hr: list[np.ndarray], regions: dict[str, list[np.ndarray]], lead: str,
               partner: str | None, blends: list[tuple[float, float]]) -> list[tuple[str, dict[str, float]]]:
    """Lanczos's and each blend's mean PSNR-Y, identity cosine and landmark NRMSE, scored as the benchmark does."""
    from engine.face_bench import mean_scores

    def score(images: list[np.ndarray]) -> dict[str, float]:
        return mean_scores([scorer.score(i, x) for i, x in enumerate(images)])

    rows = [("lanczos", score(regions["lanczos"]))]
    for a, b in blends:
        images = [blend(lz, ld, pt, a, b) for lz, ld, pt in zip(
            regions["lanczos"], regions[lead], regions[partner] if partner else [None] * len(hr))]
        rows.append((f"x{a:g}" + (f" + x{b:g}" if partner else ""), score(images)))
    return rows


def print_judged(rows: list[tuple[str, dict[str, float]]]) -> None:
    """The judged blends, each with its margins over Lanczos (identity up is better, NRMSE down)."""
    base = rows[0][1]
    print(f"  {'blend':<14} {'PSNR-Y':>7} {'gain':>7} {'identity':>9} {'d id':>8} {'NRMSE':>7} {'d NRMSE':>8}")
    for name, row in rows:
        print(f"  {name:<14} {row['psnr_y']:7.3f} {row['psnr_y'] - base['psnr_y']:+7.3f} {row['identity']:9.4f} "
              f"{row['identity'] - base['identity']:+8.4f} {row['nrmse']:7.4f} {row['nrmse'] - base['nrmse']:+8.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a face-size benchmark folder (HR faces + landmarks68.csv)")
    parser.add_argument("--sizes", default="64,96,128", help="face sizes in px, comma-separated")
    parser.add_argument("--lead", default="sparnethd-blind256")
    parser.add_argument("--partner", default="sparnet-blind-large", help="'none' for the lead alone")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--tail", type=int, default=None, help="only the last N faces by name, then the first --limit (ffhq256: --tail 300 is the HD restorer's hold-out)")
    parser.add_argument("--judge", action="store_true", help="identity cosine of the best blend and of the lead")
    parser.add_argument("--judge-blends", default="", help="blends to score on every goal, e.g. 0.7:0.3,0.85:0")
    args = parser.parse_args(argv)
    judged = parse_blends(args.judge_blends)
    partner = None if args.partner == "none" else args.partner
    models = [args.lead] + ([partner] if partner else [])
    faces, per_size = regions_per_size(args.data, models, [int(s) for s in args.sizes.split(",")], args.limit,
                                       args.tail)
    hr = list(faces.hr)
    if args.judge or judged:
        from engine.face_bench import Scorer

        scorer = Scorer(faces, judge=True)
    bs = PARTNER_WEIGHTS if partner else (0.0,)
    for side, regions in per_size.items():
        grid = gain_grid(hr, regions, args.lead, partner)
        i, j = np.unravel_index(int(grid.argmax()), grid.shape)
        print(f"{side} px, {len(hr)} faces: dB over Lanczos for {args.lead} x a" + (f" + {partner} x b" if partner
              else "") + f"; best {grid[i, j]:+.3f} at a={LEAD_WEIGHTS[i]:g}, b={bs[j]:g}")
        print("  a \\ b " + " ".join(f"{b:>6g}" for b in bs))
        for a, row in zip(LEAD_WEIGHTS, grid):
            print(f"  {a:<5g} " + " ".join(f"{g:+.3f}" for g in row))
        if args.judge:
            best = [blend(lz, ld, pt, LEAD_WEIGHTS[i], bs[j]) for lz, ld, pt in zip(
                regions["lanczos"], regions[args.lead], regions[partner] if partner else [None] * len(hr))]
            print(f"  identity: Lanczos {identity(scorer, regions['lanczos']):.4f}, {args.lead} "
                  f"{identity(scorer, regions[args.lead]):.4f}, best blend {identity(scorer, best):.4f}")
        if judged:
            print_judged(judge_rows(scorer, hr, regions, args.lead, partner, judged))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
