"""Memory guards: huge photos are processed within bounded memory, or refused clearly before memory runs out.

CI uses the 1200 x 1200 stand-in with a lowered pixel limit or a pretended small free memory; the slow test restores
the real 100-megapixel photo in a fresh process and reports its peak RSS. Peaks are the child's own VmHWM, read at its
exit: Linux carries ru_maxrss across fork+exec, so a child of a big pytest process would report the parent's size.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine.restore
import engine.util
from app.cli import main
from engine import io as eio
from engine.restore import detect_in_photo, restore_photo

from .conftest import REPO, child_env, digest, listing
from .make_corpus import BIG_SIDE, make_images

LARGE = "large_1200x1200.jpg"
PEAK_RSS_LIMIT_GB = 4.5  # measured 3.4 GB after the fixes (6.2 GB before) on the 100 MP photo at x2


def _no_detection(*args, **kwargs):
    raise AssertionError("a refused photo must be refused before face detection")


def test_pixel_limit_refuses_before_decoding(corpus, weights, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(eio.ENV_MAX_MEGAPIXELS, "1")
    message = r"large_1200x1200\.jpg: 1200 x 1200 pixels \(1\.4 MP\) is above the 1\.0 MP limit: too large"
    with pytest.raises(eio.ImageTooLarge, match=message):
        restore_photo(corpus / LARGE, ["fsrnet"])
    before = digest(corpus)
    out = tmp_path / "out"
    assert main(["enhance", "-m", "fsrnet", "-i", str(corpus / LARGE), "-o", str(out)]) == 1
    assert re.search(message, capsys.readouterr().err)
    assert listing(out) == [] and digest(corpus) == before


def test_decoding_that_would_not_fit_in_memory_is_refused(corpus, monkeypatch):
    monkeypatch.setattr(engine.util, "available_memory", lambda: 4 << 20)
    with pytest.raises(eio.ImageTooLarge, match=r"decoding 1200 x 1200 pixels needs about .* only 0\.0 GB"):
        eio.read_image(corpus / LARGE)


def test_outputs_that_would_not_fit_in_memory_are_refused_before_detection(corpus, weights, tmp_path, monkeypatch,
                                                                           capsys):
    monkeypatch.setattr(engine.util, "available_memory", lambda: 100 << 20)  # decoding fits, a x4 output does not
    monkeypatch.setattr(engine.restore, "detect_in_photo", _no_detection)
    with pytest.raises(eio.ImageTooLarge, match=r"restoring to 4800 x 4800 pixels \(x4\) needs about .*--upscale"):
        restore_photo(corpus / LARGE, ["fsrnet"], 4)
    out = tmp_path / "out"
    assert main(["enhance", "-m", "fsrnet", "-i", str(corpus / LARGE), "-o", str(out), "-s", "4"]) == 1
    assert "restoring to 4800 x 4800 pixels (x4) needs about" in capsys.readouterr().err
    assert listing(out) == []


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_detection_on_a_downscaled_copy_lands_on_the_same_faces(corpus, monkeypatch):
    rgb = eio.read_image(corpus / LARGE).rgb8()
    full, note = detect_in_photo(rgb)
    assert note is None and len(full) == 1
    small, note = detect_in_photo(rgb, max_pixels=160_000)  # a 400 x 400 copy
    assert note and "400 x 400 copy" in note and len(small) == 1
    assert _iou(full[0].box, small[0].box) > 0.7
    scale = np.linalg.norm(full[0].landmarks5[0] - full[0].landmarks5[1])  # inter-ocular distance
    assert np.abs(full[0].landmarks5 - small[0].landmarks5).max() < 0.15 * scale

    monkeypatch.setattr(engine.restore, "DETECT_MAX_PIXELS", 160_000)  # and the pipeline uses it above the limit
    result = restore_photo(corpus / LARGE, [("fsrnet", _tiny())], 1)
    assert any("copy of the 1200 x 1200 photo" in n for n in result.notes)
    assert sum(not f.skipped for f in result.faces) == 1


def _tiny():
    from .make_corpus import tiny_fsrnet

    return tiny_fsrnet().eval()


def test_available_memory_is_known_here():
    """The guards rely on it on Linux (MemAvailable, capped by a cgroup limit)."""
    if not Path("/proc/meminfo").exists():
        pytest.skip("no /proc/meminfo")
    assert engine.util.available_memory() > 64 << 20


# ----- the real thing ------------------------------------------------------------------------------------------------
PEAK_WRAPPER = """
import atexit, resource, runpy, sys
def report():
    hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    sys.stderr.write(f"\\nPEAK {hwm / 1024:.0f} MB, {cpu.ru_utime + cpu.ru_stime:.0f} CPU s\\n")
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def run_measured(module: str, *args: str, timeout: float = 1800) -> tuple[subprocess.CompletedProcess, float]:
    """`python -m MODULE ARGS` in a fresh process; returns the run and its own peak RSS in MB (VmHWM at exit)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("peak RSS is read from /proc (Linux)")
    run = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, module, *args], cwd=REPO, env=child_env(),
                         capture_output=True, text=True, timeout=timeout)
    peak = re.findall(r"PEAK (\d+) MB", run.stderr)
    assert peak, run.stderr[-3000:]
    return run, float(peak[-1])


def _complete_jpeg_size(path: Path) -> tuple[int, int]:
    """(width, height) of a JPEG over FSR Studio's own input limit, decoded at 1/8 scale to prove it is complete."""
    from PIL import Image

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Image, "MAX_IMAGE_PIXELS", None)
        with Image.open(path) as img:
            size = img.size
            img.draft("RGB", (size[0] // 8, size[1] // 8))
            img.load()
    return size


@pytest.mark.slow
def test_100_megapixel_photo_is_restored_within_bounded_memory(shared_data, weights, tmp_path):
    folder = tmp_path / "in"
    make_images(folder, shared_data, heavy=True, only=["huge_100mp.jpg"])
    out = tmp_path / "out"
    run, peak_mb = run_measured("app", "enhance", "-m", "fsrnet", "-i", str(folder / "huge_100mp.jpg"), "-o", str(out), "-s", "2")
    print(f"\n100 MP photo, x2, fsrnet (tiny): {run.stderr.strip().splitlines()[-1]}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(r"huge_100mp\.jpg: 2 face\(s\)", run.stderr), run.stderr[-3000:]
    assert "copy of the 11547 x 8660 photo" in run.stderr
    assert _complete_jpeg_size(out / "huge_100mp_fsrnet.jpg") == (2 * BIG_SIDE[0], 2 * BIG_SIDE[1])
    assert peak_mb < PEAK_RSS_LIMIT_GB * 1024


def test_a_49_byte_png_cannot_allocate_gigabytes(tmp_path):
    """Regression (atheris): OpenCV allocated an IDAT's declared length (here 2 GB) before reading it."""
    from .make_corpus import chunk_bomb_png

    path = tmp_path / "bomb.png"
    path.write_bytes(chunk_bomb_png())
    assert len(chunk_bomb_png()) < 64
    run, peak_mb = run_measured("tests.reliability.read_one", str(path), timeout=120)
    assert "truncated or corrupt PNG data (chunk b'IDAT' declares 2147483632 bytes" in run.stdout
    assert peak_mb < 400, peak_mb  # the interpreter, numpy, Pillow and OpenCV: ~100 MB; the bomb: 2+ GB
