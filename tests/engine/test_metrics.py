"""Metric conventions of the official code: BT.601 Y, uint8 truncation, Gaussian SSIM (sigma 1.5), no border crop."""
import numpy as np
import pytest

from engine import metrics


def test_y_conversion_constants():
    white = np.full((1, 1, 3), 255, np.uint8)
    black = np.zeros((1, 1, 3), np.uint8)
    red = np.array([[[255, 0, 0]]], np.uint8)
    assert metrics.rgb_to_y(white)[0, 0] == 235  # 16 + 219
    assert metrics.rgb_to_y(black)[0, 0] == 16
    assert metrics.rgb_to_y(red)[0, 0] == 81  # 16 + 65.481 = 81.481, truncated
    assert metrics.rgb_to_y(red, truncate=False)[0, 0] == pytest.approx(81.481)


def test_psnr_known_pair():
    a = np.zeros((8, 8), np.uint8)
    b = np.full((8, 8), 10, np.uint8)  # MSE 100 -> 10 log10(255^2 / 100)
    assert metrics.psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 100))
    assert metrics.psnr(a, a) == float("inf")
    assert metrics.psnr(a, a, min_mse=1.0) == pytest.approx(10 * np.log10(255**2))


def test_psnr_y_of_uniform_shift():
    hr = np.full((16, 16, 3), 100, np.uint8)
    sr = hr.copy()
    sr[..., 1] += 2  # G +2 -> Y +1.008 -> truncated difference of exactly 1
    assert metrics.psnr_y(sr, hr) == pytest.approx(10 * np.log10(255**2))


def test_ssim_of_image_with_itself_is_one():
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert metrics.ssim_y(img, img) == pytest.approx(1.0)


def test_ssim_matches_scikit_image_gaussian_convention():
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (48, 40)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    ref = skm.structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False)
    assert metrics.ssim(a, b) == pytest.approx(ref, abs=1e-9)


def test_landmark_nrmse_is_normalised_by_interocular_distance():
    target = np.zeros((68, 2))
    target[36] = (0, 0)
    target[45] = (50, 0)
    pred = target + np.array([5.0, 0.0])  # every point 5 px off, IOD 50 -> 0.1
    assert metrics.landmark_nrmse(pred, target) == pytest.approx(0.1)


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        metrics.psnr(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError):
        metrics.rgb_to_y(np.zeros((4, 4)))


def test_laplacian_sharpness_ranks_detail():
    import cv2

    from engine.metrics import laplacian_sharpness

    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    blurred = cv2.GaussianBlur(noise, (0, 0), 2)
    assert laplacian_sharpness(np.full((64, 64, 3), 128, np.uint8)) == 0.0
    assert laplacian_sharpness(noise) > 10 * laplacian_sharpness(blurred) > 0
