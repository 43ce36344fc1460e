"""Fuzzing the two loaders that read untrusted bytes: engine.io.decode_image and engine.zoo.read_state_dict.

The contract: any byte string gives either a usable image / a dict of tensors, or the loader's one clear error
(ImageReadError / CheckpointError) naming the file; never another exception, never a half-loaded model, never code
run from a pickle. Inputs are seed files in every supported layout, mutated blindly (bit flips, truncation, splices)
and structurally (sizes in the header, the pickle inside a checkpoint's zip).

CI runs ``FSR_FUZZ_EXAMPLES`` (default 50) examples per test; the slow variants run ``FSR_FUZZ_LONG_EXAMPLES``
(default 3000) and, where it installs, atheris (tests/reliability/atheris_fuzz.py) for ``FSR_ATHERIS_SECONDS``
(default 120) per loader.
"""
from __future__ import annotations

import functools
import io
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import io as eio
from engine import zoo

from .conftest import REPO, child_env
from .make_corpus import exif_bytes, jpeg_with_size, png_chunk

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
EXAMPLES = int(os.environ.get("FSR_FUZZ_EXAMPLES", "50"))
LONG = int(os.environ.get("FSR_FUZZ_LONG_EXAMPLES", "3000"))
FUZZ_MEGAPIXELS = "4"  # decoded sizes stay small; also proves the cap holds on every decode path
ci = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
long = settings(max_examples=LONG, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(autouse=True, scope="module")
def _small_pixel_cap():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(eio.ENV_MAX_MEGAPIXELS, FUZZ_MEGAPIXELS)
        yield


# ----- image seeds -----------------------------------------------------------------------------------------------
def _pil(pixels: np.ndarray, fmt: str, mode: str | None = None, **kwargs) -> bytes:
    from PIL import Image

    img = Image.fromarray(pixels)
    img = img.convert(mode) if mode else img
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def image_seeds() -> tuple[bytes, ...]:
    """Small valid files of every layout the reader knows (each decoding path: Pillow, OpenCV, tifffile)."""
    import cv2
    import tifffile

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    deep = rng.integers(0, 65536, (20, 24, 3), dtype=np.uint16)
    seeds = [
        _pil(rgb, "JPEG", quality=90, exif=exif_bytes(6)),
        _pil(rgb, "JPEG", quality=80, progressive=True),
        _pil(rgb, "JPEG", "L"),
        _pil(rgb, "JPEG", "CMYK"),
        _pil(rgb, "PNG"),
        _pil(rgb, "PNG", "P"),
        _pil(np.dstack([rgb, rgb[..., 0]]), "PNG"),
        _pil(rgb, "PNG", "LA"),
        cv2.imencode(".png", deep)[1].tobytes(),
        _pil(rgb, "WEBP", quality=80),
        _pil(rgb, "BMP"),
        _pil(rgb, "GIF"),
    ]
    for array, kwargs in ((rgb, {}), (deep, {}), (np.dstack([deep[..., 0], deep[..., 1]]),
                                                  {"photometric": "minisblack", "extrasamples": ["unassalpha"]})):
        buf = io.BytesIO()
        tifffile.imwrite(buf, array, **kwargs)
        seeds.append(buf.getvalue())
    return tuple(seeds)


def check_decode(data: bytes) -> None:
    """The loader's contract on one byte string."""
    try:
        image = eio.decode_image(data, "fuzzed.img")
    except eio.ImageReadError as exc:
        assert "fuzzed.img" in str(exc)
        return
    pixels = image.pixels
    assert pixels.dtype in (np.uint8, np.uint16)
    assert pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3), pixels.shape
    assert min(pixels.shape[:2]) > 0 and pixels.shape[0] * pixels.shape[1] <= eio.max_pixels()
    assert image.alpha is None or image.alpha.shape == pixels.shape[:2]
    assert image.rgb8().shape == (*pixels.shape[:2], 3)


@st.composite
def mutated(draw, seeds: tuple[bytes, ...]) -> bytes:
    """A seed with random byte flips, an optional splice of random bytes and an optional truncation."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 12))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=64))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


SIDE = st.integers(0, 2**31 - 1) | st.integers(0, 5000)


def png_with_size(seed: bytes, width: int, height: int) -> bytes:
    """The seed PNG with another width/height in IHDR (CRC fixed, so only the size is a lie)."""
    ihdr = bytearray(seed[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    return seed[:8] + png_chunk(b"IHDR", bytes(ihdr)) + seed[33:]


@ci
@given(st.binary(max_size=4096))
def test_image_loader_on_random_bytes(data):
    check_decode(data)


@ci
@given(st.data())
def test_image_loader_on_mutated_files(data):
    check_decode(data.draw(mutated(image_seeds())))


@ci
@given(SIDE, SIDE, st.sampled_from([4, 5, 6, 8]))
def test_image_loader_on_lying_sizes(width, height, png_index):
    """Headers that declare any size over small pixel data: refused or decoded, never an unbounded allocation."""
    seeds = image_seeds()
    check_decode(png_with_size(seeds[png_index], width, height))
    check_decode(jpeg_with_size(seeds[1], min(width, 65535), min(height, 65535)))


def test_regressions_found_by_fuzzing():
    """Each of these once escaped the contract (see the commit that fixed it)."""
    import tifffile

    from .make_corpus import chunk_bomb_png

    # hypothesis: a TIFF with ImageWidth 0 decoded (tifffile) to a 1-D empty array and was returned as a photo
    grey_alpha = image_seeds()[-1]
    offset = tifffile.TiffFile(io.BytesIO(grey_alpha)).pages[0].tags["ImageWidth"].valueoffset
    zero_width = grey_alpha[:offset] + (0).to_bytes(4, "little") + grey_alpha[offset + 4:]
    with pytest.raises(eio.ImageReadError, match=r"fuzzed\.tif: corrupt or unsupported image layout"):
        eio.decode_image(zero_width, "fuzzed.tif")
    # atheris: an IDAT length field of 2 GB made OpenCV allocate it (test_memory checks the peak RSS)
    with pytest.raises(eio.ImageReadError, match=r"truncated or corrupt PNG data \(chunk b'IDAT' declares"):
        eio.decode_image(chunk_bomb_png(), "bomb.png")
    # atheris: an EXIF orientation retyped as 3 BYTEs (a bytes value) raised ValueError out of the reader
    jpeg = image_seeds()[0]
    short_tag = b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06"  # tag 0x0112, SHORT, count 1, value 6 (big-endian)
    assert short_tag in jpeg
    for retyped, orientation in ((b"\x01\x12\x00\x01\x00\x00\x00\x03\x06\x00", 6),  # BYTE[3] = 6, 0, 0
                                 (b"\x01\x12\x00\x01\x00\x00\x00\x03\x00\x06", 1)):  # BYTE[3] = 0, 6, 0: unusable
        image = eio.decode_image(jpeg.replace(short_tag, retyped), "fuzzed.jpg")
        assert image.metadata.orientation == orientation


@pytest.mark.slow
@long
@given(st.data())
def test_image_loader_long(data):
    check_decode(data.draw(mutated(image_seeds())))


# ----- checkpoint seeds ------------------------------------------------------------------------------------------
def tiny_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Conv2d(4, 2, 1))


def _torch_bytes(obj, **kwargs) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def checkpoint_seeds() -> tuple[tuple[str, bytes], ...]:
    """(suffix, bytes): the layouts read_state_dict accepts, zip and legacy torch files, and safetensors."""
    from safetensors.torch import save

    state = tiny_net().state_dict()
    return (
        (".pth", _torch_bytes(state)),
        (".pth", _torch_bytes({"params_ema": state, "params": state})),
        (".pth", _torch_bytes({f"module.{k}": v for k, v in state.items()})),
        (".pth", _torch_bytes(state, _use_new_zipfile_serialization=False)),
        (".safetensors", save({k: v.contiguous() for k, v in state.items()})),
    )


def with_mutated_pickle(data: bytes, draw) -> bytes:
    """Re-zip a torch checkpoint with its data.pkl mutated: the weights_only unpickler sees hostile opcodes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            payload = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                payload = draw(mutated((payload,)))
            dst.writestr(info.filename, payload)
    return out.getvalue()


def check_checkpoint(data: bytes, suffix: str, folder: Path) -> None:
    """read_state_dict/load_state_into on one byte string: tensors or CheckpointError, model untouched on error."""
    path = folder / f"fuzzed{suffix}"
    path.write_bytes(data)
    try:
        state = zoo.read_state_dict(path)
    except zoo.CheckpointError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    model = tiny_net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        zoo.load_state_into(model, path)
    except zoo.CheckpointError:
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@ci
@given(st.data())
def test_checkpoint_loader_on_mutated_files(data):
    suffix, seed = data.draw(st.sampled_from(checkpoint_seeds()))
    with tempfile.TemporaryDirectory() as folder:
        check_checkpoint(data.draw(mutated((seed,))), suffix, Path(folder))


@ci
@given(st.data())
def test_checkpoint_loader_on_mutated_pickles(data):
    seed = data.draw(st.sampled_from([s for suffix, s in checkpoint_seeds() if s[:2] == b"PK"]))
    with tempfile.TemporaryDirectory() as folder:
        check_checkpoint(with_mutated_pickle(seed, data.draw), ".pth", Path(folder))


@ci
@given(st.binary(max_size=2048), st.sampled_from([".pth", ".safetensors"]))
def test_checkpoint_loader_on_random_bytes(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        check_checkpoint(data, suffix, Path(folder))


@pytest.mark.slow
@long
@given(st.data())
def test_checkpoint_loader_long(data):
    suffix, seed = data.draw(st.sampled_from(checkpoint_seeds()))
    mutate_pickle = seed[:2] == b"PK" and data.draw(st.booleans())
    blob = with_mutated_pickle(seed, data.draw) if mutate_pickle else data.draw(mutated((seed,)))
    with tempfile.TemporaryDirectory() as folder:
        check_checkpoint(blob, suffix, Path(folder))


# ----- atheris (coverage-guided), on demand ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("target", ["image", "checkpoint"])
def test_atheris(target, tmp_path):
    pytest.importorskip("atheris", reason="atheris is optional (pip install atheris; Linux/macOS wheels)")
    seconds = os.environ.get("FSR_ATHERIS_SECONDS", "120")  # per target; libFuzzer stops cleanly at the limit
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("atheris_fuzz.py")), target,
                          f"-max_total_time={seconds}", f"-artifact_prefix={tmp_path}/", "-rss_limit_mb=4096"],
                         cwd=REPO, env={**child_env(), eio.ENV_MAX_MEGAPIXELS: FUZZ_MEGAPIXELS},
                         capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, run.stderr[-4000:]
    assert not list(tmp_path.glob("crash-*")), run.stderr[-4000:]
