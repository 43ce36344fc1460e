"""GUI test fixtures: tiny random-weight models in the per-test models folder, a private settings folder, a copy of
a small photo in a temporary folder (exports go beside it, never into ../shared/data), and the main window."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import zoo

# Tiny configurations of each family: random weights, real architectures, milliseconds per face.
TINY = {
    "fsrnet": dict(width=8, prior_width=16, encoder_blocks=1, decoder_blocks=1, coarse_blocks=1, hourglass_depth=2,
                   stacks=1),
    "fsrgan": dict(width=8, prior_width=16, encoder_blocks=1, decoder_blocks=1, coarse_blocks=1, hourglass_depth=2,
                   stacks=1),
    "sparnet": dict(min_ch=8, max_ch=16, res_depth=1),
    "selfsr-lite": dict(widths=(16, 16, 8, 8), gamma_hidden=8, blocks_per_level=1),
    # auto's restorer for faces of 14 px and up (and above 160 px while sparnethd-blind256 has no weights). Its input
    # skip passes the face through, so untrained it returns the input and passes the no-harm check; the untrained
    # x8 models fail it.
    "sparnet-blind": dict(min_ch=8, max_ch=16, res_depth=1),
}
_STATES: dict[str, object] = {}


def tiny_model(name: str):
    import torch

    torch.manual_seed(0)
    return zoo.build(name, **TINY[name])


def install_tiny_weights(names=tuple(TINY)) -> dict[str, Path]:
    """Save tiny random-weight models into the current FSR_STUDIO_MODELS folder (set per test by tests/conftest)."""
    out = {}
    for name in names:
        if name not in _STATES:
            _STATES[name] = tiny_model(name)
        out[name] = zoo.save_weights(_STATES[name], zoo.user_models_dir() / f"{name}.safetensors", name)
    return out


@pytest.fixture(autouse=True)
def _private_settings(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FSR_STUDIO_CONFIG", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def tiny_weights() -> dict[str, Path]:
    return install_tiny_weights()


@pytest.fixture
def photo(shared_data, tmp_path) -> Path:
    """group_small.jpg (1080x441, 3 faces) copied into a temporary folder."""
    src = shared_data / "photos" / "group_small.jpg"
    dst = tmp_path / "photos" / "group_small.jpg"
    dst.parent.mkdir()
    shutil.copyfile(src, dst)
    return dst


@pytest.fixture
def make_window(qtbot):
    """Factory for main windows with given settings; jobs are cancelled and joined at teardown."""
    from app.settings import AppSettings
    from app.ui.main_window import MainWindow

    windows = []

    def make(**settings) -> MainWindow:
        s = AppSettings(**settings)
        w = MainWindow(s)
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.controller.cancel()
        w.controller.runner.wait(20000)
        ft = getattr(w, "_finetune", None)
        if ft is not None:
            ft.shutdown()


def wait_idle(qtbot, window, timeout: int = 60000) -> None:
    """Until no job of the window runs (and queued signals were delivered)."""
    qtbot.waitUntil(lambda: not window.controller.runner.busy(), timeout=timeout)
    qtbot.wait(20)
