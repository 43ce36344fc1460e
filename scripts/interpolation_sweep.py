"""PSNR/SSIM-Y and sharpness of network interpolations between two weight files, to choose alpha.

Choose alpha on faces that are not the validation set (e.g. a slice of the training faces), then report the chosen
file on the validation set with `fsr-studio eval`:

    python scripts/interpolation_sweep.py experiments/fsrnet_v1/fsrnet.safetensors \\
        experiments/fsrgan_v2/fsrgan.safetensors -m fsrgan --alphas 0.6,0.7,0.8,0.9 \\
        --data ../shared/data/faces128 --tail-per-folder 40

(--tail-per-folder N: the last N images, by sorted name, of each sub-folder of --data, with bicubic x8 LR; that is
how the shipped fsrgan's alpha was chosen.)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import zoo  # noqa: E402
from engine.degrade import pil_resize  # noqa: E402
from engine.evaluate import EvalSet, load_eval_set, score_outputs  # noqa: E402
from engine.io import IMAGE_SUFFIXES, read_image, to_rgb8  # noqa: E402
from engine.infer import infer_faces  # noqa: E402
from engine.interpolate import interpolated_model  # noqa: E402
from engine.metrics import laplacian_sharpness  # noqa: E402


def tail_per_folder(root: Path, n: int) -> EvalSet:
    """The last n faces (sorted names) of every sub-folder, with bicubic x8 LR, as one evaluation set."""
    files = [f for d in sorted(p for p in root.iterdir() if p.is_dir())
             for f in sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[-n:]]
    hr = [to_rgb8(read_image(f).pixels) for f in files]
    return EvalSet([f"{f.parent.name}_{f.stem}" for f in files], hr,
                   [pil_resize(h, h.shape[0] // 8) for h in hr], None, True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("--alphas", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--data", type=Path, required=True, help="folder laid out like celeba_val128 (HR/), or a "
                        "folder of face sub-folders with --tail-per-folder")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--tail-per-folder", type=int, help="the last N faces of each sub-folder of --data")
    args = parser.parse_args()
    data = tail_per_folder(args.data, args.tail_per_folder) if args.tail_per_folder else \
        load_eval_set(args.data, args.limit)
    sa, sb = zoo.read_state_dict(args.a), zoo.read_state_dict(args.b)
    size = data.hr[0].shape[0]
    bicubic = [pil_resize(lr, size) for lr in data.lr]
    print(f"{len(data.hr)} faces from {args.data}")
    print("| alpha | PSNR-Y | SSIM-Y | sharpness |\n|---:|---:|---:|---:|")
    for title, images in (("bicubic", bicubic), ("HR", data.hr)):
        row = score_outputs(images, data, None)
        print(f"| {title} | {row['psnr_y']:.2f} | {row['ssim_y']:.4f} | "
              f"{np.mean([laplacian_sharpness(i) for i in images]):.1f} |", flush=True)
    for alpha in (float(x) for x in args.alphas.split(",")):
        model = interpolated_model(args.model, sa, sb, alpha)
        images = list(infer_faces(args.model, model.eval(), data.lr).images)
        row = score_outputs(images, data, None)
        print(f"| {alpha:g} | {row['psnr_y']:.2f} | {row['ssim_y']:.4f} | "
              f"{np.mean([laplacian_sharpness(i) for i in images]):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
