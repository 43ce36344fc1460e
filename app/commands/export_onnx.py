"""Export a model variant with its weights to ONNX (dynamic batch), checked against PyTorch before it is kept."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", required=True, help="variant name (see `fsr-studio models`)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="the .onnx file to write")
    parser.add_argument("--weights", type=Path, help="weights file (default: the zoo's search folders)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="max |onnx - torch| allowed on a check batch")


def run(args: argparse.Namespace) -> int:
    from engine import zoo
    from engine.onnx_runtime import export_onnx, max_difference

    try:
        model = zoo.load(args.model, weights=args.weights, device="cpu")
    except (zoo.WeightsNotFound, zoo.CheckpointError, zoo.UnknownModelError) as exc:
        print(f"error: {exc}")
        return 1
    if args.output.resolve() == Path(getattr(model, "weights_path", "")).resolve():
        print("error: the output would overwrite the weights file")
        return 1
    export_onnx(args.model, model, args.output)
    err = max_difference(args.model, model, args.output)
    if err > args.tolerance:
        args.output.unlink()
        print(f"error: ONNX output differs from PyTorch by {err:.2e} (> {args.tolerance}); nothing written")
        return 1
    print(f"wrote {args.output} (max |onnx - torch| = {err:.1e} on a check batch)")
    return 0
