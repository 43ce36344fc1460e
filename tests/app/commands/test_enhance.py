"""`fsr-studio enhance` end to end: a folder of good and bad photos, re-runs, exports, errors and exit codes.

Photos are generated in tmp_path from a shared photo (never copied into the repository); the models are small
untrained networks saved with zoo.save_weights into the temporary user models folder set by conftest (which also hides
the bundled weights), so which variants `auto` finds is decided by each test.
"""
from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from app.cli import main
from engine import io as eio
from engine import auto
from engine import zoo

TINY_FSRNET = dict(width=8, prior_width=16, encoder_blocks=1, coarse_blocks=1, decoder_blocks=1, stacks=1)


@pytest.fixture()
def weights():
    torch.manual_seed(0)
    return zoo.save_weights(zoo.build("fsrnet", **TINY_FSRNET), zoo.user_models_dir() / "fsrnet.safetensors",
                            "fsrnet")


@pytest.fixture(scope="module")
def faces_rgb(shared_data):
    """Part of the Solvay photo with 3 faces, 550 x 300."""
    photo = eio.read_image(shared_data / "photos" / "solvay_conference_1927.jpg")
    return np.ascontiguousarray(photo.pixels[200:500, 150:700])


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _mixed_folder(folder, rgb):
    folder.mkdir()
    Image.fromarray(rgb).save(folder / "colour.jpg", quality=92)
    good = (folder / "colour.jpg").read_bytes()
    (folder / "corrupt.jpg").write_bytes(good[: len(good) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("shopping list: milk, eggs\n")
    eio.write_image(folder / "deep.tif", rgb.astype(np.uint16) * 257)
    Image.fromarray(rgb.mean(axis=2).astype(np.uint8)).save(folder / "grey.png")
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 90, np.uint8)]), "RGBA").save(folder / "clear.png")
    return folder


def test_folder_with_good_and_bad_files(tmp_path, faces_rgb, weights, capsys):
    src = _mixed_folder(tmp_path / "in", faces_rgb)
    before = _digest(src)
    out = tmp_path / "out"
    rc = main(["enhance", "-i", str(src), "-o", str(out), "-m", "fsrnet", "-s", "2", "--precision", "fp32"])
    err = capsys.readouterr().err
    assert rc == 1
    assert _files(out) == ["clear_fsrnet.png", "colour_fsrnet.jpg", "deep_fsrnet.tif", "grey_fsrnet.png"]
    assert "4 restored, 0 already done, 3 failed" in err
    assert "corrupt.jpg: truncated or corrupt JPEG" in err
    assert "empty.jpg: the file is empty" in err
    assert "notes.jpg: text, not an image" in err
    assert _digest(src) == before  # inputs untouched, byte for byte

    colour = eio.read_image(out / "colour_fsrnet.jpg")
    assert colour.pixels.shape == (600, 1100, 3)
    deep = eio.read_image(out / "deep_fsrnet.tif")
    assert deep.pixels.dtype == np.uint16 and deep.pixels.shape == (600, 1100, 3)
    grey = eio.read_image(out / "grey_fsrnet.png")
    assert grey.is_gray and grey.pixels.shape == (600, 1100)
    clear = eio.read_image(out / "clear_fsrnet.png")
    assert clear.alpha is not None and (clear.alpha == 90).all()
    provenance = eio.read_provenance(out / "colour_fsrnet.jpg")
    assert provenance["model"] == "fsrnet" and provenance["weights_sha256"] == zoo.sha256_of(weights)
    assert provenance["scale"] == 2.0 and provenance["source"] == "colour.jpg"

    # a re-run skips the finished photos, leaves them alone and still reports the bad ones
    stamps = {p: p.stat().st_mtime_ns for p in out.iterdir()}
    rc = main(["enhance", "-i", str(src), "-o", str(out), "-m", "fsrnet", "-s", "2"])
    err = capsys.readouterr().err
    assert rc == 1 and "0 restored, 4 already done, 3 failed" in err
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == stamps
    assert _digest(src) == before


def test_saves_faces_priors_and_keeps_orientation(tmp_path, faces_rgb, weights, capsys):
    src = tmp_path / "in"
    src.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 8  # stored rotated: upright is the 90-degree counter-clockwise rotation
    exif[0x010F] = "Camera"
    Image.fromarray(np.ascontiguousarray(np.rot90(faces_rgb, -1))).save(src / "turned.jpg", exif=exif.tobytes(),
                                                                        quality=95)
    out = tmp_path / "out"
    rc = main(["enhance", "-i", str(src / "turned.jpg"), "-o", str(out), "-m", "fsrnet", "-s", "1.5",
               "--ext", "png", "--suffix", "hd", "--save-faces", "--save-priors", "--precision", "fp32"])
    assert rc == 0, capsys.readouterr().err
    result = eio.read_image(out / "turned_hd.png")
    assert result.pixels.shape == (450, 825, 3) and result.metadata.orientation == 1
    exif_back = Image.Exif()
    exif_back.load(result.metadata.exif)
    assert exif_back.get(0x010F) == "Camera"
    restored = sorted((out / "restored_faces").iterdir())
    assert len(restored) >= 2 and restored[0].name == "turned_00_fsrnet.png"
    assert (out / "cropped_faces" / "turned_00.png").is_file() and (out / "cmp" / "turned_00.png").is_file()
    assert Image.open(out / "cmp" / "turned_00.png").size == (256, 128)
    prior_dir = out / "priors" / "turned_00_fsrnet"
    names = {p.name for p in prior_dir.iterdir()}
    assert {"landmark_00.png", "landmark_67.png", "parsing_00.png", "parsing_10.png", "composite.png",
            "maps.npz", "landmarks.json"} <= names
    maps = np.load(prior_dir / "maps.npz")
    assert maps["priors"].shape == (79, 64, 64) and maps["landmarks"].shape == (68, 2)
    record = json.loads((prior_dir / "landmarks.json").read_text())
    box = record["box"]
    pts = np.array(record["landmarks68"])
    assert (pts[:, 0] > box[0] - 20).all() and (pts[:, 0] < box[2] + 20).all()  # photo coordinates
    assert np.array(record["predicted_landmarks68"]).shape == (68, 2)
    assert box[2] < 550 and box[3] < 300  # upright photo coordinates (the stored file was 300 x 550)


def test_output_beside_inputs_does_not_feed_on_itself(tmp_path, faces_rgb, weights, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(faces_rgb[:, :300]).save(folder / "a.png")
    assert main(["enhance", "-i", str(folder), "-o", str(folder), "-s", "1", "--precision", "fp32"]) == 0
    assert main(["enhance", "-i", str(folder), "-o", str(folder), "-s", "1"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "a_auto.png"]  # -m auto by default
    assert "0 restored, 1 already done" in capsys.readouterr().err


def test_missing_weights_and_detector_model_fail_clearly(tmp_path, faces_rgb, capsys):
    Image.fromarray(faces_rgb).save(tmp_path / "a.png")
    out = tmp_path / "out"
    assert main(["enhance", "-i", str(tmp_path / "a.png"), "-o", str(out), "-m", "fsrgan"]) == 1
    err = capsys.readouterr().err
    assert "no weights for 'fsrgan'" in err and "FSR_STUDIO_MODELS" in err
    torch.manual_seed(0)
    zoo.save_weights(zoo.build("fsrgan", **TINY_FSRNET), zoo.user_models_dir() / "fsrgan.safetensors", "fsrgan")
    assert main(["enhance", "-i", str(tmp_path / "a.png"), "-o", str(out), "-m", "fsrgan",
                 "--detector", "yunet"]) == 1
    assert "--detector-model" in capsys.readouterr().err
    assert main(["enhance", "-i", str(tmp_path / "nothing_here"), "-o", str(out)]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["enhance", "-i", str(tmp_path / "a.png"), "-o", str(out), "-m", "fsrgan,fsrnet",
                 "--weights", "x.pth"]) == 2
    assert not out.exists()


def test_explicit_weights_and_two_models(tmp_path, faces_rgb, weights, capsys):
    Image.fromarray(faces_rgb).save(tmp_path / "a.webp", quality=90)
    out = tmp_path / "out"
    moved = tmp_path / "mine.safetensors"
    weights.rename(moved)
    weights.with_suffix(".json").rename(moved.with_suffix(".json"))
    rc = main(["enhance", "-i", str(tmp_path / "a.webp"), "-o", str(out), "-m", "fsrnet", "-w", str(moved),
               "-s", "1", "--blend", "0.5", "--tta", "--only-center-face", "--precision", "fp32"])
    assert rc == 0, capsys.readouterr().err
    assert eio.read_provenance(out / "a_fsrnet.webp")["weights"] == "mine.safetensors"
    zoo.save_weights(zoo.build("fsrnet", **TINY_FSRNET), zoo.user_models_dir() / "fsrnet.safetensors", "fsrnet")
    zoo.save_weights(zoo.build("fsrgan", **TINY_FSRNET), zoo.user_models_dir() / "fsrgan.safetensors", "fsrgan")
    rc = main(["enhance", "-i", str(tmp_path / "a.webp"), "-o", str(out), "-m", "fsrnet,fsrgan", "-s", "1",
               "--suffix", "v2", "--ext", "jpg", "--precision", "fp32"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_fsrnet.webp", "a_v2_fsrgan.jpg", "a_v2_fsrnet.jpg"]


# ----- auto, family names and the no-harm check -------------------------------------------------------------------
TINY_SPARNET = dict(min_ch=8, max_ch=16, res_depth=1)


def _save(name, **config):
    torch.manual_seed(0)
    return zoo.save_weights(zoo.build(name, **config), zoo.user_models_dir() / f"{name}.safetensors", name)


def test_default_is_auto_and_keeps_faces_it_has_no_weights_for(tmp_path, faces_rgb, weights, capsys):
    """Only x8 weights (fsrnet): auto keeps the ~100 px faces as the upscaled original, and says so per face."""
    from engine.faces.paste import upscale_background

    Image.fromarray(faces_rgb).save(tmp_path / "a.png")
    out = tmp_path / "out"
    assert main(["enhance", "-i", str(tmp_path / "a.png"), "-o", str(out), "-s", "2"]) == 0
    err = capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["a_auto.png"]
    first = int(auto.AUTO_BANDS[1].min_px)
    empty = next(b for b in auto.AUTO_BANDS if not b.candidates)  # the band left to the original on purpose
    assert (f"note: auto: weights found for fsrnet; faces of {first}-{empty.min_px:g} px keep the upscaled original "
            f"(no weights for") in err
    assert f"note: auto: faces of {empty.min_px:g} px and up keep the upscaled original ({empty.why})" in err
    face_lines = [ln.strip() for ln in err.splitlines() if ln.strip().startswith("face ")]
    assert len(face_lines) >= 3 and all(ln.endswith("px): auto: kept the original") for ln in face_lines)
    assert "a.png: {} face(s), 0 restored".format(len(face_lines)) in err
    result = eio.read_image(out / "a_auto.png")
    assert np.array_equal(result.pixels, upscale_background(faces_rgb, 2))  # nothing pasted
    provenance = eio.read_provenance(out / "a_auto.png")
    assert provenance["model"] == "auto" and provenance["variant"] == "auto" and provenance["weights_sha256"] == {}
    assert set(provenance["face_models"].values()) == {"original (upscaled)"}
    assert provenance["no_harm_check"] is True
    # a weight file without -m is for the variant its card names (auto takes none)
    assert main(["enhance", "-i", str(tmp_path / "a.png"), "-o", str(out), "-w", str(weights), "-s", "1"]) == 0
    assert (out / "a_fsrnet.png").is_file()
    assert main(["enhance", "-i", str(tmp_path / "a.png"), "-o", str(out), "-m", "auto", "-w", str(weights)]) == 2
    assert "--weights needs the model it fits" in capsys.readouterr().err


def test_auto_picks_per_face_and_saves_its_priors(tmp_path, faces_rgb, capsys):
    """With blind weights (tiny, untrained) auto restores the ~100 px faces with sparnet-blind; each face says so."""
    path = _save("sparnet-blind", **TINY_SPARNET)
    Image.fromarray(faces_rgb).save(tmp_path / "a.jpg", quality=92)
    out = tmp_path / "out"
    rc = main(["enhance", "-i", str(tmp_path / "a.jpg"), "-o", str(out), "-m", "auto", "-s", "1", "--save-faces",
               "--save-priors", "--precision", "fp32"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "note: auto: weights found for sparnet-blind" in err
    face_lines = [ln.strip() for ln in err.splitlines() if ln.strip().startswith("face ")]
    assert len(face_lines) >= 3
    for line in face_lines:
        assert re.match(r"face \d\d \(\d+ px\): auto: sparnet-blind, (restored|not pasted, consistency .* dB)$",
                        line), line
    provenance = eio.read_provenance(out / "a_auto.jpg")
    assert provenance["weights_sha256"] == {"sparnet-blind": zoo.sha256_of(path)}
    assert set(provenance["face_models"].values()) == {"sparnet-blind"}
    assert (out / "restored_faces" / "a_00_auto.png").is_file()
    assert (out / "priors" / "a_00_auto" / "maps.npz").is_file()  # auto's maps, saved with the variant it picked


def test_family_name_resolves_and_is_reported(tmp_path, faces_rgb, capsys):
    _save("sparnet-light3d", **TINY_SPARNET)
    Image.fromarray(faces_rgb[:, :300]).save(tmp_path / "a.png")
    out = tmp_path / "out"
    rc = main(["enhance", "-i", str(tmp_path / "a.png"), "-o", str(out), "-m", "sparnet", "-s", "1",
               "--precision", "fp32"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "note: sparnet: no sparnet weights; using sparnet-light3d" in err
    assert sorted(p.name for p in out.iterdir()) == ["a_sparnet-light3d.png"]
    assert eio.read_provenance(out / "a_sparnet-light3d.png")["variant"] == "sparnet-light3d"


def test_no_harm_check_on_by_default_and_can_be_turned_off(tmp_path, faces_rgb, weights, capsys, monkeypatch):
    """A check nothing passes (threshold 200 dB): by default no face is pasted and each line says why;
    --no-no-harm-check pastes them all."""
    from engine import consistency
    from engine.faces.paste import upscale_background

    strict = consistency.check_consistency
    monkeypatch.setattr(consistency, "check_consistency", lambda *a, **k: strict(*a, **{**k, "threshold": 200.0}))
    Image.fromarray(faces_rgb).save(tmp_path / "a.png")
    out = tmp_path / "out"
    rc = main(["enhance", "-i", str(tmp_path / "a.png"), "-o", str(out), "-m", "fsrnet", "-s", "1",
               "--precision", "fp32"])
    err = capsys.readouterr().err
    assert rc == 0, err
    face_lines = [ln.strip() for ln in err.splitlines() if ln.strip().startswith("face ")]
    assert len(face_lines) >= 3
    for line in face_lines:
        assert re.match(r"face \d\d \(\d+ px\): fsrnet: not pasted, consistency .* dB \(contradicts the photo; "
                        r"threshold 200 dB\)$", line), line
    assert not any("contradicts" in ln for ln in err.splitlines() if "note:" in ln)  # said once, on its face line
    assert np.array_equal(eio.read_image(out / "a_fsrnet.png").pixels, faces_rgb)  # x1: the original itself
    provenance = eio.read_provenance(out / "a_fsrnet.png")
    assert provenance["faces_kept_by_no_harm_check"] == len(face_lines) and provenance["faces_restored"] == 0

    rc = main(["enhance", "-i", str(tmp_path / "a.png"), "-o", str(out), "-m", "fsrnet", "-s", "1",
               "--no-no-harm-check", "--overwrite", "--precision", "fp32"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert all("pasted although consistency" in ln for ln in err.splitlines() if ln.strip().startswith("face "))
    pasted = eio.read_image(out / "a_fsrnet.png").pixels
    assert not np.array_equal(pasted, upscale_background(faces_rgb, 1))
    provenance = eio.read_provenance(out / "a_fsrnet.png")
    assert provenance["no_harm_check"] is False and provenance["faces_restored"] == len(face_lines)
