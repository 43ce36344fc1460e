"""engine.faces: detector back ends (recall on Solvay 1927), per-protocol crops and exact paste-back."""
from __future__ import annotations

import numpy as np
import pytest

from engine.faces import align, detect, paste

SOLVAY_FACES = 29
BACKENDS = {  # back end -> (model file under ../shared/data/models or None, minimum faces found on Solvay)
    "dlib": (None, 26),
    "insightface": ("scrfd_500m_kps.onnx", SOLVAY_FACES),
    "yunet": ("yunet_n_dynamic.onnx", SOLVAY_FACES),
}


@pytest.fixture(scope="module")
def solvay(shared_data):
    from engine.io import read_image

    return read_image(shared_data / "photos" / "solvay_conference_1927.jpg").pixels


def _model_path(shared_data, backend):
    name = BACKENDS[backend][0]
    if name is None:
        return None
    path = shared_data / "models" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: cannot test the {backend} back end")
    return path


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_detection_recall_on_solvay(backend, solvay, shared_data):
    faces = detect.detect_faces(solvay, backend, _model_path(shared_data, backend))
    assert len(faces) >= BACKENDS[backend][1], f"{backend} found {len(faces)} of {SOLVAY_FACES} faces"
    assert len(faces) <= SOLVAY_FACES + 1  # no flood of false positives
    for f in faces:
        x0, y0, x1, y1 = f.box
        assert x1 > x0 and y1 > y0 and 0 < f.score <= 1.0
        assert f.landmarks5.shape == (5, 2)
        le, re_, nose, lm, rm = f.landmarks5
        assert le[0] < re_[0] and lm[0] < rm[0], "5 points must be image-left first"
        assert le[1] < nose[1] < (lm[1] + rm[1]) / 2 + 2, "eyes above nose above mouth"
        # landmarks lie in (or right next to) the box
        assert (f.landmarks5[:, 0] > x0 - 0.2 * (x1 - x0)).all() and (f.landmarks5[:, 0] < x1 + 0.2 * (x1 - x0)).all()
    if backend == "dlib":
        assert all(f.landmarks68 is not None and f.landmarks68.shape == (68, 2) for f in faces)
    xs = [f.center[0] for f in faces]
    assert xs == sorted(xs), "faces are ordered left to right"


def test_backends_agree_on_face_positions(solvay, shared_data):
    """Every dlib face is also found by SCRFD at nearly the same eye positions."""
    dlib_faces = detect.detect_faces(solvay, "dlib")
    scrfd = detect.detect_faces(solvay, "insightface", _model_path(shared_data, "insightface"))
    for f in dlib_faces:
        eyes = f.landmarks5[:2].mean(0)
        dist = min(np.linalg.norm(g.landmarks5[:2].mean(0) - eyes) for g in scrfd)
        iod = np.linalg.norm(f.landmarks5[1] - f.landmarks5[0])
        assert dist < 0.5 * iod


def test_detectors_accept_16bit_grey_and_rgba(solvay):
    part = solvay[200:500, 150:700]
    n = len(detect.detect_faces(part))
    assert n >= 2
    grey16 = (part.mean(axis=2).astype(np.uint16) * 257)
    assert len(detect.detect_faces(grey16)) >= n - 1
    rgba = np.dstack([part, np.full(part.shape[:2], 255, np.uint8)])
    assert len(detect.detect_faces(rgba)) == n


def test_missing_optional_models_say_what_to_put_where(tmp_path):
    for backend in ("insightface", "yunet"):
        with pytest.raises(detect.DetectorModelMissing, match="--detector-model") as info:
            detect.get_detector(backend, None)
        assert "Nothing is downloaded" in str(info.value)
        with pytest.raises(detect.DetectorModelMissing, match="does not exist"):
            detect.get_detector(backend, tmp_path / "nope.onnx")
        with pytest.raises(detect.DetectorModelMissing, match=str(tmp_path)):
            detect.get_detector(backend, tmp_path)  # an empty folder
    with pytest.raises(ValueError, match="unknown face detector"):
        detect.get_detector("retinaface")


def test_model_folder_is_searched(shared_data):
    folder = shared_data / "models"
    _model_path(shared_data, "yunet")
    assert isinstance(detect.get_detector("yunet", folder), detect.YuNetDetector)
    assert isinstance(detect.get_detector("insightface", folder), detect.InsightFaceDetector)


def test_dlib_models_found_without_importing_the_package():
    folder = detect.dlib_models_dir()
    assert (folder / "shape_predictor_68_face_landmarks.dat").is_file()


# ----- landmarks and crops -----------------------------------------------------------------------------------------
def _synthetic_68(cx=200.0, cy=150.0, size=100.0) -> np.ndarray:
    return (align.MEAN_SHAPE_68 - 0.5) * size + np.array([cx, cy], np.float32)


def test_five_points_and_shape_estimate_are_consistent():
    pts68 = _synthetic_68()
    five = detect.five_from_68(pts68)
    assert np.allclose(five[2], pts68[30]) and np.allclose(five[3], pts68[48])
    assert np.allclose(detect.order_five(five[[1, 0, 2, 4, 3]]), five)
    est = align.estimate_landmarks68(five)
    assert np.abs(est - pts68).max() < 1.0  # the mean shape maps onto itself
    box68 = align.landmark_box(five, pts68)
    box5 = align.landmark_box(five, None)
    side68 = max(box68[2] - box68[0], box68[3] - box68[1])
    side5 = max(box5[2] - box5[0], box5[3] - box5[1])
    assert abs(side5 / side68 - 1) < 0.05


def test_coarse128_follows_the_data_protocol():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    pts68 = _synthetic_68(200, 150, 80)
    crop = align.crop_coarse(photo, detect.five_from_68(pts68), pts68)
    assert crop.image.shape == (128, 128, 3) and crop.protocol == "coarse128"
    x0, y0, x1, y1 = align.landmark_box(None, pts68)
    side = 1.25 * max(x1 - x0, y1 - y0)
    assert abs(crop.source_px - side) <= 1
    # the landmark box centre maps to the crop centre (up to the integer crop box), its long side to 128 / 1.25
    centre = align.transform_points(crop.matrix, [[(x0 + x1) / 2, (y0 + y1) / 2]])[0]
    assert np.abs(centre - 63.5).max() <= crop.matrix[0, 0] + 0.01
    assert abs(crop.matrix[0, 0] * max(x1 - x0, y1 - y0) - 128 / 1.25) < 1.5


def test_coarse_crop_replicates_at_the_border():
    photo = np.zeros((100, 100, 3), np.uint8)
    photo[:, :50] = 200
    pts68 = _synthetic_68(10, 50, 60)  # face hanging over the left edge
    crop = align.crop_coarse(photo, detect.five_from_68(pts68), pts68)
    assert (crop.image[:, :10] == 200).all()  # replicated, not black


def test_ffhq512_puts_landmarks_on_the_template():
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 255, (400, 400, 3), dtype=np.uint8)
    five = align.FFHQ_TEMPLATE_512 * 0.3 + np.array([100, 80], np.float32)
    crop = align.crop_ffhq(photo, five)
    assert crop.image.shape == (512, 512, 3)
    assert np.abs(align.transform_points(crop.matrix, five) - align.FFHQ_TEMPLATE_512).max() < 0.5
    assert abs(crop.source_px - 512 * 0.3) < 1


# ----- paste-back ------------------------------------------------------------------------------------------------
def _textured(h=240, w=320, seed=0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 1.5)


@pytest.mark.parametrize("protocol", ["coarse128", "ffhq512"])
@pytest.mark.parametrize("scale", [1.0, 2.0, 3.0])
def test_paste_of_an_unmodified_crop_returns_the_original(protocol, scale):
    photo = _textured()
    pts68 = _synthetic_68(150, 120, 90)
    five = detect.five_from_68(pts68)
    crop = align.align_face(photo, five, pts68, protocol)
    background = paste.upscale_background(photo, scale)
    canvas = background.copy()
    sy, sx = canvas.shape[0] / photo.shape[0], canvas.shape[1] / photo.shape[1]
    paste.paste_face(canvas, crop.image, crop.matrix, crop.size, (sx, sy), reference=crop.image)
    x0, y0, x1, y1 = (int(v * scale) for v in (120, 90, 180, 150))  # the middle of the face, in output pixels
    changed = np.abs(canvas.astype(int) - background.astype(int))[y0:y1, x0:x1]
    err, p99 = float(changed.mean()), float(np.percentile(changed, 99))
    assert err < 1.5 and p99 < 8, (err, p99)
    # and the test is sensitive: a crop transform off by one photo pixel shows
    shifted = crop.matrix.copy()
    shifted[:, 2] += crop.matrix[0, 0]
    canvas2 = background.copy()
    paste.paste_face(canvas2, crop.image, shifted, crop.size, (sx, sy), reference=crop.image)
    err_shifted = float(np.abs(canvas2.astype(int) - background.astype(int))[y0:y1, x0:x1].mean())
    assert err_shifted > 2 * err + 1, (err, err_shifted)


@pytest.mark.parametrize("protocol", ["coarse128", "ffhq512"])
def test_residual_paste_keeps_the_photo_exactly_where_nothing_was_restored(protocol):
    """A same-size restorer that changed nothing leaves the upscaled photo bit-identical when its correction is
    pasted (base=), while blending its output in resamples the face twice; a real correction still lands."""
    photo = _textured()
    pts68 = _synthetic_68(150, 120, 90)
    crop = align.align_face(photo, detect.five_from_68(pts68), pts68, protocol)
    background = paste.upscale_background(photo, 1.0)
    resid = paste.paste_face(background.copy(), crop.image, crop.matrix, crop.size, (1.0, 1.0), base=crop.image)
    assert np.array_equal(resid, background)
    blended = paste.paste_face(background.copy(), crop.image, crop.matrix, crop.size, (1.0, 1.0))
    assert not np.array_equal(blended, background)  # resampled out and back: the photo's pixels change
    brighter = np.clip(crop.image.astype(int) + 20, 0, 255).astype(np.uint8)
    lifted = paste.paste_face(background.copy(), brighter, crop.matrix, crop.size, (1.0, 1.0), base=crop.image)
    centre = (slice(110, 130), slice(140, 160))
    diff = lifted[centre].astype(int) - background[centre].astype(int)
    assert abs(diff.mean() - 20) < 3  # +20 levels where the face was (clipped at 255 in places)


def test_paste_lands_a_marker_where_it_was():
    photo = np.full((200, 300, 3), 100, np.uint8)
    pts68 = _synthetic_68(160, 90, 80)
    crop = align.crop_coarse(photo, detect.five_from_68(pts68), pts68)
    face = crop.image.copy()
    face[60:68, 60:68] = 255  # a bright dot in the crop centre
    canvas = paste.upscale_background(photo, 2)
    paste.paste_face(canvas, face, crop.matrix, crop.size, (2.0, 2.0))
    ys, xs = np.nonzero(canvas[..., 0] > 180)
    dot_crop = np.array([[63.5, 63.5]])
    expected = align.transform_points(align.invert(crop.matrix), dot_crop)[0] * 2 + 0.5
    assert abs(xs.mean() - expected[0]) < 1.0 and abs(ys.mean() - expected[1]) < 1.0


def test_blend_colour_match_grey_and_16bit():
    photo = np.full((120, 160, 3), 80, np.uint8)
    pts68 = _synthetic_68(80, 60, 50)
    crop = align.crop_coarse(photo, detect.five_from_68(pts68), pts68)
    bright_red = np.zeros_like(crop.image)
    bright_red[..., 0] = 250
    centre = (slice(110, 130), slice(150, 170))
    # blend 0: untouched; colour match: the red box takes the original face's tone
    canvas = paste.upscale_background(photo, 2)
    assert np.array_equal(paste.paste_face(canvas.copy(), bright_red, crop.matrix, 128, (2, 2), blend=0.0), canvas)
    matched = paste.paste_face(canvas.copy(), bright_red, crop.matrix, 128, (2, 2), reference=crop.image)
    assert np.abs(matched[centre].astype(int) - 80).max() <= 3
    half = paste.paste_face(canvas.copy(), bright_red, crop.matrix, 128, (2, 2), blend=0.5)
    assert abs(int(half[centre][..., 0].mean()) - (80 + 250) // 2) <= 2
    grey = paste.paste_face(canvas.copy(), bright_red, crop.matrix, 128, (2, 2), gray=True)
    assert np.ptp(grey[centre].astype(int), axis=-1).max() <= 1
    deep = (canvas.astype(np.uint16) * 257)
    out16 = paste.paste_face(deep, bright_red, crop.matrix, 128, (2, 2))
    assert out16.dtype == np.uint16 and abs(int(out16[centre][..., 0].mean()) - 250 * 257) < 600


def test_landmark_mask_limits_the_paste():
    photo = np.full((200, 200, 3), 50, np.uint8)
    pts68 = _synthetic_68(100, 100, 100)
    crop = align.crop_coarse(photo, detect.five_from_68(pts68), pts68)
    white = np.full_like(crop.image, 255)
    lm = align.transform_points(crop.matrix, pts68)
    sq = paste.paste_face(paste.upscale_background(photo, 1), white, crop.matrix, 128, (1, 1))
    poly = paste.paste_face(paste.upscale_background(photo, 1), white, crop.matrix, 128, (1, 1), mask="landmarks",
                            landmarks=lm)
    assert (poly > 60).sum() < (sq > 60).sum()
    assert poly[100, 100, 0] > 240  # the face centre is still fully restored


def test_output_size_and_alpha():
    assert paste.output_size((1066, 2732), 2) == (2132, 5464)
    assert paste.output_size((10, 10), 1.55) == (16, 16)
    rgb = np.zeros((20, 30, 3), np.uint8)
    out = paste.attach_alpha(paste.upscale_background(rgb, 2), np.full((20, 30), 9, np.uint8), 2)
    assert out.shape == (40, 60, 4) and (out[..., 3] == 9).all()
