"""Per-sample pipeline details not covered by the recipe tests."""
from __future__ import annotations

import numpy as np
import pytest

from engine.io import read_image
from trainer.data import SampleSpec, make_sample, random_patch, soften


def test_hd_patches_cut_the_same_window_after_the_full_face_degradation(shared_data):
    image = read_image(sorted((shared_data / "hd512").glob("*.jpg"))[0]).pixels
    full_spec = SampleSpec(hr_size=512, lr_size=512, upsample_input=False, degradation="blind")
    patch_spec = SampleSpec(**{**full_spec.__dict__, "patch": 128})
    rng = np.random.default_rng(5)
    full = make_sample(image, None, full_spec, rng)
    y, x = int(rng.integers(0, 512 - 128 + 1)), int(rng.integers(0, 512 - 128 + 1))  # the draws the patch makes next
    patch = make_sample(image, None, patch_spec, np.random.default_rng(5))
    for key in ("hr", "lr", "input"):
        assert tuple(patch[key].shape) == (3, 128, 128)
        np.testing.assert_array_equal(patch[key].numpy(), full[key].numpy()[:, y:y + 128, x:x + 128])


@pytest.mark.parametrize("degradation", ["photo", "photo_large", "photo_mild", "photo_mild_full"])
def test_same_size_pairs_draw_the_face_size_per_sample(monkeypatch, degradation):
    """A blind restorer's spec has lr_size == hr_size; the sample must still come from a face drawn at many sizes in
    the photo (a bug once trained the HD restorer at its full size only, never on a downscaled face)."""
    from engine import degrade as D

    sides = []
    real = D.photo_at_size
    monkeypatch.setattr(D, "photo_at_size", lambda hr, side, rng, rec: sides.append(side) or real(hr, side, rng, rec))
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    spec = SampleSpec(hr_size=64, lr_size=64, upsample_input=False, degradation=degradation)
    rng = np.random.default_rng(1)
    for _ in range(30):
        assert tuple(make_sample(image, None, spec, rng)["input"].shape) == (3, 64, 64)
    assert len(sides) == 30 and min(sides) < 48 and len(set(sides)) > 10


def _detail(image: np.ndarray) -> float:
    """Mean absolute Laplacian: how much fine detail a face holds."""
    grey = image.astype(np.float32).mean(axis=2)
    return float(np.abs(4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]).mean())


def test_soft_targets_lose_fine_detail_and_keep_the_face(shared_data):
    image = read_image(sorted((shared_data / "ffhq256").glob("*.jpg"))[0]).pixels
    soft = soften(image, 0.5)
    assert soft.shape == image.shape and soft.dtype == np.uint8
    assert _detail(soft) < 0.6 * _detail(image)
    assert abs(float(soft.mean()) - float(image.mean())) < 1.0
    spec = SampleSpec(hr_size=256, lr_size=256, upsample_input=False, degradation="photo_mild_full")
    sharp_hr = make_sample(image, None, spec, np.random.default_rng(3))["hr"].numpy().transpose(1, 2, 0)
    soft_spec = SampleSpec(**{**spec.__dict__, "soft_p": 1.0})
    soft_hr = make_sample(image, None, soft_spec, np.random.default_rng(3))["hr"].numpy().transpose(1, 2, 0)
    np.testing.assert_array_equal(sharp_hr, image)  # soft_p 0: the target is the face as it is
    assert _detail(soft_hr) < 0.8 * _detail(image)


def test_patches_need_same_size_images():
    with pytest.raises(ValueError, match="one size"):
        random_patch([np.zeros((64, 64, 3), np.uint8), np.zeros((16, 16, 3), np.uint8)], 8, np.random.default_rng())


def test_training_images_are_read_like_the_app_reads_them(tmp_path, monkeypatch):
    """16-bit PNGs become 8-bit RGB, EXIF-rotated JPEGs come upright and images over the pixel limit are refused
    from their header, as engine.io does for the app."""
    import cv2
    from PIL import Image

    from trainer.data import read_rgb

    deep = (np.arange(8 * 8 * 3, dtype=np.uint16).reshape(8, 8, 3) * 257)
    cv2.imwrite(str(tmp_path / "deep.png"), deep[..., ::-1])
    assert np.array_equal(read_rgb(str(tmp_path / "deep.png")), (deep // 257).astype(np.uint8))
    wide = np.zeros((4, 12, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(wide).save(tmp_path / "turned.jpg", exif=exif)
    assert read_rgb(str(tmp_path / "turned.jpg")).shape == (12, 4, 3)
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(OSError, match="junk.png"):
        read_rgb(str(tmp_path / "junk.png"))
    monkeypatch.setenv("FSR_STUDIO_MAX_MEGAPIXELS", "0.00004")  # 40 pixels, the JPEG has 48
    with pytest.raises(OSError, match="above the .* limit"):
        read_rgb(str(tmp_path / "turned.jpg"))
