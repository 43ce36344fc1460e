"""engine.restore_photo end to end on real photos, with untrained (randomly initialised) networks.

No trained weights exist yet, so these tests check the pipeline, not the pictures: sizes, dtypes, channels, where the
faces land (with an identity "model" whose output is its own upsampled input), maps, notes, callbacks, metadata.
Networks are built small (TINY overrides) so every family runs in seconds on a shared CPU.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import engine
from engine import zoo
from engine.restore import Cancelled, compose_photo, load_models, restore_faces, size_note

TINY = {"fsrnet": dict(width=8, prior_width=16, encoder_blocks=1, coarse_blocks=1, decoder_blocks=1, stacks=1),
        "sparnet": dict(min_ch=8, max_ch=16, res_depth=1),
        "selfsr": dict(widths=(16, 16, 8, 8), gamma_hidden=8, blocks_per_level=1)}


def tiny(name: str, seed: int = 0) -> nn.Module:
    """An untrained, small network of the variant (falls back to the full size for an unknown family)."""
    torch.manual_seed(seed)
    family = zoo.variant(name).family
    try:
        return zoo.build(name, **TINY.get(family, {})).eval()
    except TypeError:
        return zoo.build(name).eval()


class IdentityFSRNet(nn.Module):
    """Returns its input (the bicubic-upsampled LR face): pasting it back must reproduce the photo's faces."""

    def forward(self, x):
        from engine.models.fsrnet import FSRNetOutput

        priors = torch.zeros(x.shape[0], 79, 64, 64)
        priors[:, 30, 32, 32] = 1.0  # nose tip at the crop centre
        return FSRNetOutput(x, [priors], x)


@pytest.fixture(scope="module")
def solvay(shared_data):
    from engine.io import read_image

    return read_image(shared_data / "photos" / "solvay_conference_1927.jpg")


@pytest.fixture(scope="module")
def front_row(solvay):
    """A 550 x 300 part of the Solvay photo with 3 faces: cheap enough for every family."""
    return np.ascontiguousarray(solvay.pixels[200:500, 150:700])


def _blurred(a: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(a.astype(np.float32), (0, 0), 4)


def test_whole_solvay_faces_land_where_they_were(solvay):
    """All 28 dlib faces pasted at x2; each output face region matches the upscaled original face region."""
    import cv2

    result = engine.restore_photo(solvay.pixels, [("fsrnet", IdentityFSRNet())], scale=2)
    h, w = solvay.pixels.shape[:2]
    assert result.image.shape == (2 * h, 2 * w, 3) and result.image.dtype == np.uint8
    assert len(result.faces) >= 26 and not any(f.skipped for f in result.faces)
    reference = cv2.resize(solvay.pixels, (2 * w, 2 * h), interpolation=cv2.INTER_LANCZOS4)
    for face in result.faces:
        x0, y0, x1, y1 = (int(round(v * 2)) for v in face.box)
        x0, y0 = max(0, x0), max(0, y0)
        a, b = _blurred(result.image[y0:y1, x0:x1]), _blurred(reference[y0:y1, x0:x1])
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95, face.index
        assert np.abs(a - b).mean() < 12
        assert set(face.crops) == {"coarse128"} and face.crops["coarse128"].image.shape == (128, 128, 3)
        assert face.outputs["fsrnet"].shape == (128, 128, 3)
        assert face.maps["fsrnet"]["priors"].shape == (79, 64, 64)
        assert face.maps["fsrnet"]["landmarks"].shape == (68, 2)
        assert any("detail above 16 px is discarded" in n for n in face.notes)  # Solvay faces are ~90 px
    nose = result.faces[0].maps["fsrnet"]["landmarks"][30]
    assert np.abs(nose - 64.5).max() < 1.5  # heatmap peak at (32, 32) of 64 -> crop centre
    assert set(result.timings) >= {"read", "detect", "align", "restore:fsrnet", "paste:fsrnet", "total"}


def _first_x8_variant_per_family() -> list[str]:
    chosen: dict[str, str] = {}
    for n in zoo.names(task="restore"):
        v = zoo.variant(n)
        if v.lr_size <= 64:
            chosen.setdefault(v.family, n)
    return list(chosen.values())


@pytest.mark.parametrize("name", _first_x8_variant_per_family())
def test_each_family_restores_the_whole_solvay_photo(name, solvay):
    """Untrained nets paint garbage faces, but only inside the faces' own regions, at the right output size."""
    import cv2

    result = engine.restore_photo(solvay.pixels, [(name, tiny(name))], scale=2, precision="fp32", no_harm=False)
    h, w = solvay.pixels.shape[:2]
    assert result.image.shape == (2 * h, 2 * w, 3) and len(result.faces) >= 26
    assert sum(not f.skipped for f in result.faces) == len(result.faces)
    background = cv2.resize(solvay.pixels, (2 * w, 2 * h), interpolation=cv2.INTER_LANCZOS4)
    inside = np.zeros((2 * h, 2 * w), bool)
    for face in result.faces:
        crop = face.crops["coarse128"]
        corners = np.array([[-0.5, -0.5], [127.5, 127.5]])
        (x0, y0), (x1, y1) = (align_points(crop, corners) + 0.5) * 2
        inside[max(0, int(y0) - 2):int(y1) + 3, max(0, int(x0) - 2):int(x1) + 3] = True
        x0, y0, x1, y1 = (int(v * 2) for v in face.box)
        assert np.abs(result.image[max(0, y0):y1, max(0, x0):x1].astype(int)
                      - background[max(0, y0):y1, max(0, x0):x1]).mean() > 1  # the face was replaced
    changed = np.abs(result.image.astype(int) - background).max(axis=2) > 0
    assert not (changed & ~inside).any(), "pixels changed outside every face's crop region"


def align_points(crop, points):
    from engine.faces.align import invert, transform_points

    return transform_points(invert(crop.matrix), points)


@pytest.mark.parametrize("name", [n for n in zoo.names(task="restore") if zoo.variant(n).lr_size <= 64])
def test_every_x8_variant_restores_a_photo(name, front_row):
    result = engine.restore_photo(front_row, [(name, tiny(name))], scale=2, precision="fp32")
    v = zoo.variant(name)
    assert result.image.shape == (600, 1100, 3) and result.image.dtype == np.uint8
    assert result.images.keys() == {name} and len(result.faces) >= 2
    for face in result.faces:
        assert face.outputs[name].shape == (v.hr_size, v.hr_size, 3) and face.outputs[name].dtype == np.uint8
        assert face.seconds[name] > 0
        assert all(np.isfinite(m).all() for m in face.maps[name].values())
    if v.family == "sparnet":
        assert result.faces[0].maps[name]["attention"].ndim == 3
    # outside the faces the photo is the Lanczos upscale, untouched
    import cv2

    reference = cv2.resize(front_row, (1100, 600), interpolation=cv2.INTER_LANCZOS4)
    assert np.array_equal(result.image[:20, :20], reference[:20, :20])


def test_hd_variant_uses_the_ffhq_crop(front_row):
    names = [n for n in zoo.names(task="restore") if zoo.variant(n).crop == "ffhq512"]
    if not names:
        pytest.skip("no 512 (SPARNetHD) variant registered")
    name = "sparnethd-lite" if "sparnethd-lite" in names else names[0]
    one_face = np.ascontiguousarray(front_row[60:260, 0:200])
    result = engine.restore_photo(one_face, [(name, tiny(name))], scale=1.5, precision="fp32")
    assert result.image.shape == (300, 300, 3) and len(result.faces) == 1
    face = result.faces[0]
    assert face.crops["ffhq512"].image.shape == (512, 512, 3) and face.outputs[name].shape == (512, 512, 3)
    assert any("enlarged" in n for n in face.notes)  # a ~100 px face for a 512 px model is reported


def test_several_models_saved_with_zoo_weights(front_row, tmp_path):
    """Models found by name in the user models folder; provenance carries the weights' sha256."""
    for seed, name in enumerate(("fsrnet", "fsrgan")):
        zoo.save_weights(tiny(name, seed), zoo.user_models_dir() / f"{name}.safetensors", name)
    result = engine.restore_photo(front_row, ["fsrnet", "fsrgan"], scale=1, precision="fp32", no_harm=False)
    assert set(result.images) == {"fsrnet", "fsrgan"} and result.image is result.images["fsrnet"]
    assert result.image.shape == front_row.shape
    assert not np.array_equal(result.images["fsrnet"], result.images["fsrgan"])
    sha = zoo.sha256_of(zoo.user_models_dir() / "fsrnet.safetensors")
    assert result.provenance["fsrnet"]["weights_sha256"] == sha
    assert result.provenance["fsrnet"]["weights"] == "fsrnet.safetensors"


def test_missing_weights_say_where_to_put_them():
    with pytest.raises(zoo.WeightsNotFound, match="no weights for 'fsrgan'"):
        engine.restore_photo(np.zeros((64, 64, 3), np.uint8), ["fsrgan"])
    with pytest.raises(ValueError, match="not a model variant"):
        load_models([("mystery", IdentityFSRNet())])
    assert load_models([("fsrnet:identity", IdentityFSRNet())])[0].variant.name == "fsrnet"


def test_grey_16bit_and_rgba_inputs_keep_their_kind(front_row):
    model = [("fsrnet", IdentityFSRNet())]
    grey = front_row.mean(axis=2).astype(np.uint8)
    out = engine.restore_photo(grey, model, scale=2).image
    assert out.shape == (600, 1100) and out.dtype == np.uint8
    deep = front_row.astype(np.uint16) * 257
    out = engine.restore_photo(deep, model, scale=2).image
    assert out.shape == (600, 1100, 3) and out.dtype == np.uint16 and out.max() > 255
    alpha = np.full(front_row.shape[:2], 77, np.uint8)
    out = engine.restore_photo(np.dstack([front_row, alpha]), model, scale=2).image
    assert out.shape == (600, 1100, 4) and (out[..., 3] == 77).all()
    # grey content stored as RGB comes back grey (faces are not colourised)
    grey_rgb = np.repeat(grey[:, :, None], 3, axis=2)
    result = engine.restore_photo(grey_rgb, [("fsrnet", tiny("fsrnet"))], scale=1, precision="fp32")
    assert np.ptp(result.image.astype(int), axis=2).max() <= 1


def test_tta_inverts_its_transforms(front_row):
    plain = engine.restore_photo(front_row, [("fsrnet", IdentityFSRNet())], scale=1)
    fused = engine.restore_photo(front_row, [("fsrnet", IdentityFSRNet())], scale=1, tta=True)
    assert np.abs(plain.image.astype(int) - fused.image.astype(int)).max() <= 1


def test_building_blocks_detect_then_restore_chosen_faces(front_row):
    from engine.faces.detect import detect_faces

    detections = detect_faces(front_row)
    chosen = detections[1:2]
    faces = restore_faces(front_row, chosen, [("fsrnet", IdentityFSRNet())])
    assert len(faces) == 1 and faces[0].box == tuple(float(v) for v in chosen[0].box)
    photo = compose_photo(front_row, faces, "fsrnet", scale=2, blend=0.0)
    import cv2

    assert np.array_equal(photo, cv2.resize(front_row, (1100, 600), interpolation=cv2.INTER_LANCZOS4))


class IdentityBlind(nn.Module):
    """A same-size restorer that restores nothing: returns its input."""

    def forward(self, x):
        from engine.models.sparnet import SPARNetOutput

        return SPARNetOutput(x, torch.zeros_like(x[:, :1]))


def test_same_size_restorers_paste_their_correction(front_row):
    """A blind restorer that changed nothing gives back the Lanczos-upscaled photo exactly (its correction is
    pasted, not its resampled output); x8 models are not same-size restorers."""
    import cv2

    assert zoo.variant("sparnet-blind").same_size and zoo.variant("sparnethd-blind256").same_size
    assert zoo.variant("sparnethd").same_size
    assert not zoo.variant("fsrnet").same_size and not zoo.variant("selfsr-lite").same_size
    assert not zoo.variant("selfsr-degrader").same_size
    from engine.faces.detect import detect_faces

    faces = restore_faces(front_row, detect_faces(front_row), [("sparnet-blind", IdentityBlind())])
    assert faces and all("sparnet-blind" in f.outputs for f in faces)
    lanczos = cv2.resize(front_row, (1100, 600), interpolation=cv2.INTER_LANCZOS4)
    assert np.array_equal(compose_photo(front_row, faces, "sparnet-blind", scale=2), lanczos)
    blended = compose_photo(front_row, faces, "sparnet-blind", scale=2, residual_paste=False)
    assert not np.array_equal(blended, lanczos)


def test_progress_and_cancel(front_row):
    calls = []
    engine.restore_photo(front_row, [("fsrnet", IdentityFSRNet())], progress=lambda d, t, m: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1] and [d for d, _ in calls] == sorted(d for d, _ in calls)
    with pytest.raises(Cancelled):
        engine.restore_photo(front_row, [("fsrnet", IdentityFSRNet())], cancel=lambda: True)


def test_only_center_face_aligned_and_no_face(front_row):
    one = engine.restore_photo(front_row, [("fsrnet", IdentityFSRNet())], only_center_face=True)
    assert len(one.faces) == 1
    crop = one.faces[0].crops["coarse128"].image
    aligned = engine.restore_photo(crop, [("fsrnet", tiny("fsrnet"))], scale=2, aligned=True, precision="fp32")
    assert aligned.image.shape == (256, 256, 3) and len(aligned.faces) == 1
    assert aligned.faces[0].box == (0.0, 0.0, 128.0, 128.0)
    sky = np.full((80, 120, 3), 180, np.uint8)
    empty = engine.restore_photo(sky, [("fsrnet", IdentityFSRNet())], scale=2)
    assert empty.faces == [] and empty.image.shape == (160, 240, 3) and "no face" in empty.notes[0]


def test_size_limits_are_explicit():
    assert size_note(10, 16, "m")[0] and size_note(10, 16, "m")[1] is None
    usable, note = size_note(5, 16, "m")
    assert not usable and "not restored" in note
    usable, note = size_note(200, 16, "m")
    assert usable and "face is 200 px, model input is 16 px: detail above 16 px is discarded" in note
    usable, note = size_note(100, 512, "hd")
    assert usable and "enlarged" in note
    # a face too small for the model is skipped, reported, and not pasted
    from engine.faces.detect import Detection
    from engine.faces.align import FFHQ_TEMPLATE_512

    photo = np.full((60, 60, 3), 120, np.uint8)
    five = FFHQ_TEMPLATE_512 / 512 * 6 + 20  # a 6 px face
    faces = restore_faces(photo, [Detection((20, 20, 26, 26), 0.9, five)], [("fsrnet", IdentityFSRNet())])
    assert faces[0].skipped and "not restored" in faces[0].notes[0] and not faces[0].outputs


def test_orientation_and_metadata_reach_the_result(tmp_path, front_row):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: upright is the 90-degree clockwise rotation
    exif[0x010F] = "Camera"
    path = tmp_path / "sideways.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(front_row, 1))).save(path, exif=exif.tobytes(), quality=95)
    result = engine.restore_photo(path, [("fsrnet", IdentityFSRNet())], scale=2)
    assert result.image.shape == (600, 1100, 3)  # upright, as the front row was
    assert len(result.faces) >= 2 and result.metadata.orientation == 6 and result.source == str(path)
    back = Image.Exif()
    back.load(result.metadata.exif)
    assert back.get(0x0112) == 1 and back.get(0x010F) == "Camera"


def test_forget_drops_one_labels_output_checks_and_notes():
    from engine.restore import FaceResult

    face = FaceResult(index=0, box=(0, 0, 40, 40), score=1.0, landmarks5=np.zeros((5, 2), np.float32),
                      landmarks68=None)
    for label in ("auto", "fsrnet"):
        face.outputs[label] = np.zeros((8, 8, 3), np.uint8)
        face.seconds[label] = 0.1
        face.notes.append(f"{label}: face is 40 px")
    face.chosen["auto"] = "sparnet-blind"
    face.forget("auto")
    assert list(face.outputs) == ["fsrnet"] and list(face.seconds) == ["fsrnet"] and not face.chosen
    assert face.notes == ["fsrnet: face is 40 px"]
