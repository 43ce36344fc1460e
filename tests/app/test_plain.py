"""The app's Qt-free parts: path expansion, overlay geometry and colours, the model list, plain helpers."""
from __future__ import annotations

import numpy as np
import pytest

from app import backend, overlays
from app.session import expand_paths
from app.training import format_eta

from .conftest import install_tiny_weights


def test_expand_paths_folders_suffixes_and_reasons(tmp_path):
    (tmp_path / "a.JPG").write_bytes(b"x")
    (tmp_path / "b.png").write_bytes(b"x")
    (tmp_path / ".hidden.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    photos, skipped = expand_paths([tmp_path, tmp_path / "b.png", tmp_path / "notes.txt", empty, tmp_path / "nope"])
    assert [p.name for p in photos] == ["a.JPG", "b.png"]
    reasons = {p.name: why for p, why in skipped}
    assert "not a supported photo type" in reasons["notes.txt"]
    assert "holds no photos" in reasons["empty"] and "no such file" in reasons["nope"]


def test_overlay_maps_crop_coordinates_back_to_the_photo():
    # a crop of side 64 photo px starting at (100, 50), resized to 128: photo -> crop is x2 and a shift
    matrix = np.array([[2.0, 0.0, -200.0], [0.0, 2.0, -100.0]])
    inv = overlays.invert_affine(matrix)
    assert np.allclose(inv @ np.array([128.0, 128.0, 1.0]), [164.0, 114.0])
    heat = np.zeros((68, 64, 64), np.float32)
    heat[:, 10, 20] = 1.0  # every landmark peaks at prior pixel (x=20, y=10)
    pts = overlays.landmarks_from({"priors": np.concatenate([heat, np.zeros((11, 64, 64), np.float32)])}, 128)
    assert pts.shape == (68, 2) and np.allclose(pts[0], [(20 + 0.5) * 2 - 0.5, (10 + 0.5) * 2 - 0.5])


def test_parsing_and_heat_colours():
    parsing = np.zeros((11, 4, 4), np.float32)
    parsing[0] = 1.0
    parsing[1, :2] = 2.0  # skin on the top half
    rgba = overlays.colour_parsing(parsing)
    assert rgba.shape == (4, 4, 4) and (rgba[2:, :, 3] == 0).all() and (rgba[:2, :, 3] > 0).all()
    assert tuple(rgba[0, 0, :3]) == tuple(overlays.PARSING_COLOURS[1])
    heat = overlays.colour_heat(np.linspace(0, 1, 16, dtype=np.float32).reshape(1, 4, 4))
    assert heat.shape == (4, 4, 4) and heat[0, 0, 3] < heat[3, 3, 3]


def test_model_list_marks_missing_and_extra_weights(tmp_path):
    choices = backend.choice_map()
    assert not choices["fsrnet"].available and choices["fsrnet"].source == "missing"
    assert "fsrnet.safetensors" in backend.missing_message(choices["fsrnet"])
    paths = install_tiny_weights(["fsrnet"])
    import shutil

    from engine import zoo

    extra = zoo.user_models_dir() / "my-faces.safetensors"
    shutil.copyfile(paths["fsrnet"], extra)
    shutil.copyfile(zoo.card_path(paths["fsrnet"]), zoo.card_path(extra))
    choices = backend.choice_map()
    assert choices["fsrnet"].available and choices["fsrnet"].source == "user folder"
    assert choices["fsrnet:my-faces"].variant == "fsrnet" and choices["fsrnet:my-faces"].weights == extra
    with pytest.raises(FileNotFoundError, match="fsrgan"):
        backend.model_specs(["fsrgan"], choices)
    spec = backend.model_specs(["fsrnet:my-faces"], choices)[0]
    assert spec[0] == "fsrnet:my-faces" and spec[1].weights_path == str(extra)


def test_output_names_and_eta():
    from pathlib import Path

    assert backend.output_suffix(Path("a.jpeg"), "auto") == ".jpeg"
    assert backend.output_suffix(Path("a.jpg"), "png") == ".png"
    assert backend.default_output_dir(Path("/p/a.jpg")) == Path("/p/restored")
    assert format_eta(None) == "—" and format_eta(75) == "1:15" and format_eta(3700) == "1:01:40"
