"""The "naming" cases of the corpus: one run's outputs never collide and never leave the output folder.

Photos here have no face (a plain gradient), so each run only upscales: the naming is what is under test.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine import io as eio

from .conftest import listing
from .make_corpus import CASES, case, save

NAMING = [c for c in CASES if c.group == "naming"]


def photo(path: Path, shade: int) -> Path:
    """A small faceless photo whose shade tells which input an output came from."""
    pixels = np.full((24, 32, 3), shade, np.uint8)
    save(path, pixels, format="PNG" if path.suffix.lower() == ".png" else "JPEG", quality=95)
    return path


def enhance(capsys, *args: str) -> tuple[int, str]:
    rc = main(["enhance", "-m", "fsrnet", "-s", "2", "--precision", "fp32", *args])
    return rc, capsys.readouterr().err


def source_of(path: Path) -> str:
    return eio.read_provenance(path)["source"]


def shade_of(path: Path) -> int:
    return int(round(float(eio.read_image(path).pixels.mean())))


def test_every_naming_case_has_a_test():
    tested = {"a.jpg + a.JPG", "x.jpg + x.png --ext png", "clash with --overwrite", "folder at the output name",
              "foreign file at the output name", "--suffix 'x/../../../precious'", "--suffix a/b", "-o '' / -i ''"}
    assert {c.name for c in NAMING} == tested


def test_case_variants_get_their_own_outputs_and_a_rerun_finds_both_done(weights, tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    photo(src / "a.jpg", 60)
    photo(src / "a.JPG", 200)
    rc, err = enhance(capsys, "-i", str(src), "-o", str(out))
    assert rc == 0 and "2 restored, 0 already done, 0 failed" in err, err
    assert listing(out) == ["a_fsrnet.jpg", "a~2_fsrnet.jpg"]  # a.JPG sorts first among equal folded names
    assert {source_of(out / n): shade_of(out / n) for n in listing(out)} == {"a.JPG": 200, "a.jpg": 60}
    rc, err = enhance(capsys, "-i", str(src), "-o", str(out))
    assert rc == 0 and "0 restored, 2 already done, 0 failed" in err, err


def test_same_stem_other_format_with_one_output_format(weights, tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    photo(src / "x.jpg", 60)
    photo(src / "x.png", 200)
    rc, err = enhance(capsys, "-i", str(src), "-o", str(out), "--ext", "png")
    assert rc == 0 and "2 restored" in err, err
    assert listing(out) == ["x_fsrnet.png", "x~2_fsrnet.png"]
    assert sorted(source_of(out / n) for n in listing(out)) == ["x.jpg", "x.png"]


def test_clash_with_overwrite_restores_both_to_their_own_files(weights, tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    photo(src / "x.jpg", 60)
    photo(src / "x.png", 200)
    for _ in range(2):
        rc, err = enhance(capsys, "-i", str(src), "-o", str(out), "--ext", "png", "--overwrite")
        assert rc == 0 and "2 restored, 0 already done" in err, err
        assert {source_of(out / n): shade_of(out / n) for n in listing(out)} == {"x.jpg": 60, "x.png": 200}


def test_a_folder_at_the_output_name_is_not_done_and_stays(weights, tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    photo(src / "a.jpg", 60)
    (out / "a_fsrnet.jpg").mkdir(parents=True)
    (out / "a_fsrnet.jpg" / "keep.txt").write_text("mine")
    rc, err = enhance(capsys, "-i", str(src), "-o", str(out))
    assert rc == 0 and "1 restored, 0 already done" in err, err
    assert listing(out) == ["a_fsrnet.jpg/keep.txt", "a~2_fsrnet.jpg"]
    assert source_of(out / "a~2_fsrnet.jpg") == "a.jpg"


def test_a_foreign_file_at_the_output_name_is_kept(weights, tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    photo(src / "a.jpg", 60)
    out.mkdir()
    foreign = photo(out / "a_fsrnet.jpg", 99)  # a user's own file (no provenance note)
    before = hashlib.sha256(foreign.read_bytes()).hexdigest()
    for overwrite in ([], ["--overwrite"]):
        rc, err = enhance(capsys, "-i", str(src), "-o", str(out), *overwrite)
        assert rc == 0 and "1 restored" in err, err
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == before
    assert listing(out) == ["a_fsrnet.jpg", "a~2_fsrnet.jpg"]
    rc, err = enhance(capsys, "-i", str(src), "-o", str(out))
    assert "0 restored, 1 already done" in err, err


@pytest.mark.parametrize("suffix", ["x/../../../precious", "a/b", "..", "a\\b"])
def test_a_suffix_that_is_a_path_is_refused(suffix, weights, tmp_path, capsys):
    deep = tmp_path / "one" / "two" / "three"
    src, out = tmp_path / "in", deep / "out"
    src.mkdir()
    photo(src / "x.jpg", 60)
    precious = tmp_path / "precious_fsrnet.jpg"
    precious.write_bytes(b"precious")
    rc, err = enhance(capsys, "-i", str(src / "x.jpg"), "-o", str(out), "--suffix", suffix, "--overwrite")
    assert rc == 2 and re.search(case("--suffix a/b").message, err), err
    assert precious.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "precious_fsrnet.jpg"]  # not even the folder


@pytest.mark.parametrize("flag", ["-i", "-o"])
def test_empty_input_or_output_is_refused(flag, weights, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo(tmp_path / "x.jpg", 60)
    args = {"-i": str(tmp_path / "x.jpg"), "-o": str(tmp_path / "out")}
    args[flag] = ""
    rc, err = enhance(capsys, "-i", args["-i"], "-o", args["-o"])
    assert rc == 2 and re.search(case("-o '' / -i ''").message, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jpg"]
