"""Crash safety: SIGKILL (no handler, no clean-up) of `fsr-studio enhance` mid-batch and of training mid-step.

Each process is killed twice over: `enhance` once at an arbitrary moment of real work, training once in the middle
of an optimizer step, and each once at the worst moment of a write (bytes on disk, rename not done);
tests/reliability/killer.py picks the moments, so they do not depend on the machine's speed. A re-run must finish
the batch with every output complete, none twice, no temporary file left; `--resume` must continue from the last
complete checkpoint and replay exactly the steps the killed run had made after it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from app.cli import main
from engine import io as eio
from engine.util import part_writer

from .conftest import REPO, child_env, digest, listing
from .make_corpus import TINY_CARD, landmark_rows

BATCH = ["cmyk.jpg", "grey.jpg", "palette.png", "rgba.png", "deep_16bit.tif", "with spaces in name.png",
         "orientation_6.jpg", "many_faces.jpg"]


def tiny_face_folder(shared: Path, folder: Path, n: int = 8) -> Path:
    """`n` faces128 images copied flat into `folder` with their rows of landmarks68.csv (an aligned training set)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for row in landmark_rows(shared)[:n]:
        name, rest = row.split(",", 1)
        flat = name.replace("/", "_")
        shutil.copy(shared / "faces128" / name, folder / flat)
        rows.append(f"{flat},{rest}")
    (folder / "landmarks68.csv").write_text("\n".join(rows) + "\n")
    return folder


def _batch(corpus: Path, folder: Path) -> Path:
    folder.mkdir()
    for i, name in enumerate(BATCH):
        shutil.copy(corpus / name, folder / f"{i:02d}_{name}")
    return folder


def _outputs(src: Path) -> list[str]:
    return sorted(f"{Path(p).stem}_fsrnet{Path(p).suffix}" for p in os.listdir(src))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_complete(out: Path, src: Path) -> dict[str, str]:
    """Every visible output decodes completely and has the right size; returns name -> sha256."""
    done = {}
    for name in listing(out):
        if name.startswith("."):
            continue
        image = eio.read_image(out / name)
        source = eio.read_image(src / name.replace("_fsrnet", ""))
        assert image.pixels.shape[:2] == tuple(2 * s for s in source.pixels.shape[:2]), name
        done[name] = _sha(out / name)
    return done


def _enhance(src: Path, out: Path) -> list[str]:
    return ["enhance", "-m", "fsrnet", "-i", str(src), "-o", str(out), "-s", "2", "--precision", "fp32"]


def _rerun_finishes(src: Path, out: Path, before: dict[str, str], capsys) -> str:
    rc = main(_enhance(src, out))
    err = capsys.readouterr().err
    assert rc == 0, err[-2000:]
    assert listing(out) == _outputs(src)  # every photo once, nothing temporary, nothing twice
    after = _check_complete(out, src)
    assert {k: after[k] for k in before} == before  # finished outputs were skipped, not redone
    assert f"{len(BATCH) - len(before)} restored, {len(before)} already done, 0 failed" in err
    return err


def test_sigkill_enhance_mid_batch_then_rerun(corpus, weights, tmp_path, capsys):
    src = _batch(corpus, tmp_path / "in")
    out = tmp_path / "out"
    inputs = digest(src)
    proc = subprocess.Popen([sys.executable, "-m", "app", *_enhance(src, out)], cwd=REPO, env=child_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_dir() and [n for n in os.listdir(out) if not n.startswith(".")]:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    before = _check_complete(out, src)
    assert 0 < len(before) < len(BATCH)
    _rerun_finishes(src, out, before, capsys)
    assert digest(src) == inputs


def test_sigkill_enhance_between_write_and_rename_then_rerun(corpus, weights, tmp_path, capsys):
    src = _batch(corpus, tmp_path / "in")
    out = tmp_path / "out"
    inputs = digest(src)
    run = subprocess.run([sys.executable, "-m", "tests.reliability.killer", "--match", "_fsrnet", "--nth", "3",
                          "app", *_enhance(src, out)], cwd=REPO, env=child_env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
    leftovers = [n for n in listing(out) if n.startswith(".")]
    assert len(leftovers) == 1 and part_writer(leftovers[0]) is not None  # the 3rd output: written, never renamed
    before = _check_complete(out, src)
    assert len(before) == 2
    err = _rerun_finishes(src, out, before, capsys)
    assert "removed temporary files left by an interrupted run" in err
    assert digest(src) == inputs


# ----- training ------------------------------------------------------------------------------------------------------
STEPS, EVERY = 16, 4


def _train_cmd(data: Path, run: Path, events: Path, *extra: str) -> list[str]:
    arch = [a for k, v in TINY_CARD.items() for a in ("--arch", f"{k}={v}")]
    return ["train", "-m", "fsrnet", "--data", str(data), "--run-dir", str(run), "--steps", str(STEPS),
            "--batch", "2", "--threads", "1", "--checkpoint-every", str(EVERY), "--checkpoint-minutes", "0",
            "--log-every", "1", "--val-every", "0", "--seed", "5", "--events", str(events), *arch, *extra]


def _events(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()] if path.exists() else []


def _losses(events: list[dict]) -> dict[int, float]:
    return {e["step"]: e["losses"]["total"] for e in events if e["event"] == "step"}


def _states(run: Path) -> list[int]:
    return sorted(int(p.stem) for p in (run / "training_states").glob("*.state"))


def _loads(run: Path) -> None:
    """Every visible checkpoint file of the run folder loads (safely): nothing half-written."""
    for path in [*(run / "models").glob("*.pth"), *(run / "training_states").glob("*.state")]:
        torch.load(path, map_location="cpu", weights_only=True)


def _killed(*killer_args: str, cmd: list[str]) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "tests.reliability.killer", *killer_args, "app", *cmd],
                         cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
    return run


def test_sigkill_training_then_resume_continues_from_last_checkpoint(shared_data, tmp_path):
    from app.cli import main as cli_main

    data = tiny_face_folder(shared_data, tmp_path / "faces")
    run = tmp_path / "run"

    # 1. killed while saving the checkpoint of step 8: net files written, the state's rename never happens
    first = tmp_path / "a.jsonl"
    _killed("--match", r"^\d+\.state$", "--nth", "2", cmd=_train_cmd(data, run, first))
    assert _states(run) == [EVERY]  # the half-saved step-8 checkpoint is invisible
    _loads(run)

    # 2. resumed from step 4, then killed in the middle of step 11 (its 7th step), past the checkpoint of step 8
    second = tmp_path / "b.jsonl"
    _killed("--optimizer-step", "7", cmd=_train_cmd(data, run, second, "--resume"))
    ev_b = _events(second)
    start_b = [e for e in ev_b if e["event"] == "start"][0]
    assert start_b["step"] == EVERY and start_b["resumed"]
    last = _states(run)[-1]
    assert last == 2 * EVERY and max(_losses(ev_b)) == 2 * EVERY + 2  # steps 9 and 10 are lost with the process
    _loads(run)

    # 3. resumed to the end: it starts at the last complete checkpoint and replays the lost steps bit for bit
    third = tmp_path / "c.jsonl"
    assert cli_main(_train_cmd(data, run, third, "--resume")) == 0
    ev_c = _events(third)
    assert [e for e in ev_c if e["event"] == "start"][0]["step"] == last
    replayed = _losses(ev_c)
    assert sorted(replayed) == list(range(last + 1, STEPS + 1))
    lost = {s: v for s, v in _losses(ev_b).items() if s > last}
    assert lost and all(replayed[s] == v for s, v in lost.items()), (lost, replayed)
    first_part = {s: v for s, v in _losses(_events(first)).items() if s > EVERY}
    assert all(_losses(ev_b)[s] == v for s, v in first_part.items() if s in _losses(ev_b))
    assert [e for e in ev_c if e["event"] == "finished"] and (run / "fsrnet.safetensors").is_file()
    _loads(run)
    stale = [p.name for p in run.rglob(".*.part")]
    assert all(part_writer(n) is not None for n in stale)  # only the killed writer's own temporary file


@pytest.mark.parametrize("name", [".a.png.123.abc_1234.part", ".x.y.jpg.99.zz.part"])
def test_part_writer_parses_temporary_names(name):
    assert part_writer(name) is not None
    assert part_writer("a.png") is None and part_writer(".a.png.part") is None
    assert re.fullmatch(r"\d+", str(part_writer(name)))
