"""The face-size benchmark (engine.face_bench, `fsr-studio eval --face-sizes`): where the faces are put, the report's
shape, and its Lanczos baseline recomputed independently.

Uses ../shared/data/celeba_val128 (2-3 faces) and the bundled fsrnet weights (resources/weights).
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from app.cli import main
from engine import face_bench, metrics, zoo
from engine.faces.align import align_face


@pytest.fixture(scope="module")
def faces(shared_data):
    return face_bench.load_faces(shared_data / "celeba_val128", limit=3)


def test_make_photo_puts_each_faces_landmarks_on_that_face(faces):
    side = 48
    photo = face_bench.make_photo(faces, [0, 1, 2], side)
    assert photo.image.shape == (2 * 3 * side, 2 * 3 * side, 3)  # 2 x 2 tiles of 3 sides each
    assert photo.indices == [0, 1, 2] and len(photo.detections) == 3
    for n, (det, (ox, oy)) in enumerate(zip(photo.detections, photo.origins)):
        lm = det.landmarks68
        assert lm.shape == (68, 2)
        # inside this face's own side x side square, which holds the degraded face
        assert (lm[:, 0] > ox - 1).all() and (lm[:, 0] < ox + side).all(), n
        assert (lm[:, 1] > oy - 1).all() and (lm[:, 1] < oy + side).all(), n
        expected = (faces.landmarks[n] + 0.5) * side / faces.size - 0.5 + [ox, oy]
        np.testing.assert_allclose(lm, expected, atol=1e-3)
        # and on the face itself: the crop the pipeline makes from these landmarks is this HR face, not another one
        crop = align_face(photo.image, det.landmarks5, det.landmarks68, "coarse128")
        assert crop.source_px == pytest.approx(side, rel=0.1)
        scores = [metrics.psnr_y(crop.image, hr) for hr in faces.hr]
        assert int(np.argmax(scores)) == n and scores[n] > 20, (n, scores)
    # the tiles do not touch: between faces there is only the replicate border of each
    assert photo.origins[1][0] - photo.origins[0][0] == 3 * side


def _lanczos_alone(faces, i, side):
    """Face i in a photo of its own, Lanczos-upscaled to HR size with OpenCV, face region cut out."""
    photo = face_bench.make_photo(faces, [i], side)
    k = faces.size // side
    h, w = photo.image.shape[:2]
    big = cv2.resize(photo.image, (w * k, h * k), interpolation=cv2.INTER_LANCZOS4)
    ox, oy = photo.origins[0]
    return big[oy * k:oy * k + faces.size, ox * k:ox * k + faces.size]


def test_eval_face_sizes_report(shared_data, faces, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FSR_STUDIO_BUNDLED", str(zoo.BUNDLED_DIR))  # the shipped weights, as on a fresh clone
    if zoo.find_weights("fsrnet") is None:
        pytest.skip("the bundled fsrnet weights (resources/weights/fsrnet.safetensors) are absent")
    out = tmp_path / "bench"
    rc = main(["eval", "--face-sizes", "16,32,256", "-m", "fsrnet", "--data", str(shared_data / "celeba_val128"),
               "--limit", "2", "--json", str(out / "out.json"), "--markdown", str(out / "out.md"),
               "--plot", str(out / "out.png")])
    printed = capsys.readouterr().out
    assert rc == 0, printed[-2000:]
    report = json.loads((out / "out.json").read_text())
    assert report["n"] == 2 and report["hr_size"] == 128 and report["models"] == ["fsrnet"]
    assert list(report["sizes"]) == ["16", "32"]  # 256 > the 128 px HR faces: skipped
    for size, rows in report["sizes"].items():
        assert {"lanczos", "bicubic", "fsrnet"} <= set(rows), size
        for name in ("lanczos", "fsrnet"):
            assert set(rows[name]) == {"psnr_y", "ssim_y", "identity", "nrmse"}, (size, name)
            assert all(np.isfinite(v) for v in rows[name].values())
        assert 10 < rows["lanczos"]["psnr_y"] < 40 and 0 < rows["lanczos"]["ssim_y"] < 1
    assert report["sizes"]["32"]["lanczos"]["psnr_y"] > report["sizes"]["16"]["lanczos"]["psnr_y"]
    # the Lanczos baseline is what OpenCV's Lanczos makes of the same degraded faces
    for side in (16, 32):
        regions = [_lanczos_alone(faces, i, side) for i in range(2)]
        psnr = np.mean([metrics.psnr_y(r, faces.hr[i]) for i, r in enumerate(regions)])
        ssim = np.mean([metrics.ssim_y(r, faces.hr[i]) for i, r in enumerate(regions)])
        assert report["sizes"][str(side)]["lanczos"]["psnr_y"] == pytest.approx(psnr, abs=1e-6)
        assert report["sizes"][str(side)]["lanczos"]["ssim_y"] == pytest.approx(ssim, abs=1e-6)
    markdown = (out / "out.md").read_text()
    assert "| lanczos |" in markdown and "| fsrnet |" in markdown and "| 16 | 32 |" in markdown
    with Image.open(out / "out.png") as plot:
        assert plot.format == "PNG" and plot.size[0] > 100
    assert report["degradation"] == "bench"
    rc = main(["eval", "--face-sizes", "32", "-m", "fsrnet", "--data", str(shared_data / "celeba_val128"),
               "--limit", "2", "--no-judge", "--face-degradation", "photo", "--json", str(out / "photo.json")])
    assert rc == 0, capsys.readouterr().out[-2000:]
    damaged = json.loads((out / "photo.json").read_text())
    assert damaged["degradation"] == "photo"
    assert damaged["sizes"]["32"]["lanczos"]["psnr_y"] != pytest.approx(report["sizes"]["32"]["lanczos"]["psnr_y"])


def test_each_face_is_a_photo_of_its_own_for_autos_portrait_rule(faces):
    """The tiles share one image for batching, but auto sees each face as a portrait (photo_faces=1) unless told the
    photo is a crowd: then its 96 px faces get the group photo's 128 restorer."""
    import torch

    for name in ("sparnethd-blind256", "sparnet-blind-large"):
        torch.manual_seed(0)
        zoo.save_weights(zoo.build(name, min_ch=8, max_ch=16), zoo.user_models_dir() / f"{name}.safetensors", name)
    portrait = face_bench.run(faces, ["auto"], [96], judge=False, precision="fp32")
    group = face_bench.run(faces, ["auto"], [96], judge=False, precision="fp32", photo_faces=28)
    assert portrait["photo_faces"] == 1 and group["photo_faces"] == 28
    # freshly built, both restorers are the identity (residual nets): nothing for the no-harm check to reject
    assert portrait["choices"]["96"]["auto"] == {"sparnethd-blind256": len(faces.names)}
    assert group["choices"]["96"]["auto"] == {"sparnet-blind-large": len(faces.names)}
    assert "counted as a photo of 28 faces" in face_bench.to_markdown(group)


def _report(models, value, lanczos=20.0, **extra):
    rows = {"lanczos": {"psnr_y": lanczos}, "bicubic": {"psnr_y": lanczos - 0.5},
            **{m: {"psnr_y": value} for m in models}}
    base = {"dataset": "d", "n": 2, "hr_size": 128, "protocol": "coarse128", "no_harm_check": True,
            "selection": "all faces", "models": list(models), "notes": [], "sizes": {"16": rows, "32": rows},
            "choices": {"16": {m: {m: 2} for m in models}, "32": {m: {m: 2} for m in models}}}
    return {**base, **extra}


def test_merge_adds_and_replaces_rows_of_the_same_run():
    old = _report(["auto", "a", "b"], 21.0)
    new = _report(["auto", "c"], 22.0, photo_faces=1)  # reports before photo_faces existed count as 1
    merged = face_bench.merge(old, new)
    assert merged["models"] == ["auto", "c", "a", "b"]
    assert merged["sizes"]["16"]["auto"]["psnr_y"] == 22.0 and merged["sizes"]["16"]["a"]["psnr_y"] == 21.0
    assert merged["choices"]["32"]["c"] == {"c": 2} and merged["choices"]["32"]["b"] == {"b": 2}
    assert "| c |" in face_bench.to_markdown(merged)
    # a baseline equal up to float noise (dlib's identity in its last digits) stays the old run's, which the kept
    # rows and the weights' cards were compared against
    noisy = _report(["c"], 22.0)
    noisy["sizes"]["16"] = {**noisy["sizes"]["16"], "lanczos": {"psnr_y": 20.0, "identity": 0.9952327156935346}}
    old["sizes"]["16"] = {**old["sizes"]["16"], "lanczos": {"psnr_y": 20.0, "identity": 0.9952327156935347}}
    assert face_bench.merge(old, noisy)["sizes"]["16"]["lanczos"]["identity"] == 0.9952327156935347
    with pytest.raises(ValueError, match="n differs"):
        face_bench.merge(old, _report(["c"], 22.0, n=3))
    with pytest.raises(ValueError, match="lanczos baseline at 16 px differs"):
        face_bench.merge(old, _report(["c"], 22.0, lanczos=20.5))
    with pytest.raises(ValueError, match="photo_faces differs"):
        face_bench.merge(old, _report(["c"], 22.0, photo_faces=28))
    assert face_bench.merge(old, _report(["c"], 22.0, degradation="bench"))  # older reports: the benchmark's recipe
    with pytest.raises(ValueError, match="degradation differs"):
        face_bench.merge(old, _report(["c"], 22.0, degradation="photo"))


def test_a_second_degradation_damages_the_same_faces_differently(faces):
    """--face-degradation photo: the same faces at the same size, other damage (seeded as well), named in the
    report's title; an unknown name is refused before anything runs."""
    bench = face_bench.make_photo(faces, [0, 1], 32)
    photo = face_bench.make_photo(faces, [0, 1], 32, "photo")
    again = face_bench.make_photo(faces, [0, 1], 32, "photo")
    assert photo.image.shape == bench.image.shape and photo.origins == bench.origins
    np.testing.assert_array_equal(photo.image, again.image)
    ox, oy = photo.origins[0]
    face = (slice(oy, oy + 32), slice(ox, ox + 32))
    assert np.abs(photo.image[face].astype(int) - bench.image[face].astype(int)).mean() > 1
    # still the same face: closer to its own HR than to the other face's
    small = [cv2.resize(hr, (32, 32), interpolation=cv2.INTER_AREA) for hr in faces.hr[:2]]
    assert metrics.psnr_y(photo.image[face], small[0]) > metrics.psnr_y(photo.image[face], small[1])
    # at the HR size too, every face is damaged (an untouched face would make the mean PSNR infinite)
    from engine.degrade import photo_face_at

    for seed in range(300):
        assert not np.array_equal(photo_face_at(faces.hr[0], faces.size, np.random.default_rng(seed)), faces.hr[0])
    report = _report(["auto"], 22.0, degradation="photo")
    assert "degradation: photo" in face_bench.to_markdown(report).splitlines()[0]
    assert "degradation" not in face_bench.to_markdown(_report(["auto"], 22.0)).splitlines()[0]
    with pytest.raises(ValueError, match="unknown face-size degradation 'fog'; known: bench, photo"):
        face_bench.run(faces, ["fsrnet"], [16], degradation="fog")


def test_update_needs_an_existing_report_before_any_work(shared_data, tmp_path, capsys):
    rc = main(["eval", "--face-sizes", "16", "-m", "fsrnet", "--data", str(shared_data / "celeba_val128"),
               "--json", str(tmp_path / "none.json"), "--update"])
    assert rc == 1 and "--update: needs --json naming an existing report" in capsys.readouterr().out


def test_drop_removes_rows_of_weights_no_longer_shipped(shared_data, tmp_path, capsys):
    old = _report(["auto", "a", "b"], 21.0)
    kept = face_bench.drop(old, ["a"])
    assert kept["models"] == ["auto", "b"] and "a" not in kept["sizes"]["16"] and "a" not in kept["choices"]["32"]
    assert kept["sizes"]["16"]["lanczos"] == old["sizes"]["16"]["lanczos"] and "a" in old["models"]
    with pytest.raises(ValueError, match="cannot drop z: not in the report"):
        face_bench.drop(old, ["z"])
    rc = main(["eval", "--face-sizes", "16", "-m", "fsrnet", "--data", str(shared_data / "celeba_val128"),
               "--drop", "a"])
    assert rc == 1 and "--drop works with --update" in capsys.readouterr().out
