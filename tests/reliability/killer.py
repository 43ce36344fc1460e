"""Run a module as ``python -m MODULE ARGS`` and SIGKILL it at the worst moment of its Nth matching atomic write.

    python -m tests.reliability.killer --match '_fsrnet' --nth 2 app enhance -i IN -o OUT

The moment is inside :func:`engine.util.atomic_write`, after the bytes are written and fsynced to the temporary file
and before the rename that makes them visible: a crash there must leave the previous state intact and only a
temporary file that the next run can recognise as stale. SIGKILL runs no handler and no ``finally``.
"""
from __future__ import annotations

import argparse
import os
import re
import runpy
import signal
import sys


def install(pattern: str, nth: int) -> None:
    """Count renames whose target name matches `pattern`; on the `nth`, kill this process instead."""
    real_replace = os.replace
    seen = [0]

    def replace(src, dst, *args, **kwargs):
        if re.search(pattern, os.path.basename(os.fsdecode(dst))):
            seen[0] += 1
            if seen[0] == nth:
                sys.stderr.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace  # engine.util calls os.replace through the module: every atomic write passes here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--match", required=True, help="regex on the target file name")
    parser.add_argument("--nth", type=int, default=1)
    parser.add_argument("module")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args()
    install(ns.match, ns.nth)
    sys.argv = [ns.module, *ns.args]
    runpy.run_module(ns.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
