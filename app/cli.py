"""`fsr-studio`: with no arguments (or only photo paths) it opens the window; otherwise it runs a subcommand.

Subcommands are a registry of module paths, imported only when used, so `fsr-studio enhance` never loads Qt and the
GUI never loads the trainer until asked. Each command module provides ``add_arguments(parser)`` and ``run(args)``
returning the process exit code.
"""
from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from typing import Sequence

COMMANDS: dict[str, tuple[str, str]] = {
    "enhance": ("engine.cli_enhance", "restore every face in photos or folders"),
    "models": ("engine.cli_models", "list model variants, parameter counts and where their weights are"),
    "bench": ("engine.bench", "per-face latency, memory and accuracy of every inference path on this machine"),
    "eval": ("engine.cli_eval", "PSNR/SSIM-Y, landmark error and identity similarity on a face dataset"),
    "export-onnx": ("engine.cli_onnx", "export a variant to ONNX"),
    "interpolate": ("engine.cli_interpolate", "blend two weight files of one architecture (network interpolation)"),
    "prepare": ("trainer.cli_prepare", "build a training dataset from a folder of photos"),
    "train": ("trainer.cli_train", "train or fine-tune a model"),
}


def available_commands() -> dict[str, tuple[str, str]]:
    """Commands whose module exists in this installation."""
    return {name: spec for name, spec in COMMANDS.items() if importlib.util.find_spec(spec[0]) is not None}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fsr-studio", description="Face super-resolution studio.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_path, help_text) in available_commands().items():
        module = importlib.import_module(module_path)
        cmd = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip().splitlines()[0])
        module.add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


INTERRUPTED = 130  # the shell's code for a process ended by SIGINT


class _Interrupts:
    """Remembers a Ctrl+C even when a C extension swallows it: SIGINT while dlib or torch initialise surfaces as an
    ImportError ("initialization failed") that the caller reports as a missing package."""

    seen = False

    @classmethod
    def handler(cls, signum: int, frame: object) -> None:
        cls.seen = True
        signal.default_int_handler(signum, frame)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; Ctrl+C at any moment (even while torch is still importing) ends with a line, not a traceback."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _Interrupts.handler) if in_main_thread else None
    rc: int | None = None
    try:
        rc = dispatch(argv)
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    seen, _Interrupts.seen = _Interrupts.seen, False
    if rc is None or (seen and rc != INTERRUPTED):  # a command that caught it has said so already
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    return rc


def dispatch(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        from app.main import run_gui  # photos given as arguments open in the window

        return run_gui(argv)
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    return int(args._module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
