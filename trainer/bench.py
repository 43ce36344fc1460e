"""Training-throughput benchmark (not a test): images/s per family and precision mode on this machine.

This module measures; the command that runs it is `fsr-studio train-bench` (app/commands/train_bench.py):

    fsr-studio train-bench [--models fsrnet,sparnet,...] [--batch 8] [--steps 3] [--modes fp32,bf16,bf16+cl]

Each (model, mode) builds the recipe exactly as training does (real faces from ../shared/data, the recipe's losses,
optimisers and discriminators), runs `warmup` untimed steps (oneDNN builds its kernels on the first ones) and times
`steps` optimisation steps on one fixed batch. Modes: fp32; fp32+cl (channels_last); bf16 (autocast); bf16+cl (the
trainer's --fast default on CPU).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

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
    """One row: `steps` timed optimisation steps of `model` in `mode` at `batch`, after `warmup` untimed ones."""
    import torch

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
