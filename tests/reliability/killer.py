"""Run a module as ``python -m MODULE ARGS`` and SIGKILL it at a chosen moment, whatever the machine's speed.

    python -m tests.reliability.killer --match '_fsrnet' --nth 2 app enhance -i IN -o OUT
    python -m tests.reliability.killer --optimizer-step 7 trainer train ...

--match/--nth: inside :func:`engine.util.atomic_write` of the Nth file whose name matches, after the bytes are written
and fsynced to the temporary file and before the rename that makes them visible: a crash there must leave the
previous state intact and only a temporary file the next run can recognise as stale. --optimizer-step N: in the
middle of the Nth training step of this process (forward and backward done, weights not yet updated). SIGKILL runs no
handler and no ``finally``.
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


def install_step(nth: int) -> None:
    """SIGKILL in the `nth` optimizer step of this process (a global pre-hook: every optimizer, every family)."""
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    seen = [0]

    def hook(optimizer, args, kwargs):
        seen[0] += 1
        if seen[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

    register_optimizer_step_pre_hook(hook)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--match", help="regex on the target file name of an atomic write")
    parser.add_argument("--nth", type=int, default=1)
    parser.add_argument("--optimizer-step", type=int, help="kill in this optimizer step (1 = the first)")
    parser.add_argument("module")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args()
    if ns.match:
        install(ns.match, ns.nth)
    if ns.optimizer_step:
        install_step(ns.optimizer_step)
    sys.argv = [ns.module, *ns.args]
    runpy.run_module(ns.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
