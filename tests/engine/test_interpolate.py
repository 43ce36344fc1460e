"""Network interpolation: the blend is exact at both ends and linear between, cards name both sources, and bad
inputs (other architectures, writing over an input, alpha outside [0, 1]) fail clearly."""
from __future__ import annotations

import json

import pytest
import torch

from engine import zoo
from engine.interpolate import interpolate_states, interpolate_weights


def _random_weights(name: str, path, seed: int):
    torch.manual_seed(seed)
    model = zoo.variant(name).build()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.1)
    return zoo.save_weights(model, path, name, {"licence": "test licence", "training": {"seed": seed}})


def test_states_blend_linearly_and_keep_integer_buffers():
    a = {"w": torch.zeros(3), "n": torch.tensor(1)}
    b = {"w": torch.full((3,), 2.0), "n": torch.tensor(7)}
    mid = interpolate_states(a, b, 0.25)
    assert torch.allclose(mid["w"], torch.full((3,), 0.5)) and mid["n"].item() == 7
    with pytest.raises(ValueError, match="alpha"):
        interpolate_states(a, b, 1.5)
    with pytest.raises(zoo.CheckpointError, match="different keys"):
        interpolate_states(a, {"w": b["w"]}, 0.5)
    with pytest.raises(zoo.CheckpointError, match="shapes differ"):
        interpolate_states(a, {"w": torch.zeros(4), "n": b["n"]}, 0.5)


def test_weight_files_blend_into_a_loadable_model_with_a_card(tmp_path):
    a = _random_weights("fsrnet", tmp_path / "a.safetensors", 1)
    b = _random_weights("fsrgan", tmp_path / "b.safetensors", 2)
    sa, sb = zoo.read_state_dict(a), zoo.read_state_dict(b)
    for alpha, expected in ((0.0, sa), (1.0, sb)):
        out = interpolate_weights("fsrgan", a, b, alpha, tmp_path / f"x{alpha}.safetensors")
        got = zoo.read_state_dict(out)
        assert all(torch.equal(got[k], expected[k]) for k in expected)
    out = interpolate_weights("fsrgan", a, b, 0.3, tmp_path / "mix.safetensors", notes="why")
    key = "coarse.0.weight"
    assert torch.allclose(zoo.read_state_dict(out)[key].float(), 0.7 * sa[key].float() + 0.3 * sb[key].float(),
                          atol=2e-3)
    card = json.loads(zoo.card_path(out).read_text())
    assert card["interpolation"]["alpha"] == 0.3 and card["notes"] == "why"
    assert card["interpolation"]["a"]["sha256"] == zoo.sha256_of(a) and card["training"] == {"seed": 2}
    assert card["sha256"] == zoo.sha256_of(out) and card["licence"] == "test licence"
    assert zoo.load("fsrgan", out) is not None
