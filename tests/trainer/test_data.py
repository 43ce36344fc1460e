"""Per-sample pipeline details not covered by the recipe tests."""
from __future__ import annotations

import numpy as np
import pytest

from engine.io import read_image
from trainer.data import SampleSpec, make_sample, random_patch


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


def test_patches_need_same_size_images():
    with pytest.raises(ValueError, match="one size"):
        random_patch([np.zeros((64, 64, 3), np.uint8), np.zeros((16, 16, 3), np.uint8)], 8, np.random.default_rng())
