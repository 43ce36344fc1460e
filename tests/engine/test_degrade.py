"""Degradations: the bicubic protocol matches the shipped eval LR bit for bit; blind/learned shapes, ranges, seeds."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import degrade as D


def _face(seed: int = 0, size: int = 128) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    return D.pil_resize(base, size)


def test_bicubic_x8_reproduces_celeba_val_lr(shared_data):
    from trainer.data import read_rgb

    hr_dir = shared_data / "celeba_val128" / "HR"
    for path in sorted(hr_dir.iterdir())[:10]:
        lr = read_rgb(str(shared_data / "celeba_val128" / "LR_x8" / path.name))
        assert np.array_equal(D.bicubic_x8(read_rgb(str(path))), lr)


@pytest.mark.parametrize("size,lr_size,expect", [(128, 16, 16), (128, None, 128), (512, None, 512), (512, 64, 64)])
def test_blind_shapes_and_range(size, lr_size, expect):
    hr = _face(1, size)
    for seed in range(6):
        out = D.blind(hr, lr_size, np.random.default_rng(seed))
        assert out.shape == (expect, expect, 3) and out.dtype == np.uint8
    a = D.blind(hr, lr_size, np.random.default_rng(3))
    b = D.blind(hr, lr_size, np.random.default_rng(3))
    assert np.array_equal(a, b)  # same seed, same degradation (resume reproducibility)


def test_blind_degrades():
    hr = _face(2, 512)
    outs = [D.blind(hr, None, np.random.default_rng(s)) for s in range(4)]
    assert all(np.abs(o.astype(int) - hr).mean() > 1 for o in outs)


def test_degrade_registry_and_errors():
    hr = _face()
    assert D.degrade("bicubic8", hr, 16).shape == (16, 16, 3)
    with pytest.raises(ValueError, match="unknown degradation"):
        D.degrade("sharpen", hr)
    with pytest.raises(ValueError, match="degrader network"):
        D.degrade("learned", hr)
    with pytest.raises(ValueError):
        D.bicubic_x8(hr.astype(np.float32))


class _Shift(torch.nn.Module):
    """Stand-in flow degrader returning (image, flow, intermediate) like SelFSR's FlowDegrader."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x * 0.5 + self.w, torch.zeros_like(x[:, :2]), x


def test_learned_applies_the_network():
    lr = np.stack([_face(i, 16) for i in range(3)])
    out = D.learned_uint8(lr, _Shift())
    assert out.shape == lr.shape and out.dtype == np.uint8
    expect = np.round(((lr / 127.5 - 1) * 0.5 + 1) * 127.5)
    assert np.abs(out.astype(float) - expect).max() <= 1
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert D.learned(x, _Shift()).shape == x.shape


@pytest.mark.parametrize("name, recipe", [("photo_large", D.PHOTO_LARGE), ("photo_mild", D.PHOTO_MILD),
                                          ("photo_mild_full", D.PHOTO_MILD_FULL)])
def test_large_face_degradations_draw_only_large_faces(monkeypatch, name, recipe):
    """The large-face restorers train on faces whose source side is at least the recipe's fraction of their HR size,
    drawn over that whole range; a fixed lr_size still wins."""
    sides = []
    real = D.photo_at_size
    monkeypatch.setattr(D, "photo_at_size", lambda hr, side, rng, rec: sides.append(side) or real(hr, side, rng, rec))
    hr = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    rng = np.random.default_rng(1)
    for _ in range(200):
        out = D.degrade(name, hr, rng=rng)
        assert out.shape == hr.shape and out.dtype == np.uint8
    low = round(recipe.min_fraction * 64)
    assert min(sides) >= low and max(sides) == 64 and min(sides) <= low + 3
    D.degrade(name, hr, lr_size=20, rng=rng)
    assert sides[-1] == 20
    D.degrade(name, hr, lr_size=64, rng=rng)  # the HR size itself means "draw it" (a same-size training pair)
    assert sides[-1] < 64 or len(set(sides[-20:])) > 1


def test_photo_mild_damages_less_than_photo():
    """Same image kept at its size (blur, noise and JPEG only): the mild preset changes the pixels less than the full
    photo recipe, and still changes them (it is a degradation, not a copy)."""
    rng_img = np.random.default_rng(3)
    hr = cv2_smooth((rng_img.random((64, 64, 3)) * 255).astype(np.uint8))
    err = {}
    for name, recipe in (("photo", D.PHOTO), ("photo_mild", D.PHOTO_MILD)):
        rng = np.random.default_rng(7)
        err[name] = np.mean([np.abs(D.photo_at_size(hr, 64, rng, recipe).astype(float) - hr).mean()
                             for _ in range(100)])
    assert 0.5 < err["photo_mild"] < 0.92 * err["photo"]  # measured 0.86


def cv2_smooth(img: np.ndarray) -> np.ndarray:
    import cv2
    return cv2.GaussianBlur(img, (0, 0), 2.0)


def test_photo_mild_full_keeps_a_fifth_of_the_faces_at_the_crop_size_and_older_streams_unchanged(monkeypatch):
    """photo_mild_full draws the crop's own size about one time in five; photo_mild's random stream is the one it had
    before the option existed (same draws for a seed), so its trained models' validation sets do not move."""
    sides = {}
    real = D.photo_at_size
    hr = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    for name in ("photo_mild", "photo_mild_full"):
        drawn = []
        monkeypatch.setattr(D, "photo_at_size", lambda hr, side, rng, rec: drawn.append(side) or real(hr, side, rng, rec))
        rng = np.random.default_rng(5)
        for _ in range(400):
            D.degrade(name, hr, rng=rng)
        sides[name] = np.array(drawn)
    full = np.mean(sides["photo_mild_full"] == 64) - np.mean(sides["photo_mild"] == 64)
    assert 0.12 < full < 0.28, full
    rng = np.random.default_rng(9)
    expect_side = D.photo_size(64, rng, min_px=max(D.PHOTO_MIN_PX, round(D.PHOTO_MILD.min_fraction * 64)))
    monkeypatch.setattr(D, "photo_at_size", lambda hr, side, rng, rec: np.full_like(hr, side))
    assert D.degrade("photo_mild", hr, rng=np.random.default_rng(9))[0, 0, 0] == expect_side
