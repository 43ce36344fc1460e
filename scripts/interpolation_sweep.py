"""PSNR/SSIM-Y and sharpness of network interpolations between two weight files, to choose alpha.

Choose alpha on faces that are not the validation set (e.g. a slice of the training faces), then report the chosen
file on the validation set with `fsr-studio eval`:

    python scripts/interpolation_sweep.py resources/weights/fsrnet.safetensors experiments/fsrgan_v2/fsrgan.safetensors \\
        -m fsrgan --alphas 0,0.3,0.5,0.6,0.7,0.8,1 --data /tmp/alpha_sel
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import zoo  # noqa: E402
from engine.evaluate import load_eval_set, score_outputs  # noqa: E402
from engine.infer import infer_faces  # noqa: E402
from engine.interpolate import interpolated_model  # noqa: E402
from engine.metrics import laplacian_sharpness  # noqa: E402
from engine.models.registry import pil_resize  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("--alphas", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--data", type=Path, required=True, help="HR/ folder laid out like celeba_val128")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    data = load_eval_set(args.data, args.limit)
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
