"""Every `fsr-studio` command, in one registry.

A command is a module here exposing ``add_arguments(parser)`` and ``run(args) -> int`` (the process exit code). The
modules parse flags and print; the work is done by the libraries they call (engine/, trainer/), which hold no
commands. app/cli.py builds its subcommands from :data:`COMMANDS`, importing a module only when the parser is built;
no command module imports Qt at import time (tests/test_layering.py), so every command but ``gui`` runs without the
``gui`` extra installed.
"""
from __future__ import annotations

import sys

# name -> (module, one-line help). The order is the order of `fsr-studio --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("app.commands.gui", "open the desktop app (the default when no command is given)"),
    "enhance": ("app.commands.enhance", "restore every face in photos or folders"),
    "models": ("app.commands.models", "list model variants, parameter counts and where their weights are"),
    "eval": ("app.commands.eval", "PSNR/SSIM-Y, landmark error and identity similarity on a face dataset"),
    "interpolate": ("app.commands.interpolate", "blend two weight files of one architecture (network interpolation)"),
    "export-onnx": ("app.commands.export_onnx", "export a variant to ONNX"),
    "bench": ("app.commands.bench", "per-face latency, memory and accuracy of every inference path on this machine"),
    "bench-pipeline": ("app.commands.bench_pipeline", "detection recall and whole-photo time and memory per model"),
    "prepare": ("app.commands.prepare", "build a training dataset from a folder of photos"),
    "train": ("app.commands.train", "train or fine-tune a model"),
    "train-bench": ("app.commands.train_bench", "training throughput per family and precision mode"),
}


def self_command() -> list[str]:
    """Program + leading arguments that run `fsr-studio` again in a new process (the same interpreter, or the frozen
    app): for the benchmarks' per-configuration processes and the fine-tune dialog's trainer."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]
