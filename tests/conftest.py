"""Shared test set-up: offscreen Qt, one torch thread, and the ../shared/data location."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import, or Qt aborts the test process

import torch  # noqa: E402

torch.set_num_threads(1)  # CI has 2 cores; one thread per test keeps timings stable beside other work

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_models_dir(tmp_path_factory, monkeypatch):
    """Tests never read or write the real user models folder, and see no bundled weights unless they ask for them
    (tests/engine/test_bundled_weights.py does), so "no weights" paths stay testable after weights ship."""
    monkeypatch.setenv("FSR_STUDIO_MODELS", str(tmp_path_factory.mktemp("user_models")))
    monkeypatch.setenv("FSR_STUDIO_BUNDLED", str(tmp_path_factory.mktemp("bundled_weights")))
    # Nor the user cache folder; and precision "auto" keeps the CPU-flag guess instead of measuring every path for
    # each model a test builds (seconds each). tests/engine/test_runtime_choice.py checks the measuring chooser.
    monkeypatch.setenv("FSR_STUDIO_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("FSR_STUDIO_AUTO_PATH", "flags")
    monkeypatch.setenv("FSR_STUDIO_TRAIN_PRECISION", "flags")  # the same for training (tests/trainer/test_precision.py)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent (it sits beside the checkout in CI)")
    return SHARED_DATA
