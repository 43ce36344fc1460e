"""`fsr-studio`: with no arguments (or only photo paths) it opens the window; otherwise it runs a command.

The commands are the registry in app/commands (``COMMANDS``: name -> module path and help), each module providing
``add_arguments(parser)`` and ``run(args)`` returning the process exit code. Modules are imported only when the parser
is built, and none imports Qt at import time, so `fsr-studio enhance` never loads Qt and works without the `gui`
extra; only `gui` (the default) opens the window.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
from typing import Iterator, Sequence

from app.commands import COMMANDS


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
    ImportError ("initialization failed") that the caller reports as a missing package. While the command modules
    import (torch, dlib, OpenCV) a Ctrl+C is only noted and raised once they are in: a KeyboardInterrupt raised
    inside a pybind11 module's initialisation aborts the process (SIGABRT) instead of unwinding."""

    seen = False
    deferred = False

    @classmethod
    def handler(cls, signum: int, frame: object) -> None:
        cls.seen = True
        if not cls.deferred:
            signal.default_int_handler(signum, frame)

    @classmethod
    @contextlib.contextmanager
    def deferring(cls) -> Iterator[None]:
        cls.deferred = True
        try:
            yield
        finally:
            cls.deferred = False
        if cls.seen:
            raise KeyboardInterrupt


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
        from app.commands.gui import launch  # photos given as arguments open in the window

        return launch(argv)
    with _Interrupts.deferring():
        parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args._module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
