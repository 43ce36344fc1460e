"""`python -m trainer [train] ...` or `python -m trainer prepare ...` (the GUI runs training this way)."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

SUBCOMMANDS = {"train": "trainer.cli_train", "prepare": "trainer.cli_prepare"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "train"
    rest = argv[1:] if argv and argv[0] in SUBCOMMANDS else argv
    module = importlib.import_module(SUBCOMMANDS[command])
    parser = argparse.ArgumentParser(prog=f"python -m trainer {command}", description=(module.__doc__ or "").strip())
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(rest)) or 0)


if __name__ == "__main__":
    sys.exit(main())
