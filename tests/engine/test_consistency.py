"""The no-harm check (engine.consistency): a faithful restoration agrees with the photo, another person's face in its
place does not, and the pipeline leaves such a face out of the photo (unless told not to check).

Faces come from ../shared/data/celeba_val128 (two different identities); the "networks" are tiny modules that always
return a fixed face, so no weights are needed.
"""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
import torch
from torch import nn

import engine
from engine import zoo
from engine.consistency import CONSISTENCY_THRESHOLD_DB, check_consistency
from engine.faces.paste import upscale_background
from engine.restore import compose_photo
from engine.io import read_image


@pytest.fixture(scope="module")
def two_people(shared_data):
    """HR faces (128 px coarse crops) of two different identities."""
    folder = shared_data / "celeba_val128"
    with open(folder / "identities.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    first = rows[0]
    other = next(r for r in rows if r["identity"] != first["identity"])
    return [read_image(folder / "HR" / r["file"]).rgb8() for r in (first, other)]


def photo_crop(hr: np.ndarray, side: int, noise: float = 3.0, seed: int = 0) -> np.ndarray:
    """What the pipeline crops from a photo holding this face at `side` px: shrunk, a little noise, cubic back up."""
    small = cv2.resize(hr, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
    small += np.random.default_rng(seed).normal(0, noise, small.shape)
    small = np.clip(np.round(small), 0, 255).astype(np.uint8)
    return cv2.resize(small, hr.shape[:2][::-1], interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("side", [12, 16])
def test_keeps_a_faithful_restoration_of_a_tiny_face(two_people, side):
    """At 12-16 px the photo holds so little that another person comes close (this pair scores 21-22 dB there, about
    the threshold; see engine/consistency.py), so only the faithful side is asserted: it must still be kept."""
    mine, _ = two_people
    good = check_consistency(mine, photo_crop(mine, side), side)
    assert good.passed and good.score >= CONSISTENCY_THRESHOLD_DB + 10, good.describe()


@pytest.mark.parametrize("side", [24, 32, 64])
def test_keeps_a_faithful_restoration_and_rejects_another_face(two_people, side):
    mine, someone_else = two_people
    crop = photo_crop(mine, side)
    good = check_consistency(mine, crop, side)
    assert good.passed and good.score >= CONSISTENCY_THRESHOLD_DB, good.describe()
    assert good.map.shape == (128, 128) and good.map.dtype == np.float32
    wrong = check_consistency(someone_else, crop, side)
    assert not wrong.passed and wrong.score < CONSISTENCY_THRESHOLD_DB, wrong.describe()
    assert wrong.score < good.score - 5
    assert "contradicts the photo" in wrong.describe() and "agrees with the photo" in good.describe()
    # a colour cast is a contradiction too
    tinted = np.clip(mine.astype(np.int16) + [60, 0, -60], 0, 255).astype(np.uint8)
    cast = check_consistency(tinted, crop, side)
    assert not cast.passed and cast.colour_shift > 30


def test_any_output_size_and_its_own_crop():
    rng = np.random.default_rng(0)
    crop = cv2.GaussianBlur(rng.integers(0, 256, (128, 128, 3)).astype(np.uint8), (0, 0), 3)
    same = check_consistency(crop, crop, 128)
    assert same.passed and same.score == 99.0 and same.colour_shift == 0
    big = cv2.resize(crop, (512, 512), interpolation=cv2.INTER_CUBIC)  # an HD output of the same face
    assert check_consistency(big, crop, 100).passed


class FixedFace(nn.Module):
    """An FSRNet stand-in that returns the same face whatever it is given (a model inventing an identity)."""

    def __init__(self, face: np.ndarray):
        super().__init__()
        image = torch.from_numpy(face).permute(2, 0, 1).float().div(255.0)[None]
        self.register_buffer("face", zoo.variant("fsrnet").normalize(image))

    def forward(self, x):
        from engine.models.fsrnet import FSRNetOutput

        out = self.face.expand(x.shape[0], -1, -1, -1).to(x.dtype)
        priors = torch.zeros(x.shape[0], 79, 64, 64, dtype=x.dtype)
        return FSRNetOutput(out, [priors], out)


def test_the_photo_keeps_its_original_where_a_wrong_face_was_made(shared_data, two_people):
    """Solvay front row (3-4 faces of ~100 px): every face replaced by one celeba face fails the check and the composite
    is exactly the Lanczos-upscaled photo; with the check off, the faces are pasted."""
    photo = read_image(shared_data / "photos" / "solvay_conference_1927.jpg").pixels[200:500, 150:700]
    photo = np.ascontiguousarray(photo)
    wrong = [("fsrnet", FixedFace(two_people[1]))]
    result = engine.restore_photo(photo, wrong, scale=2, precision="fp32")
    assert len(result.faces) >= 3
    for face in result.faces:
        assert "fsrnet" in face.outputs and face.checks["fsrnet"].passed is False
        assert not face.pasted("fsrnet")
        assert any("not pasted" in n and "contradicts the photo" in n for n in face.notes)
    lanczos = upscale_background(photo, 2)
    assert np.array_equal(result.image, lanczos)
    assert result.provenance["fsrnet"]["faces_kept_by_no_harm_check"] == len(result.faces)
    assert result.provenance["fsrnet"]["faces_restored"] == 0

    unchecked = engine.restore_photo(photo, wrong, scale=2, precision="fp32", no_harm=False)
    assert unchecked.provenance["fsrnet"]["faces_restored"] == len(unchecked.faces)
    for face in unchecked.faces:
        x0, y0, x1, y1 = (int(round(v * 2)) for v in face.box)
        region = (slice(max(0, y0), y1), slice(max(0, x0), x1))
        diff = np.abs(unchecked.image[region].astype(int) - lanczos[region].astype(int)).mean()
        assert diff > 5, (face.index, diff)  # the wrong face went in
    # compose_photo alone follows the same rule on the same faces
    assert np.array_equal(compose_photo(photo, unchecked.faces, "fsrnet", 2), lanczos)


def test_a_faithful_face_is_pasted_a_wrong_one_is_not(two_people):
    """The same 32 px face crop (aligned input) restored by an oracle (its own HR face) and by another person's face."""
    mine, someone_else = two_people
    small = cv2.resize(mine, (32, 32), interpolation=cv2.INTER_AREA)
    lanczos = upscale_background(small, 4)
    oracle = engine.restore_photo(small, [("fsrnet", FixedFace(mine))], scale=4, aligned=True, precision="fp32")
    [face] = oracle.faces
    assert face.size_px == 32 and face.checks["fsrnet"].passed, face.checks["fsrnet"].describe()
    assert not np.array_equal(oracle.image, lanczos)
    impostor = engine.restore_photo(small, [("fsrnet", FixedFace(someone_else))], scale=4, aligned=True,
                                    precision="fp32")
    assert not impostor.faces[0].checks["fsrnet"].passed
    assert np.array_equal(impostor.image, lanczos)
