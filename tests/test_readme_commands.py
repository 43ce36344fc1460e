"""The README's `fsr-studio enhance`, `eval` and `models` examples run as written, on a fresh clone.

Every such line of a fenced shell block of README.md (continuation lines joined, comments dropped) runs through
``app.cli.main`` with the bundled weights only (resources/weights; the user models folder is an empty temporary one),
its placeholder inputs replaced by small ones: a photo (``photo.jpg``) is a 250 x 280 part of the Solvay photo with two
faces, a folder (``folder/``) holds that photo, a face crop (``face.png`` with ``--aligned``) is an FFHQ-aligned face;
``../shared/data/...`` points at the shared data, outputs (``-o``, ``--json``, ``--markdown``, ``--plot``) go to a
temporary folder, and eval gets ``--limit 2``. Everything else is as written: models, flags, scales.
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from engine import zoo
from engine.io import IMAGE_SUFFIXES

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
COMMANDS = ("enhance", "eval", "models")
OUTPUT_OPTIONS = ("-o", "--output", "--json", "--markdown", "--plot")


def readme_commands(text: str) -> list[str]:
    """`fsr-studio enhance|eval|models ...` lines of the fenced sh/bash blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"^```(?:bash|sh|shell|console)\s*\n(.*?)^```", text, re.M | re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = re.sub(r"^\$\s+", "", line.strip())
            words = shlex.split(line, comments=True)
            if len(words) >= 2 and words[0] == "fsr-studio" and words[1] in COMMANDS:
                commands.append(" ".join(shlex.quote(w) for w in words))
    return commands


README_COMMANDS = readme_commands((REPO / "README.md").read_text(encoding="utf-8"))


def test_readme_has_examples_of_each_command():
    found = {shlex.split(c)[1] for c in README_COMMANDS}
    assert found == set(COMMANDS), f"README.md has no example of: {', '.join(sorted(set(COMMANDS) - found))}"


def option(words: list[str], *names: str) -> str | None:
    for i, w in enumerate(words[:-1]):
        if w in names:
            return words[i + 1]
    for w in words:
        for n in names:
            if n.startswith("--") and w.startswith(n + "="):
                return w.split("=", 1)[1]
    return None


def model_names(words: list[str]) -> list[str]:
    value = option(words, "-m", "--models", "--model")
    if value is None:
        return ["auto"] if words[1] == "enhance" else []
    return [m.strip() for m in value.split(",") if m.strip()]


@pytest.fixture()
def fresh_clone(monkeypatch, tmp_path):
    """Bundled weights as shipped, nothing in the user models folder, and a working folder outside the repository."""
    monkeypatch.setenv("FSR_STUDIO_BUNDLED", str(zoo.BUNDLED_DIR))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture(scope="module")
def small_photo(shared_data) -> np.ndarray:
    from engine.io import read_image

    photo = read_image(shared_data / "photos" / "solvay_conference_1927.jpg").pixels
    return np.ascontiguousarray(photo[200:480, 150:400])  # two faces of ~76 px


def make_input(value: str, aligned: bool, photo: np.ndarray, shared_data: Path, folder: Path) -> Path:
    """A small stand-in for the README's input path, of the kind it names."""
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(value.rstrip("/")).name or "photos"
    if value.endswith("/") or Path(value).suffix.lower() not in IMAGE_SUFFIXES:
        target = folder / name
        target.mkdir(exist_ok=True)
        Image.fromarray(photo).save(target / "photo.jpg", quality=92)
        return target
    target = folder / name
    if aligned:
        face = next(p for p in sorted((shared_data / "ffhq256").iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES)
        Image.open(face).convert("RGB").save(target)
    else:
        Image.fromarray(photo).save(target)
    return target


def substitute(words: list[str], photo: np.ndarray, shared_data: Path, tmp: Path) -> tuple[list[str], dict]:
    """The command with small inputs and temporary outputs; returns (argv without 'fsr-studio', where things went)."""
    out = []
    for w in words[1:]:  # --option=value -> --option value
        out += w.split("=", 1) if w.startswith("--") and "=" in w else [w]
    where: dict = {"outputs": {}}
    aligned = "--aligned" in out or "--has_aligned" in out
    i = 0
    while i < len(out):
        w = out[i]
        if i + 1 < len(out) and w in ("-i", "--input") and out[0] == "enhance":
            out[i + 1] = str(make_input(out[i + 1], aligned, photo, shared_data, tmp / "inputs"))
            where["input"] = Path(out[i + 1])
            i += 1
        elif i + 1 < len(out) and w in OUTPUT_OPTIONS:
            target = tmp / "outputs" / w.lstrip("-") / Path(out[i + 1].rstrip("/")).name
            out[i + 1] = str(target)
            where["outputs"][w] = target
            i += 1
        elif w.startswith("../shared/data"):
            out[i] = str(shared_data / w[len("../shared/data"):].lstrip("/"))
        i += 1
    if out[0] == "eval":
        limit = option(out, "--limit")
        if limit is None:
            out += ["--limit", "2"]
        else:
            out[out.index("--limit") + 1] = str(min(2, int(limit)))
    if out[0] == "enhance" and "-o" not in where["outputs"] and "--output" not in where["outputs"]:
        where["outputs"]["-o"] = tmp / "outputs" / "results"  # the default output folder, made absolute
        out += ["-o", str(where["outputs"]["-o"])]
    return out, where


def unavailable_variants(names: list[str]) -> list[str]:
    """Exact variant names (not auto, not family names, which resolve) that have no weights on a fresh clone."""
    from engine.auto import AUTO, FAMILY_PREFERENCE

    missing = []
    for name in names:
        if name == AUTO or ":" in name:
            continue
        if name in FAMILY_PREFERENCE:
            if not any(zoo.find_weights(m) for m in FAMILY_PREFERENCE[name] if m in zoo.names()):
                missing.append(name)
        elif name in zoo.names() and zoo.find_weights(name) is None:
            missing.append(name)
    return missing


@pytest.mark.parametrize("command", README_COMMANDS, ids=lambda c: c[:70])
def test_readme_command_runs_as_written(command, fresh_clone, shared_data, small_photo, tmp_path, capsys):
    words = shlex.split(command)
    missing = unavailable_variants(model_names(words))
    if missing:
        pytest.skip(f"README example names {', '.join(missing)}, whose weights are not bundled in resources/weights "
                    f"(yet): {command}")
    argv, where = substitute(words, small_photo, shared_data, tmp_path)
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == 0, f"{command}\n  ran as: fsr-studio {shlex.join(argv)}\n{captured.err[-2500:]}{captured.out[-2500:]}"
    kind = words[1]
    if kind == "models":
        assert "fsrnet" in captured.out
    elif kind == "enhance":
        results = where["outputs"].get("-o") or where["outputs"]["--output"]
        source = where["input"]
        inputs = sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]
        photos = sorted(p.name for p in results.iterdir() if p.is_file())
        n_models = len(model_names(words))
        assert len(photos) == n_models * len(inputs), (command, photos)
        for path in inputs:
            assert sum(name.startswith(path.stem + "_") for name in photos) == n_models, (command, photos)
        restored_somewhere = "auto" not in model_names(words)  # auto may keep every face (no weights for its size)
        if "--save-faces" in words and restored_somewhere:
            assert any((results / "restored_faces").iterdir()) and any((results / "cmp").iterdir())
        if "--save-priors" in words and restored_somewhere:
            assert any((results / "priors").iterdir())
        assert list(fresh_clone.iterdir()) == [], "the command wrote into the current folder"
    elif kind == "eval":
        for flag, path in where["outputs"].items():
            assert path.is_file() and path.stat().st_size > 0, (flag, path)
        if "--json" in where["outputs"]:
            assert json.loads(where["outputs"]["--json"].read_text())["n"] == 2
