"""The whole bad-input corpus (tests/reliability/make_corpus.py) through the CLI and the Python API.

Per case: the exit status and message, inputs byte-identical afterwards, nothing partial or stray in the output folder,
every good file restored with the right size, channels and bit depth. Checkpoints go through `enhance -w`, the zoo
search path, ``load_models`` and the trainer (--init, --resume); the output-folder cases (read-only, full disk) run
for real in a user+mount namespace where the kernel allows one, and simulated at the OS call everywhere.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from app.cli import main
from engine import io as eio
from engine import zoo
from engine.restore import load_models, restore_photo

from .conftest import REPO, child_env, cli, digest, image_cases, listing
from .make_corpus import CASES, case, make_checkpoints, tiny_fsrnet

SCALE = 2
RESTORED = [c for c in image_cases() if c.expect == "restored"]
REFUSED = [c for c in image_cases() if c.expect == "refused"]
CHECKPOINTS = [c for c in CASES if c.group == "checkpoint"]


def output_name(name: str) -> str:
    """`<stem>_fsrnet<ext>`: the input's format, which for a PNG named .jpg is PNG; or the case's own `output`."""
    if case(name).output:
        return case(name).output
    path = Path(name)
    return f"{path.stem}_fsrnet{'.png' if name == 'png_named.jpg' else path.suffix}"


def check_restored(source: Path, pixels: np.ndarray, alpha: np.ndarray | None) -> None:
    """Upright input x SCALE, same channels (grey stays grey), alpha kept, 16 bits kept where the format holds them."""
    original = eio.read_image(source)
    h, w = original.pixels.shape[:2]
    assert pixels.shape[:2] == (h * SCALE, w * SCALE), source.name
    assert pixels.ndim == original.pixels.ndim, source.name
    assert (alpha is None) == (original.alpha is None), source.name
    if original.pixels.dtype == np.uint16 and source.suffix == ".tif":
        assert pixels.dtype == np.uint16, source.name


def faces_reported(stderr: str) -> dict[str, int]:
    """`NAME: N face(s), ...` lines of `enhance` -> {name: N}."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(.+?): (\d+) face\(s\)", stderr, re.M)}


# ----- images: one batch through `python -m app enhance` -----------------------------------------------------------
def test_whole_corpus_batch_through_the_command_line(corpus, weights, tmp_path):
    before = digest(corpus)
    out = tmp_path / "out"
    run = cli("enhance", "-m", "fsrnet", "-i", str(corpus), "-o", str(out), "-s", str(SCALE), "--precision", "fp32")
    err = run.stderr
    assert run.returncode == 1, err[-3000:]
    assert f"{len(RESTORED)} restored, 0 already done, {len(REFUSED)} failed" in err, err[-3000:]
    for c in REFUSED:
        assert re.search(rf"failed: .*{c.message}", err, re.I), (c.name, err[-3000:])
    assert listing(out) == sorted(output_name(c.name) for c in RESTORED)  # nothing partial, temporary or extra
    found = faces_reported(err)
    for c in RESTORED:
        result = eio.read_image(out / output_name(c.name))
        check_restored(corpus / c.name, result.pixels, result.alpha)
        assert result.metadata.orientation == 1
        assert found[c.name] >= c.min_faces, (c.name, found[c.name])
        assert eio.read_provenance(out / output_name(c.name))["source"] == c.name
        if c.note:
            assert re.search(c.note, err), (c.name, err[-3000:])
    assert digest(corpus) == before

    # a re-run skips every finished photo (also the PNG named .jpg), rewrites nothing and still reports the bad ones
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = cli("enhance", "-m", "fsrnet", "-i", str(corpus), "-o", str(out), "-s", str(SCALE))
    assert again.returncode == 1
    assert f"0 restored, {len(RESTORED)} already done, {len(REFUSED)} failed" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps
    assert digest(corpus) == before


# ----- images: each case alone (exit status and message) and through the Python API ----------------------------------
@pytest.mark.parametrize("c", image_cases(), ids=lambda c: c.name)
def test_each_image_case_exit_status_and_message(c, corpus, weights, tmp_path, capsys):
    before = digest(corpus)
    out = tmp_path / "out"
    rc = main(["enhance", "-m", "fsrnet", "-i", str(corpus / c.name), "-o", str(out), "-s", str(SCALE), "--precision", "fp32"])
    err = capsys.readouterr().err
    if c.expect == "restored":
        assert rc == 0, err[-2000:]
        assert listing(out) == [output_name(c.name)]
        assert "1 restored, 0 already done, 0 failed" in err
    else:
        assert rc == 1
        assert re.search(c.message, err, re.I), err[-2000:]
        assert "0 restored, 0 already done, 1 failed" in err
        assert listing(out) == []
    assert digest(corpus) == before


@pytest.fixture(scope="module")
def tiny_model() -> tuple[str, torch.nn.Module]:
    torch.manual_seed(0)
    return ("fsrnet", tiny_fsrnet().eval())


@pytest.mark.parametrize("c", image_cases(), ids=lambda c: c.name)
def test_each_image_case_through_the_python_api(c, corpus, tiny_model):
    before = digest(corpus)
    if c.expect == "refused" and c.stage == "read":
        with pytest.raises(eio.ImageReadError, match=re.compile(c.message, re.I)):
            restore_photo(corpus / c.name, [tiny_model], SCALE)
    elif c.expect == "refused":  # the photo restores; the writer refuses the size before encoding anything
        result = restore_photo(corpus / c.name, [tiny_model], SCALE)
        with pytest.raises(eio.ImageWriteError, match=re.compile(c.message, re.I)):
            eio.encode_image(result.image, "JPEG")
    else:
        result = restore_photo(corpus / c.name, [tiny_model], SCALE)
        pixels, alpha = eio.split_alpha(result.image)
        check_restored(corpus / c.name, pixels, alpha)
        assert sum(not f.skipped for f in result.faces) >= c.min_faces
        if c.min_faces == 0:
            assert "no face found: the photo is only upscaled" in result.notes
        if c.note:  # what reading left out is a note of the result, what writing leaves out one of the encoder
            _, written = eio.encode_image(result.image, eio.output_format(output_name(c.name)),
                                          metadata=result.metadata,
                                          provenance={**result.provenance[result.models[0]], "source": c.name})
            notes = result.notes + written
            assert any(re.search(c.note, n) for n in notes), notes
    assert digest(corpus) == before


# ----- checkpoints ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_checkpoints(tmp_path_factory) -> tuple[dict[str, Path], Path]:
    folder = tmp_path_factory.mktemp("checkpoints")
    marker = folder / "PWNED"
    return make_checkpoints(folder, marker), marker


def test_the_pickle_exploit_is_real(tmp_path):
    """Without weights_only the corpus pickle does run code: the refusals below are worth something."""
    marker = tmp_path / "ran"
    exploit = make_checkpoints(tmp_path / "files", marker)["pickle_exploit.pth"]
    loaded = torch.load(exploit, weights_only=False)
    next(iter(loaded["params"].values())).close()  # the payload's open() returned a real file
    assert marker.exists()


@pytest.mark.parametrize("c", CHECKPOINTS, ids=lambda c: c.name)
def test_each_checkpoint_case_cli_and_api(c, bad_checkpoints, corpus, tmp_path, capsys):
    files, marker = bad_checkpoints
    path = files[c.name]
    photo = corpus / "cmyk.jpg"
    out = tmp_path / "out"
    rc = main(["enhance", "-i", str(photo), "-o", str(out), "-w", str(path)])
    err = capsys.readouterr().err
    assert rc == 1 and re.search(rf"error: .*{c.message}", err, re.I | re.S), err[-2000:]
    assert "weights_only=False" not in err and "Traceback" not in err  # never torch's advice to run the file's code
    assert not out.exists()  # refused before any photo was read or any folder made

    with pytest.raises(zoo.CheckpointError, match=re.compile(c.message, re.I | re.S)):
        load_models(["fsrnet"], weights=path)
    if path.is_dir():  # the folder case: the search path takes files only, so it is never found by name
        return
    user = zoo.user_models_dir()  # the same file found by name in the user models folder
    user.mkdir(parents=True, exist_ok=True)
    found = user / f"fsrnet{path.suffix}"
    shutil.copy(path, found)
    shutil.copy(path.with_suffix(".json"), found.with_suffix(".json"))
    with pytest.raises(zoo.CheckpointError, match=re.escape(str(found))):
        restore_photo(photo, ["fsrnet"], SCALE)
    assert not marker.exists()


@pytest.fixture(scope="module")
def tiny_faces(shared_data, tmp_path_factory) -> Path:
    from .test_crash import tiny_face_folder

    return tiny_face_folder(shared_data, tmp_path_factory.mktemp("faces"))


@pytest.mark.parametrize("c", CHECKPOINTS, ids=lambda c: c.name)
def test_each_checkpoint_case_trainer_init(c, bad_checkpoints, tiny_faces, tmp_path):
    from app.cli import main as cli_main

    files, marker = bad_checkpoints
    events = tmp_path / "events.jsonl"
    rc = cli_main(["train", "-m", "fsrnet", "--data", str(tiny_faces), "--init", str(files[c.name]),
                       "--run-dir", str(tmp_path / "run"), "--batch", "2", "--steps", "2", "--threads", "1",
                       "--events", str(events), *tiny_arch_flags()])
    kinds = [e["event"] for e in read_events(events)]
    assert rc == 2 and "error" in kinds and "step" not in kinds
    messages = " ".join(e.get("message", "") for e in read_events(events))
    assert files[c.name].name in messages and "weights_only=False" not in messages
    assert not marker.exists()


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def tiny_arch_flags() -> list[str]:
    from .make_corpus import TINY_CARD

    return [a for k, v in TINY_CARD.items() for a in ("--arch", f"{k}={v}")]


def test_trainer_resume_refuses_a_pickle_exploit_state(bad_checkpoints, tiny_faces, tmp_path):
    """A training state from elsewhere (a shared run folder) cannot run code on --resume either."""
    from app.cli import main as cli_main

    files, marker = bad_checkpoints
    run = tmp_path / "run"
    base = ["train", "-m", "fsrnet", "--data", str(tiny_faces), "--run-dir", str(run), "--batch", "2",
            "--threads", "1", "--checkpoint-every", "1", *tiny_arch_flags()]
    assert cli_main([*base, "--steps", "1", "--events", str(tmp_path / "a.jsonl")]) == 0
    shutil.copy(files["pickle_exploit.pth"], run / "training_states" / "1.state")
    assert cli_main([*base, "--steps", "2", "--resume", "--events", str(tmp_path / "b.jsonl")]) == 2
    assert "1.state" in (tmp_path / "b.jsonl").read_text()
    assert "weights_only=False" not in (tmp_path / "b.jsonl").read_text()  # torch's unsafe advice is never passed on
    assert not marker.exists()


# ----- environment: read-only output folder, full disk -------------------------------------------------------------
def _namespace_works() -> bool:
    """True where `unshare -rm` can mount a tmpfs (a user+mount namespace; no root needed on most Linux)."""
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt || exit 1"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


NAMESPACE = _namespace_works()
needs_namespace = pytest.mark.skipif(not NAMESPACE, reason="no user+mount namespaces here (unshare -rm)")


def _small_batch(corpus: Path, folder: Path, names: list[str]) -> Path:
    folder.mkdir()
    for name in names:
        shutil.copy(corpus / name, folder / name)
    return folder


def _in_namespace(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=child_env())


def _enhance_line(src: Path, out: Path) -> str:
    return f"'{sys.executable}' -m app enhance -m fsrnet -i '{src}' -o '{out}' -s 2 --precision fp32"


@needs_namespace
def test_read_only_output_folder_for_real(corpus, weights, tmp_path):
    src = _small_batch(corpus, tmp_path / "in", ["cmyk.jpg", "grey.jpg"])
    out = tmp_path / "out"
    out.mkdir()
    before = digest(src)
    run = _in_namespace(f"mount --bind '{out}' '{out}' && mount -o remount,bind,ro '{out}' && "
                        f"exec {_enhance_line(src, out)}")
    assert run.returncode == 1, run.stderr[-2000:]
    assert re.search(case("read-only output folder").message + r".*read-only file system", run.stderr, re.I)
    assert "face(s)" not in run.stderr  # refused before any photo was processed
    assert listing(out) == [] and digest(src) == before


def test_read_only_output_folder_simulated(corpus, weights, tmp_path, monkeypatch, capsys):
    """Root ignores permission bits, so the refusal is made where the kernel would make it: at open/mkdir."""
    src = _small_batch(corpus, tmp_path / "in", ["cmyk.jpg", "grey.jpg"])
    out = tmp_path / "out"
    out.mkdir()
    before = digest(src)
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if Path(os.fsdecode(path)).parent == out and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    rc = main(["enhance", "-m", "fsrnet", "-i", str(src), "-o", str(out), "-s", "2"])
    err = capsys.readouterr().err
    assert rc == 1 and re.search(case("read-only output folder").message + ".*permission denied", err, re.I), err
    assert "face(s)" not in err and listing(out) == [] and digest(src) == before
    with pytest.raises(PermissionError):  # the API's writer says the same, and leaves nothing behind
        eio.write_image(out / "x.png", np.zeros((4, 4, 3), np.uint8))
    assert listing(out) == []


@needs_namespace
def test_full_disk_for_real(corpus, weights, tmp_path):
    """A 40 kB tmpfs: the first output fits, the next one hits ENOSPC mid-write; the batch stops cleanly."""
    src = _small_batch(corpus, tmp_path / "in", ["cmyk.jpg", "grey.jpg", "palette.png", "rgba.png"])
    out, kept = tmp_path / "out", tmp_path / "kept"
    out.mkdir()
    before = digest(src)
    run = _in_namespace(f"mount -t tmpfs -o size=40k none '{out}' && {_enhance_line(src, out)}; rc=$?; "
                        f"cp -a '{out}/.' '{kept}/' 2>/dev/null || mkdir -p '{kept}'; exit $rc")
    err = run.stderr
    assert run.returncode == 1, err[-2000:]
    assert re.search(case("full disk").message, err, re.I) and "is full: stopped" in err, err[-2000:]
    written = listing(kept)
    assert len(written) < 4 and not [n for n in written if n.startswith(".")]  # no partial or temporary file
    for name in written:
        check_restored(src / name.replace("_fsrnet", ""), *eio.split_alpha(eio.read_image(kept / name).pixels))
    assert digest(src) == before


def test_full_disk_simulated(corpus, weights, tmp_path, monkeypatch, capsys):
    """A disk that takes 40 kB: the write that crosses it fails with ENOSPC, as the kernel's would."""
    import engine.util

    src = _small_batch(corpus, tmp_path / "in", ["cmyk.jpg", "grey.jpg", "palette.png", "rgba.png"])
    out = tmp_path / "out"
    before = digest(src)
    room = [40_000]
    real_fdopen = os.fdopen

    class FillingFile:
        def __init__(self, f):
            self.f = f

        def write(self, data: bytes) -> int:
            if len(data) > room[0]:
                self.f.write(data[: room[0]])
                room[0] = 0
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            room[0] -= len(data)
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(engine.util.os, "fdopen", lambda fd, *a, **k: FillingFile(real_fdopen(fd, *a, **k)))
    rc = main(["enhance", "-m", "fsrnet", "-i", str(src), "-o", str(out), "-s", "2"])
    err = capsys.readouterr().err
    assert rc == 1 and re.search(case("full disk").message, err, re.I) and "is full: stopped" in err, err
    written = listing(out)
    assert 0 < len(written) < 4 and not [n for n in written if n.startswith(".")]
    for name in written:
        eio.read_image(out / name)  # complete, decodable
    assert digest(src) == before


# ----- images whose pictures came back wrong with exit 0 --------------------------------------------------------------
def test_float_grey_tiff_keeps_its_brightness(corpus):
    import tifffile

    stored = tifffile.imread(corpus / "float_grey_0_255.tif")
    read = eio.read_image(corpus / "float_grey_0_255.tif").pixels
    assert read.dtype == np.uint16 and read.ndim == 2
    assert abs(read.mean() / 257 - stored.mean()) < 0.5  # was all white (read as 0-1: every sample clipped)


def test_cmyk_tiff_comes_back_rgb_without_alpha(corpus):
    image = eio.read_image(corpus / "cmyk_tiff.tif")
    assert image.pixels.shape[2] == 3 and image.alpha is None
    face = eio.read_image(corpus / "cmyk.jpg").pixels.astype(float)
    assert np.abs(image.pixels.astype(float) - face).mean() < 8  # the same face through CMYK JPEG and CMYK TIFF
