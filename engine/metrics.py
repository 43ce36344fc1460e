"""Image-quality metrics with the conventions of the seed papers' official code (docs/models.md#conventions).

PSNR and SSIM are computed on the BT.601 "MATLAB" luma, Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for RGB in
0..255, truncated to uint8 as both official code bases do, with no border crop. SSIM follows scikit-image's
Gaussian variant used by Face-SPARNet: sigma 1.5 (11x11 window), population covariance, data range 255, and the mean
taken after cropping the 5-pixel border the filter cannot see.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

Y_COEFFS = np.array([65.481, 128.553, 24.966]) / 255.0
Y_OFFSET = 16.0


def rgb_to_y(image: np.ndarray, truncate: bool = True) -> np.ndarray:
    """uint8 (or 0..255 float) HxWx3 RGB -> Y channel; uint8-truncated like the official code when `truncate`."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    y = image.astype(np.float64) @ Y_COEFFS + Y_OFFSET
    return y.astype(np.uint8).astype(np.float64) if truncate else y


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0, min_mse: float = 0.0) -> float:
    """PSNR in dB between two arrays of equal shape; inf for identical inputs unless `min_mse` > 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    mse = max(float(np.mean((a - b) ** 2)), min_mse)
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range**2 / mse)


def psnr_y(sr: np.ndarray, hr: np.ndarray) -> float:
    """PSNR on the uint8 Y channel of two uint8 RGB images."""
    return psnr(rgb_to_y(sr), rgb_to_y(hr))


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0, sigma: float = 1.5) -> float:
    """Gaussian-window SSIM of two single-channel images (scikit-image's gaussian_weights=True convention)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two equal 2-D images, got {a.shape} and {b.shape}")
    truncate = 3.5
    pad = int(truncate * sigma + 0.5)

    def blur(x: np.ndarray) -> np.ndarray:
        return gaussian_filter(x, sigma=sigma, truncate=truncate, mode="reflect")

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(s[pad:-pad, pad:-pad].mean()) if min(a.shape) > 2 * pad else float(s.mean())


def ssim_y(sr: np.ndarray, hr: np.ndarray) -> float:
    """SSIM on the uint8 Y channel of two uint8 RGB images."""
    return ssim(rgb_to_y(sr), rgb_to_y(hr))


def landmark_nrmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean point error normalised by the inter-ocular distance (outer eye corners 36 and 45 of iBUG-68)."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if pred.shape != target.shape or pred.shape[-2:] != (68, 2):
        raise ValueError(f"expected matching (..., 68, 2) landmarks, got {pred.shape} and {target.shape}")
    iod = np.linalg.norm(target[..., 36, :] - target[..., 45, :], axis=-1)
    err = np.linalg.norm(pred - target, axis=-1).mean(-1)
    return float(np.mean(err / np.maximum(iod, 1e-6)))


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def laplacian_sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the Y channel (OpenCV's YCrCb): a no-reference amount of fine detail, higher =
    sharper; what the README's GAN-vs-PSNR comparisons report."""
    y = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float64)
    return float(cv2.Laplacian(y, cv2.CV_64F).var())
