"""Training-throughput benchmark (not a test): images/s per family and precision mode on this machine.

    fsr-studio train-bench [--models fsrnet,sparnet,...] [--batch 8] [--steps 3] [--modes fp32,bf16,bf16+cl]

Each (model, mode) builds the recipe exactly as training does and times `--steps` optimisation steps on one fixed
batch after `--warmup` untimed ones (trainer.bench). Prints a Markdown table and writes JSON with --json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from trainer.bench import DEFAULT_MODELS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--modes", default="fp32,bf16+cl")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--json", help="also write the rows to this JSON file")


def run(args: argparse.Namespace) -> int:
    import torch

    from trainer.bench import measure

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    print("| model | mode | batch | threads | images/s | s/step | first step s |")
    print("|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        for mode in args.modes.split(","):
            try:
                row = measure(model, mode, args.batch, args.steps, args.warmup)
            except Exception as exc:  # noqa: BLE001  (report and go on with the other models)
                print(f"| {model} | {mode} | error: {type(exc).__name__}: {exc} |||||", flush=True)
                continue
            rows.append(row)
            print(f"| {model} | {mode} | {row['batch']} | {row['threads']} | {row['images_per_s']} | "
                  f"{row['step_s']} | {row['first_step_s']} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0
