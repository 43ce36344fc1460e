"""FSRNet prior targets: heatmap peaks sit on the landmarks, parsing maps are partitions that cover the right parts."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.models.fsrnet import heatmap_peaks
from trainer import targets as T
from trainer.data import SampleSpec, make_sample, read_landmark_csv, read_rgb


@pytest.fixture(scope="module")
def faces(shared_data):
    return read_landmark_csv(shared_data / "faces128" / "landmarks68.csv")[::3000]


def test_heatmap_peak_is_at_the_landmark(faces):
    for rec in faces:
        h = T.heatmaps(rec.landmarks, 128)
        assert h.shape == (68, 64, 64) and h.dtype == np.float32
        assert h.max() <= 1.0 + 1e-6 and h.max(axis=(1, 2)).min() > 0.3  # a peak of ~1 per in-image landmark
        # argmax cell is the nearest prior-grid cell to the landmark
        grid = T.to_prior_coords(rec.landmarks, 128)
        flat = h.reshape(68, -1).argmax(1)
        inside = (grid.min(1) >= 0) & (grid.max(1) <= 63)
        assert np.all(np.abs(flat[inside] % 64 - np.round(grid[inside, 0])) <= 1)
        assert np.all(np.abs(flat[inside] // 64 - np.round(grid[inside, 1])) <= 1)
        # read back through the model's own peak decoder (sub-pixel soft-argmax): within half an HR pixel
        peaks = heatmap_peaks(torch.from_numpy(h)[None], 128)[0].numpy()
        assert np.abs(peaks[inside] - rec.landmarks[inside]).max() < 0.5


def test_parsing_maps_partition_and_cover_parts(faces):
    for rec in faces:
        p = T.parsing_maps(rec.landmarks, 128)
        assert p.shape == (len(T.PARSING_CLASSES), 64, 64)
        np.testing.assert_allclose(p.sum(0), 1.0, atol=1e-6)
        assert p[T.PARSING_CLASSES.index("hair")].max() == 0  # documented: not derivable from landmarks
        label = T.parsing_label_map(rec.landmarks, 128, supersample=1)
        for cls, idx in (("eye_left", range(36, 42)), ("eye_right", range(42, 48)), ("inner_mouth", range(60, 68)),
                         ("nose", [30, 33])):
            c = rec.landmarks[list(idx)].mean(0)
            x, y = int(round(c[0])), int(round(c[1]))
            assert T.PARSING_CLASSES[label[y, x]] == cls, (rec.path, cls)
        assert p[1].sum() > p[4].sum() + p[5].sum()  # more skin than eyes


def test_flip_maps_landmarks_and_classes_consistently(faces):
    rec = faces[0]
    flipped = T.flip_landmarks(rec.landmarks, 128)
    np.testing.assert_allclose(T.heatmaps(flipped, 128), T.heatmaps(rec.landmarks, 128)[T.FLIP_68][:, :, ::-1],
                               atol=1e-5)
    mirrored = T.parsing_maps(rec.landmarks, 128)[T.FLIP_PARSING][:, :, ::-1]
    np.testing.assert_allclose(T.parsing_maps(flipped, 128), mirrored,
                               atol=0.2)  # polygon rasterisation is not exactly mirror-symmetric at edges
    assert sorted(T.FLIP_68.tolist()) == list(range(68))
    assert np.array_equal(T.FLIP_68[T.FLIP_68], np.arange(68))  # an involution


def test_sample_targets_follow_the_augmented_image(faces):
    rec = faces[1]
    image = read_rgb(rec.path)
    spec = SampleSpec(priors=True, landmarks=True, hflip=True)
    for seed in range(4):
        s = make_sample(image, rec.landmarks, spec, np.random.default_rng(seed))
        flipped = not np.array_equal(s["hr"].numpy().transpose(1, 2, 0), image)
        expect = T.flip_landmarks(rec.landmarks, 128) if flipped else rec.landmarks
        np.testing.assert_allclose(s["landmarks"].numpy(), expect, atol=1e-4)
        np.testing.assert_allclose(s["priors"][:68].numpy(), T.heatmaps(expect, 128), atol=1e-6)
        assert s["input"].shape == (3, 128, 128) and s["lr"].shape == (3, 16, 16) and s["hr"].dtype == torch.uint8
