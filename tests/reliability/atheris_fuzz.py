"""Coverage-guided fuzzing with atheris (optional): `python tests/reliability/atheris_fuzz.py image|checkpoint -runs=N`.

Same contract as test_fuzz.py: any input gives a result or the loader's own error. The seeds are test_fuzz's; the
engine's Python code is instrumented, the C decoders under it are exercised uninstrumented.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports(include=["engine"]):  # not torch/numpy: instrumenting them takes minutes
    from engine import io as eio  # noqa: F401
    from engine import zoo  # noqa: F401

from tests.reliability.test_fuzz import check_checkpoint, check_decode, checkpoint_seeds, image_seeds  # noqa: E402

FOLDER = Path(tempfile.mkdtemp(prefix="atheris-ckpt-"))


def image_target(data: bytes) -> None:
    check_decode(data)


def checkpoint_target(data: bytes) -> None:
    for suffix in (".pth", ".safetensors"):  # the suffix picks the reader: each sees every input
        check_checkpoint(data, suffix, FOLDER)


def main() -> None:
    target = sys.argv.pop(1)
    seeds_dir = Path(tempfile.mkdtemp(prefix=f"atheris-{target}-"))
    seeds = image_seeds() if target == "image" else [s for _, s in checkpoint_seeds()]
    for i, seed in enumerate(seeds):
        (seeds_dir / f"seed{i}").write_bytes(seed)
    atheris.Setup([*sys.argv, str(seeds_dir)], image_target if target == "image" else checkpoint_target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
