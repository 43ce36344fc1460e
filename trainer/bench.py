"""Training-throughput benchmark (not a test): images/s per family and precision mode on this machine.

    python -m trainer.bench [--models fsrnet,sparnet,...] [--batch 8] [--steps 3] [--modes fp32,bf16,bf16+cl]

Each (model, mode) builds the recipe exactly as training does (real faces from ../shared/data, the recipe's losses,
optimisers and discriminators), runs `warmup` untimed steps (oneDNN builds its kernels on the first ones) and times
`steps` optimisation steps on one fixed batch. Modes: fp32; fp32+cl (channels_last); bf16 (autocast); bf16+cl (the
trainer's --fast default on CPU). Prints a Markdown table and writes JSON with --json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MODES = {"fp32": (False, False), "fp32+cl": (False, True), "bf16": (True, False), "bf16+cl": (True, True)}
DEFAULT_MODELS = ("fsrnet", "fsrgan", "sparnet", "sparnet-light3d", "selfsr", "selfsr-lite", "selfsr-degrader",
                  "sparnethd-lite")


def data_for(model: str) -> tuple[str, dict[str, Any]]:
    if model.startswith("sparnethd"):
        return str(SHARED / "hd512"), {}
    options: dict[str, Any] = {}
    if model == "selfsr-degrader":
        options["real_lr"] = str(SHARED / "celeba_val128" / "LR_x8")
    return str(SHARED / "faces128" / "landmarks68.csv"), options


def measure(model: str, mode: str, batch: int, steps: int, warmup: int) -> dict[str, Any]:
    from .config import TrainConfig
    from .loop import Trainer, resolve_config

    data, options = data_for(model)
    with tempfile.TemporaryDirectory() as run:
        cfg = resolve_config(TrainConfig(model=model, data=data, batch=batch, steps=steps + warmup, run_dir=run,
                                         options=options, fast=MODES[mode][0], ema_decay=0.0))
        trainer = Trainer(cfg, channels_last=MODES[mode][1])
        trainer.setup()
        precision, recipe = trainer.precision, trainer.recipe
        keys = trainer.loader().batch_sampler.keys(0)
        batch_data = torch.utils.data.default_collate([trainer.dataset[k] for k in keys])
        recipe.set_train()
        times = []
        for step in range(warmup + steps):
            t0 = time.perf_counter()
            recipe.train_step(recipe.to_device(batch_data), step)
            precision.update()
            times.append(time.perf_counter() - t0)
        timed = times[warmup:]
        return {"model": model, "mode": mode, "batch": batch, "threads": torch.get_num_threads(),
                "first_step_s": round(times[0], 2), "step_s": round(sum(timed) / len(timed), 3),
                "images_per_s": round(batch * len(timed) / sum(timed), 2), "precision": precision.name}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer.bench", description=__doc__.strip().splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--modes", default="fp32,bf16+cl")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
