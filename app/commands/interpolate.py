"""Blend two weight files of one architecture (network interpolation): (1 - alpha) A + alpha B."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", type=Path, help="weights at alpha 0 (e.g. the PSNR-trained fsrnet)")
    parser.add_argument("b", type=Path, help="weights at alpha 1 (e.g. the GAN fine-tune, fsrgan)")
    parser.add_argument("-m", "--model", required=True, help="variant the result is saved as, e.g. fsrgan")
    parser.add_argument("--alpha", type=float, required=True, help="0 = A, 1 = B")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output .safetensors (card written beside)")
    parser.add_argument("--notes", help="free text stored in the card")


def run(args: argparse.Namespace) -> int:
    from engine import zoo
    from engine.interpolate import interpolate_weights

    try:
        zoo.variant(args.model)
        path = interpolate_weights(args.model, args.a, args.b, args.alpha, args.output, args.notes)
    except (zoo.UnknownModelError, ValueError, OSError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"wrote {path} ({args.model}, alpha {args.alpha}: {1 - args.alpha:g} x {args.a.name} + "
          f"{args.alpha:g} x {args.b.name})")
    return 0
