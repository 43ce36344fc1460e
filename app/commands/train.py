"""Train or fine-tune a model: resumable (--resume), cancellable (SIGTERM or <run>/CANCEL), JSON-lines events.

Settings come from the recipe's defaults, then ``--config FILE.yml`` (any key of trainer.config.TrainConfig, recipe
settings under ``options:``), then these flags; the resolved configuration is copied to ``<run>/config.yml``. With
``--resume`` the run folder's config.yml is the starting point and flags given again override it.
"""
from __future__ import annotations

import argparse

from trainer.config import ConfigError, TrainConfig, layered_config, parse_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-m", "--model", help="variant to train (fsrnet, fsrgan, sparnet, ...); see --list")
    a("--data", help="training faces: aligned folder with landmarks68.csv, prepared dataset, CSV manifest, or folder")
    a("--val", help="validation folder laid out like celeba_val128 (HR/, LR_x8/, landmarks68.csv)")
    a("--val-split", dest="val_split", type=int,
      help="without --val: hold out the last N training faces for validation")
    a("--init", help="weights to start from (.safetensors/.pth): fine-tuning")
    a("--steps", type=int, help="total optimisation steps")
    a("--batch", type=int, help="batch size")
    a("--lr", type=float, help="learning rate (recipe default otherwise)")
    a("--optimizer", choices=["rmsprop", "adam"], help="optimiser (FSRNet default rmsprop, as the paper)")
    a("--scheduler", choices=["constant", "poly", "cosine", "linear_tail"], help="learning-rate schedule")
    a("--degradation", help="how LR inputs are made from the faces: a name of engine.degrade.NAMES (bicubic8, blind, "
      "photo, photo_mild_full, ...). Default: the one the --init weights' card names, else the recipe's")
    a("--run-dir", dest="run_dir", help="run folder (default experiments/<model>)")
    a("--resume", action="store_true", default=None, help="continue the run in --run-dir from its last checkpoint")
    a("--config", help="YAML file with any of these settings (and recipe `options:`)")
    a("--events", help="write JSON-lines progress events to FILE, or '-' for stdout")
    a("--threads", type=int, help="torch threads (torch.set_num_threads)")
    a("--device", help="auto, cpu, cuda, cuda:N")
    fast = parser.add_mutually_exclusive_group()
    fast.add_argument("--fast", dest="fast", action="store_true", default=None,
                      help="mixed precision (CPU: bf16 autocast + channels_last; CUDA: fp16 AMP). Default: measured "
                           "once per CPU and model (fp32 where bf16 is not faster), always on for CUDA")
    fast.add_argument("--no-fast", dest="fast", action="store_false", help="plain fp32")
    a("--seed", type=int)
    a("--ema-decay", dest="ema_decay", type=float, help="EMA decay of the generator (0 disables; default 0.999)")
    a("--checkpoint-every", dest="checkpoint_every", type=int, help="steps between checkpoints (default 1000)")
    a("--checkpoint-minutes", dest="checkpoint_minutes", type=float, help="also checkpoint every M minutes (10)")
    a("--keep-checkpoints", dest="keep_checkpoints", type=int, help="numbered checkpoints to keep (3)")
    a("--val-every", dest="val_every", type=int, help="steps between validations (default 1000, 0 = only final)")
    a("--val-limit", dest="val_limit", type=int, help="faces per periodic validation (default 100, 0 = all)")
    a("--final-val-limit", dest="final_val_limit", type=int, help="faces in the final validation (0 = all)")
    a("--log-every", dest="log_every", type=int, help="steps between step events (default 10)")
    a("--export", nargs="?", const="user", default=None,
      help="also copy the final weights + card: to the user models folder (no value), a folder, or a file")
    a("--export-name", dest="export_name", help="file name stem of the exported weights (default: the model)")
    a("--workers", dest="num_workers", type=int, help="data loader processes (default 0)")
    a("-o", "--option", dest="option", action="append", default=[], metavar="KEY=VALUE",
      help="recipe option (YAML value), e.g. -o vgg_weights=/path/vgg16.pth; repeatable")
    a("--arch", dest="arch", action="append", default=[], metavar="KEY=VALUE",
      help="override a field of the variant's network config (e.g. --arch width=32); recorded in the card")
    a("--list", action="store_true", help="list trainable models and their recipes, then exit")


CLI_KEYS = [f for f in TrainConfig.field_names() if f not in ("options", "arch")]


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Recipe defaults are applied later (trainer.loop.resolve_config); here: run config < file < flags."""
    flags = {k: getattr(args, k, None) for k in CLI_KEYS}
    flags["options"] = parse_options(args.option) or None
    flags["arch"] = parse_options(args.arch) or None
    return layered_config(flags, args.config)


def list_models() -> int:
    from engine import zoo
    from trainer.recipes import recipes

    for name, recipe in sorted(recipes().items()):
        defaults = ", ".join(f"{k}={v}" for k, v in recipe.defaults.items())
        print(f"{name:18s} {recipe.name:16s} {recipe.description}")
        print(f"{'':18s} defaults: {defaults}; options: {recipe.options}")
    untrainable = sorted(set(zoo.names()) - set(recipes()))
    if untrainable:
        print(f"no recipe yet: {', '.join(untrainable)}")
    return 0


def run(args: argparse.Namespace) -> int:
    from trainer.events import Events, say
    from trainer.loop import train

    if args.list:
        return list_models()
    try:
        cfg = config_from_args(args)
    except ConfigError as exc:
        Events(args.events).emit("error", message=str(exc), stage="config")
        say(f"error: {exc}")
        return 2
    return train(cfg, cfg.events)
