"""engine.naming: every output of a run planned at once; fuzzed over hostile sets of input names and suffixes."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.naming import (NAME_MAX_BYTES, NamingError, already_done, check_suffix, fit_bytes, fold, plan_outputs)
from engine.util import atomic_write

EXTS = [".jpg", ".JPG", ".jpeg", ".png", ".PNG", ".tif", ".webp", ".bmp", ".gif"]


def plan(inputs: list[Path], out: Path, suffixes: dict[str, str], ext: str | None = None, owner=lambda p: None):
    return plan_outputs(inputs, out, suffixes, lambda p: ext or p.suffix.lower(), owner)


def test_case_and_unicode_variants_get_distinct_outputs(tmp_path):
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    inputs = [tmp_path / n for n in ("a.jpg", "a.JPG", "A.jpg", f"{nfc}.png", f"{nfd}.png")]
    plans = plan(inputs, tmp_path / "out", {"fsrnet": "fsrnet"}, ".png")
    names = [p.targets["fsrnet"].name for p in plans]
    assert len({fold(n) for n in names}) == 5
    assert [p.stem for p in plans][:3] == ["A", "a~2", "a~3"]


def test_a_rerun_plans_the_same_names_and_finds_its_own_outputs(tmp_path):
    inputs = [tmp_path / "a.jpg", tmp_path / "a.png"]
    out = tmp_path / "out"
    out.mkdir()
    first = plan(inputs, out, {"m": "m"}, ".png")
    for p in first:
        p.targets["m"].write_text(p.source.name)
    owner = lambda path: path.read_text()  # noqa: E731 - stands in for the provenance note
    again = plan(inputs, out, {"m": "m"}, ".png", owner)
    assert [p.targets for p in again] == [p.targets for p in first]
    assert all(already_done(p, owner) for p in again)


def test_someone_elses_file_is_never_planned_over(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_m.png").write_text("b.png")  # another input's output under a's name
    (out / "a~2_m.png").mkdir()
    owner = lambda path: path.read_text()  # noqa: E731
    [p] = plan([tmp_path / "a.png"], out, {"m": "m"}, ".png", owner)
    assert p.targets["m"].name == "a~3_m.png" and not already_done(p, owner)


@pytest.mark.parametrize("suffix", ["a/b", "x/../../y", "..", ".", "a\\b", "nul\x00", "c:d", "tab\there", "s" * 65])
def test_suffixes_that_are_not_plain_names_are_refused(suffix):
    with pytest.raises(NamingError):
        check_suffix(suffix)


def test_fit_bytes_never_splits_a_character():
    text = "é" * 100
    cut = fit_bytes(text, 51)
    assert cut == "é" * 25 and len(cut.encode()) == 50


def test_atomic_write_to_a_name_that_fits_has_a_temporary_name_that_fits(tmp_path):
    name = "é" * 120 + ".png"  # 244 bytes
    atomic_write(tmp_path / name, b"x")
    assert (tmp_path / name).read_bytes() == b"x"


PIECES = list("aAbB .-_~") + ["\u00e9", "\u00c9", "e\u0301", "E\u0301", "\u00df", "\u1e9e", "\u9854", "\u0130",
                                 "\u0131"]  # é É (composed and not), ß ẞ, 顔, İ ı: case and normal forms that fold
names = st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map("".join)
stems = st.one_of(names, names.map(lambda s: s * 12))  # some well over 255 bytes
suffix_text = st.lists(st.sampled_from(list("abcXYZ_-.\u00e9/\\:") + [".."]), max_size=12).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stems=st.lists(stems, min_size=1, max_size=12), exts=st.lists(st.sampled_from(EXTS), min_size=12,
       max_size=12), suffixes=st.lists(suffix_text, min_size=1, max_size=3, unique=True),
       out_ext=st.sampled_from([None, ".png", ".jpg"]))
def test_fuzz_no_two_inputs_share_an_output_and_none_leaves_the_folder(tmp_path, stems, exts, suffixes, out_ext):
    inputs = sorted({tmp_path / "in" / (s.strip(". ") + e) for s, e in zip(stems, exts) if s.strip(". ")})
    inputs = [p for p in inputs if len(p.name.encode()) <= NAME_MAX_BYTES and "/" not in p.name]
    if not inputs:
        return
    out = tmp_path / "out"
    labels = {f"m{i}": s for i, s in enumerate(suffixes)}
    try:
        plans = plan(inputs, out, labels, out_ext)
    except NamingError:
        assert any(_bad_suffix(s) for s in suffixes)
        return
    assert not any(_bad_suffix(s) for s in suffixes)
    assert len(plans) == len(inputs)
    targets = [t for p in plans for t in p.targets.values()]
    assert len({fold(t.name) for t in targets}) == len(targets)  # distinct even where case and Unicode fold
    assert {fold(t.name) for t in targets}.isdisjoint({fold(p.name) for p in inputs} if out == inputs[0].parent
                                                      else set())
    for t in targets:
        assert t.parent == out and t.resolve().parent == out.resolve()
        assert len(t.name.encode("utf-8", "surrogateescape")) + 5 <= NAME_MAX_BYTES
    stems_used = [fold(p.stem) for p in plans]
    assert len(set(stems_used)) == len(stems_used)  # side outputs (restored_faces/<stem>_NN) cannot collide either


def _bad_suffix(s: str) -> bool:
    try:
        check_suffix(s)
    except NamingError:
        return True
    return False
