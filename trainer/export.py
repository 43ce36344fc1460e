"""Export a finished run as fp16 ``.safetensors`` + JSON model card through ``engine.zoo.save_weights``.

The card records what a user needs to judge the weights: variant and config (added by the zoo), recipe and its
options, data and counts, steps, batch, optimiser, degradation, precision, wall time, CPU/GPU, final validation
PSNR-Y/SSIM-Y next to bicubic (and the prior branch's landmark NRMSE for FSRNet), and the licence inherited from
the training data.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from engine import zoo
from engine.runtime_choice import cpu_info

if TYPE_CHECKING:
    from .loop import Trainer


def hardware(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {"cpu": cpu_info().name, "threads": torch.get_num_threads(), "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def build_card(trainer: "Trainer", final: dict[str, Any] | None) -> dict[str, Any]:
    from .data import describe_source

    cfg = trainer.cfg
    card: dict[str, Any] = {
        "training": {
            **trainer.recipe.card(),
            "data": {"train": cfg.data, **describe_source(trainer.records), "val": trainer.val_source},
            "val_split": cfg.val_split,
            "steps": trainer.step, "batch": cfg.batch, "images_seen": trainer.step * cfg.batch,
            "optimizer": cfg.optimizer, "lr": cfg.lr, "scheduler": cfg.scheduler, "degradation": cfg.degradation,
            "init": cfg.init, "seed": cfg.seed, "ema_decay": cfg.ema_decay, "precision": trainer.precision.name,
            "wall_time_s": round(trainer.wall_time(), 1), "hardware": hardware(trainer.device),
            "world_size": trainer.world, "torch": torch.__version__, "config_sha256": cfg.digest(),
        },
        "licence": trainer.recipe.licence,
    }
    if final:
        card["validation"] = {k: v for k, v in final.items() if k != "step"} | {"set": trainer.val_source}
    return card


def export_run(trainer: "Trainer", final: dict[str, Any] | None) -> Path:
    """Write ``<run>/<name>.safetensors`` (+ card) and the optional extra copy of cfg.export; return the run's file."""
    cfg = trainer.cfg
    name = cfg.export_name or cfg.model
    model = trainer.eval_model()
    card = build_card(trainer, final)
    path = zoo.save_weights(model, trainer.run.root / f"{name}.safetensors", cfg.model, card)
    if cfg.export:
        target = export_target(cfg.export, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        shutil.copyfile(zoo.card_path(path), zoo.card_path(target))
        trainer.say(f"exported {target}")
        trainer.events.emit("export", path=str(target))
    return path


def export_target(export: str, name: str) -> Path:
    """'user' -> the user models folder (where engine.zoo looks first); a folder -> inside it; else the file path."""
    if export == "user":
        return zoo.user_models_dir() / f"{name}.safetensors"
    target = Path(export).expanduser()
    if target.suffix != ".safetensors":
        return target / f"{name}.safetensors"
    return target
