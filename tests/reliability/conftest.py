"""Reliability fixtures: the generated corpus (once per session), tiny weights, digests and subprocess helpers."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine import zoo

from .make_corpus import CASES, face_files, make_images, tiny_fsrnet

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def corpus(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every CI image case of the corpus, generated from ../shared/data/faces128 into a session folder."""
    try:
        face_files(shared_data)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return _make(tmp_path_factory, shared_data)


def _make(factory: pytest.TempPathFactory, shared: Path) -> Path:
    folder = factory.mktemp("corpus")
    make_images(folder, shared)
    for path in folder.iterdir():
        path.chmod(0o444)  # inputs: a write through a normal (non-root) account fails loudly
    return folder


@pytest.fixture
def weights() -> Path:
    """A tiny untrained FSRNet in the per-test user models folder (milliseconds per face)."""
    torch.manual_seed(0)
    return zoo.save_weights(tiny_fsrnet(), zoo.user_models_dir() / "fsrnet.safetensors", "fsrnet")


def image_cases(heavy: bool = False) -> list:
    return [c for c in CASES if c.group == "image" and c.heavy == heavy]


def digest(folder: Path) -> dict[str, str]:
    """name -> sha256 of every file under `folder` (inputs must stay byte-identical)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def listing(folder: Path) -> list[str]:
    """Every file under `folder`, hidden ones included (a .part leftover must show)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def cli(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """`python -m app ARGS` in a fresh process (the user's command line), environment inherited."""
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=child_env(), **kwargs)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env
