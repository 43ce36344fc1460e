"""Trainer test fixtures: small CSV manifests over ../shared/data/faces128 (read in place, never copied)."""
from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import write_manifest


@pytest.fixture
def faces_csv(shared_data: Path, tmp_path: Path) -> Path:
    return write_manifest(shared_data, tmp_path / "faces.csv", 16)


@pytest.fixture
def val_dir(shared_data: Path) -> Path:
    return shared_data / "celeba_val128"
