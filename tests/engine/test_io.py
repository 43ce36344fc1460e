"""engine.io: every format round-trips its pixels and metadata; bad files fail with one clear ImageReadError."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image, ImageOps

from engine import io as eio

ICC = b"\x00\x00\x02\x0cfake-icc-profile-for-tests" + bytes(range(64))


def _photo(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None] * np.ones((h, 1, 3), np.float32)
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def _exif(orientation: int = 1, description: str | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    exif[0x0132] = "2024:01:02 03:04:05"
    if description:
        exif[0x010E] = description
    return exif.tobytes()


@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp"])
def test_lossless_8bit_round_trip(tmp_path, ext):
    pixels = _photo()
    path = tmp_path / f"a{ext}"
    eio.write_image(path, pixels)
    back = eio.read_image(path)
    assert back.pixels.dtype == np.uint8 and np.array_equal(back.pixels, pixels)
    assert back.alpha is None and not back.is_gray


@pytest.mark.parametrize("ext", [".jpg", ".webp"])
def test_lossy_round_trip_is_close(tmp_path, ext):
    import cv2

    pixels = cv2.GaussianBlur(_photo(), (0, 0), 2)  # photo-like: lossy codecs subsample colour noise away
    path = tmp_path / f"a{ext}"
    eio.write_image(path, pixels, quality=95)
    back = eio.read_image(path)
    assert back.pixels.shape == pixels.shape
    assert np.abs(back.pixels.astype(int) - pixels.astype(int)).mean() < 6


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_rgb_and_alpha_round_trip(tmp_path, ext):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 65536, (30, 40, 3), dtype=np.uint16)
    alpha = rng.integers(0, 65536, (30, 40), dtype=np.uint16)
    meta = eio.ImageMetadata(icc_profile=ICC, exif=_exif(), dpi=(300.0, 300.0))
    path = tmp_path / f"deep{ext}"
    eio.write_image(path, pixels, alpha=alpha, metadata=meta, provenance={"model": "fsrnet"})
    back = eio.read_image(path)
    assert back.pixels.dtype == np.uint16 and back.metadata.bit_depth == 16
    assert np.array_equal(back.pixels, pixels) and np.array_equal(back.alpha, alpha)
    assert back.metadata.icc_profile == ICC
    assert eio.read_provenance(path) == {"model": "fsrnet"}


def test_16bit_tiff_written_by_opencv_is_read_at_full_depth(tmp_path):
    import cv2

    pixels = np.random.default_rng(2).integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "cv.tif"), pixels[:, :, ::-1])
    back = eio.read_image(tmp_path / "cv.tif")
    assert back.pixels.dtype == np.uint16 and np.array_equal(back.pixels, pixels)


def test_grey_stays_grey_and_16bit_grey(tmp_path):
    grey = _photo()[:, :, 0]
    eio.write_image(tmp_path / "g.png", grey)
    back = eio.read_image(tmp_path / "g.png")
    assert back.is_gray and back.pixels.ndim == 2 and np.array_equal(back.pixels, grey)
    deep = (grey.astype(np.uint16) * 257)
    eio.write_image(tmp_path / "g16.tif", deep)
    back = eio.read_image(tmp_path / "g16.tif")
    assert back.pixels.dtype == np.uint16 and back.pixels.ndim == 2 and np.array_equal(back.pixels, deep)
    rgb_grey = np.repeat(grey[:, :, None], 3, axis=2)
    assert eio.is_gray_content(rgb_grey) and not eio.is_gray_content(_photo())


def test_rgba_and_grey_alpha_are_split_and_reattached(tmp_path):
    rgba = np.dstack([_photo(), np.full((48, 64), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    back = eio.read_image(tmp_path / "a.png")
    assert back.pixels.shape == (48, 64, 3) and back.alpha is not None and (back.alpha == 128).all()
    la = np.dstack([_photo()[:, :, 0], np.full((48, 64), 200, np.uint8)])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    back = eio.read_image(tmp_path / "la.png")
    assert back.pixels.ndim == 2 and back.alpha is not None and (back.alpha == 200).all()
    eio.write_image(tmp_path / "la_out.png", back.pixels, alpha=back.alpha)
    again = eio.read_image(tmp_path / "la_out.png")
    assert again.pixels.ndim == 2 and np.array_equal(again.alpha, back.alpha)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_once_like_pillow(tmp_path, orientation):
    pixels = _photo(40, 70)
    path = tmp_path / f"o{orientation}.png"
    Image.fromarray(pixels).save(path, exif=_exif(orientation))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    back = eio.read_image(path)
    assert np.array_equal(back.pixels, expected)
    assert back.metadata.orientation == orientation
    # written back upright with orientation 1: re-reading does not rotate a second time
    eio.write_image(tmp_path / f"out{orientation}.png", back.pixels, metadata=back.metadata)
    again = eio.read_image(tmp_path / f"out{orientation}.png")
    assert again.metadata.orientation == 1 and np.array_equal(again.pixels, expected)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
def test_metadata_survives(tmp_path, ext):
    src = tmp_path / "src.jpg"
    Image.fromarray(_photo()).save(src, exif=_exif(6, "holiday"), icc_profile=ICC, dpi=(300, 300), quality=95)
    photo = eio.read_image(src)
    out = tmp_path / f"out{ext}"
    eio.write_image(out, photo.pixels, metadata=photo.metadata, provenance={"model": "fsrgan", "scale": 2.0},
                    inputs=[src])
    back = eio.read_image(out)
    assert back.metadata.icc_profile == ICC
    assert back.metadata.orientation == 1 and back.pixels.shape == photo.pixels.shape == (64, 48, 3)
    exif = Image.Exif()
    exif.load(back.metadata.exif)
    assert exif.get(0x010F) == "TestCam" and exif.get(0x0132) == "2024:01:02 03:04:05"
    assert eio.read_provenance(out) == {"model": "fsrgan", "scale": 2.0}
    if ext != ".png":  # the user's own description is kept beside ours
        assert "holiday" in exif.get(0x010E)


def test_bmp_provenance_goes_to_a_sidecar(tmp_path):
    eio.write_image(tmp_path / "a.bmp", _photo(), provenance={"model": "fsrnet"})
    assert (tmp_path / "a.bmp.json").is_file()
    assert eio.read_provenance(tmp_path / "a.bmp") == {"model": "fsrnet"}


def test_bad_files_raise_clear_errors(tmp_path):
    good = tmp_path / "good.jpg"
    Image.fromarray(_photo(200, 200)).save(good, quality=95)
    data = good.read_bytes()
    cases = {
        "empty.jpg": (b"", "empty"),
        "text.jpg": (b"this is a text file, renamed\n", "text, not an image"),
        "truncated.jpg": (data[: len(data) // 2], "truncated"),
        "random.png": (bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8)), "not a recognised"),
    }
    png = tmp_path / "p.png"
    Image.fromarray(_photo(200, 200)).save(png)
    cases["truncated.png"] = (png.read_bytes()[:400], "truncated")
    for name, (content, expected) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(eio.ImageReadError, match=expected) as info:
            eio.read_image(tmp_path / name)
        assert name in str(info.value)
    with pytest.raises(eio.ImageReadError, match="no such file"):
        eio.read_image(tmp_path / "missing.png")
    with pytest.raises(eio.ImageReadError, match="folder"):
        eio.read_image(tmp_path)


def test_never_writes_over_an_input_and_writes_atomically(tmp_path, monkeypatch):
    src = tmp_path / "in.png"
    eio.write_image(src, _photo())
    before = src.read_bytes()
    with pytest.raises(eio.ImageWriteError, match="input"):
        eio.write_image(src, _photo(seed=3), inputs=[src])
    link = tmp_path / "alias.png"
    os.link(src, link)
    with pytest.raises(eio.ImageWriteError, match="input"):
        eio.write_image(link, _photo(seed=3), inputs=[src])
    assert src.read_bytes() == before
    with pytest.raises(eio.ImageWriteError, match="unknown output format"):
        eio.write_image(tmp_path / "x.gif", _photo())

    # a crash while writing leaves neither a half-written file nor a temporary one
    import engine.util

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(engine.util.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        eio.write_image(tmp_path / "crash.png", _photo())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.png", "in.png"]


def test_jpeg_drops_alpha_with_a_note(tmp_path):
    notes = eio.write_image(tmp_path / "a.jpg", _photo(), alpha=np.full((48, 64), 7, np.uint8))
    assert any("alpha" in n or "transparency" in n for n in notes)
    notes = eio.write_image(tmp_path / "b.jpg", _photo().astype(np.uint16) * 257)
    assert any("8 bits" in n for n in notes)
    assert eio.read_image(tmp_path / "b.jpg").pixels.dtype == np.uint8


def test_shared_photo_reads(shared_data):
    photo = eio.read_image(shared_data / "photos" / "solvay_conference_1927.jpg")
    assert photo.pixels.shape == (1066, 2732, 3) and photo.metadata.format == "JPEG"
    assert photo.metadata.icc_profile and photo.metadata.exif


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_writes_get_normal_permissions_and_keep_a_replaced_files(tmp_path):
    from engine.util import atomic_write

    mask = os.umask(0o022)
    os.umask(mask)
    new = atomic_write(tmp_path / "new.png", b"x")
    assert new.stat().st_mode & 0o777 == 0o666 & ~mask  # as open() would make it, not mkstemp's 0600
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"old")
    kept.chmod(0o640)
    atomic_write(kept, b"new")
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_bytes() == b"new"
