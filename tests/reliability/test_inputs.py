"""The "input" cases of the corpus: inputs that hung, ate memory, crashed or gave a wrong picture with exit 0.

Non-regular files (FIFOs, links to devices, broken links) live in each test's own folder, never in the shared corpus
folder, whose files the fixtures chmod and hash.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine import io as eio
from engine.restore import restore_photo

from .conftest import REPO, child_env, listing
from .make_corpus import CASES, case, read_rgb, face_files, save

INPUT = [c for c in CASES if c.group == "input"]
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")


def test_every_input_case_has_a_test():
    assert {c.name for c in INPUT} == {"FIFO as -i, as a photo, in a folder", "link to /dev/zero",
                                       "file over the size limit", "broken link", "-s 1e-9",
                                       "--precision bogus, --quality 0", "Ctrl+C while starting"}


def enhance(capsys, *args: str) -> tuple[int, str]:
    rc = main(["enhance", "-m", "fsrnet", "-s", "2", "--precision", "fp32", *args])
    return rc, capsys.readouterr().err


def within(seconds: float, call) -> BaseException | None:
    """Run `call` in a thread; fail the test if it is still running after `seconds` (a hang), else its exception."""
    box: dict[str, BaseException | None] = {"exc": None}

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001
            box["exc"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it hangs"
    return box["exc"]


def faceless(path: Path) -> Path:
    save(path, np.full((24, 32, 3), 90, np.uint8), format="JPEG", quality=95)
    return path


@needs_fifo
def test_a_fifo_is_refused_without_opening_it(weights, tmp_path, capsys):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    message = case("FIFO as -i, as a photo, in a folder").message
    exc = within(10, lambda: restore_photo(fifo, ["fsrnet"], 2))
    assert isinstance(exc, eio.ImageReadError) and re.search(message, str(exc)), exc
    rc, err = enhance(capsys, "-i", str(fifo), "-o", str(tmp_path / "out"))
    assert rc == 1 and re.search(message, err) and "Traceback" not in err, err
    faceless(tmp_path / "good.jpg")
    rc, err = enhance(capsys, "-i", str(tmp_path), "-o", str(tmp_path / "out"))
    assert rc == 0 and "skipped pipe.jpg: a FIFO (named pipe)" in err and "1 restored" in err, err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_link_to_dev_zero_is_refused_without_reading(weights, tmp_path, capsys):
    link = tmp_path / "zero.jpg"
    link.symlink_to("/dev/zero")
    exc = within(10, lambda: eio.read_image(link))
    assert isinstance(exc, eio.ImageReadError) and re.search(case("link to /dev/zero").message, str(exc)), exc
    faceless(tmp_path / "good.jpg")
    rc, err = enhance(capsys, "-i", str(tmp_path), "-o", str(tmp_path / "out"))
    assert rc == 0 and "skipped zero.jpg: a character device" in err, err


def test_a_file_over_the_size_limit_is_refused_before_reading(weights, tmp_path, capsys, monkeypatch):
    big = faceless(tmp_path / "padded.jpg")
    with open(big, "ab") as f:  # a JPEG followed by 3 MB of padding: decoders ignore it, memory would not
        f.write(bytes(3 << 20))
    monkeypatch.setenv(eio.ENV_MAX_FILE_MB, "2")
    calls = []
    monkeypatch.setattr(eio, "decode_image", lambda *a, **k: calls.append(a))
    with pytest.raises(eio.ImageReadError, match=r"3\.0 MB file, over the 2\.0 MB limit"):
        eio.read_image(big)
    assert calls == []
    monkeypatch.undo()
    monkeypatch.setenv(eio.ENV_MAX_FILE_MB, "2")
    rc, err = enhance(capsys, "-i", str(big), "-o", str(tmp_path / "out"))
    assert rc == 1 and re.search(case("file over the size limit").message, err), err
    monkeypatch.setenv(eio.ENV_MAX_FILE_MB, "8")
    assert eio.read_image(big).pixels.shape == (24, 32, 3)  # the same file under a higher limit reads


def test_a_broken_link_is_named_alone_and_in_a_folder(weights, tmp_path, capsys):
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    rc, err = enhance(capsys, "-i", str(tmp_path / "gone.jpg"), "-o", str(tmp_path / "out"))
    assert rc == 1 and "a broken link" in err, err
    faceless(tmp_path / "good.jpg")
    rc, err = enhance(capsys, "-i", str(tmp_path), "-o", str(tmp_path / "out"))
    assert rc == 0 and "skipped gone.jpg: a broken link" in err and "1 restored" in err, err
    with pytest.raises(eio.ImageReadError, match="a broken link"):
        eio.read_image(tmp_path / "gone.jpg")


@pytest.mark.parametrize("scale", ["1e-9", "0.5", "17"])
def test_a_scale_outside_1_to_16_is_refused(scale, weights, tmp_path, capsys):
    faceless(tmp_path / "a.jpg")
    rc = main(["enhance", "-m", "fsrnet", "-i", str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"), "-s", scale])
    err = capsys.readouterr().err
    assert rc == 2 and re.search(case("-s 1e-9").message, err), err
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="between 1 and 16"):
        restore_photo(tmp_path / "a.jpg", ["fsrnet"], float(scale))


@pytest.mark.parametrize("flags", [["--precision", "bogus"], ["--quality", "0"], ["--quality", "101"]])
def test_options_are_checked_before_any_model_loads(flags, tmp_path, capsys, monkeypatch):
    import engine.restore

    monkeypatch.setattr(engine.restore, "load_models", lambda *a, **k: pytest.fail("models loaded first"))
    faceless(tmp_path / "a.jpg")
    rc = main(["enhance", "-m", "fsrnet", "-i", str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"), *flags])
    err = capsys.readouterr().err
    assert rc == 2 and re.search(case("--precision bogus, --quality 0").message, err), err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("delay", [0.5, 1.5])
def test_ctrl_c_while_starting_prints_one_line(delay, tmp_path):
    face = tmp_path / "face.png"
    try:
        save(face, read_rgb(face_files()[0]), format="PNG")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    proc = subprocess.Popen([sys.executable, "-m", "app", "enhance", "-i", str(face), "-o", str(tmp_path / "out")],
                            cwd=REPO, env=child_env(), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        proc.wait(delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip(f"the run finished within {delay} s, before the signal")
    assert "Traceback" not in err, err
    assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, err)
    if proc.returncode == 130:
        assert re.search(case("Ctrl+C while starting").message, err), err
    assert [n for n in listing(tmp_path / "out") if n.endswith(".part")] == []
