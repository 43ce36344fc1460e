"""FSRNet training end to end on a tiny network: overfitting, bit-exact resume, cancel (file and SIGTERM), events,
export through engine.zoo, and clear errors on bad input before any training step."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import zoo
from app.cli import main as cli_main
from trainer.loop import Trainer, resolve_config, train

from .helpers import read_events, step_losses, tiny_config, write_manifest

REPO = Path(__file__).resolve().parents[2]


def _weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_fsrnet_overfits_a_fixed_batch(faces_csv, tmp_path):
    cfg = resolve_config(tiny_config(faces_csv, tmp_path / "run", batch=4, lr=1e-3))
    trainer = Trainer(cfg)
    trainer.setup()
    recipe = trainer.recipe
    keys = trainer.loader().batch_sampler.keys(0)
    batch = torch.utils.data.default_collate([trainer.dataset[k] for k in keys])
    assert batch["priors"].shape == (4, 79, 64, 64)  # 68 heatmaps + 11 parsing maps
    recipe.set_train()
    losses = []
    for step in range(30):
        out = recipe.train_step(recipe.to_device(batch), step)
        trainer.precision.update()
        assert set(out) == {"total", "coarse", "fine", "prior"} and all(np.isfinite(list(out.values())))
        losses.append(out["total"])
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:3]), losses


def test_cancel_file_then_resume_is_bit_exact(faces_csv, tmp_path):
    ref = tmp_path / "ref"
    assert train(tiny_config(faces_csv, ref, steps=5), str(tmp_path / "ref.jsonl")) == 0

    run = tmp_path / "run"
    run.mkdir()
    (run / "CANCEL").touch()  # honoured after the first step: checkpoint, 'cancelled' event, exit 0
    assert train(tiny_config(faces_csv, run, steps=5), str(tmp_path / "a.jsonl")) == 0
    first = read_events(tmp_path / "a.jsonl")
    cancelled = [e for e in first if e["event"] == "cancelled"]
    assert cancelled and cancelled[0]["step"] == 1 and not (run / "CANCEL").exists()
    assert (run / "training_states" / "1.state").is_file() and (run / "models" / "net_g_1.pth").is_file()
    assert not (run / "fsrnet.safetensors").exists()

    assert train(tiny_config(faces_csv, run, steps=5, resume=True), str(tmp_path / "b.jsonl")) == 0
    resumed = read_events(tmp_path / "b.jsonl")
    assert [e for e in resumed if e["event"] == "start"][0]["step"] == 1
    ref_losses = step_losses(read_events(tmp_path / "ref.jsonl"))
    got = {**step_losses(first), **step_losses(resumed)}
    assert got == ref_losses  # identical floats, step by step
    a, b = _weights(ref / "models" / "net_g_5.pth"), _weights(run / "models" / "net_g_5.pth")
    for part in ("params", "params_ema"):
        assert a[part].keys() == b[part].keys()
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    state = torch.load(run / "training_states" / "5.state", weights_only=True)
    assert {"optimizers", "schedulers", "rng", "scaler", "step"} <= set(state) and state["step"] == 5


def test_run_folder_events_export_and_zoo_load(faces_csv, val_dir, tmp_path):
    run = tmp_path / "run"
    cfg = tiny_config(faces_csv, run, steps=4, val=str(val_dir), val_every=2, val_limit=4, final_val_limit=6,
                      checkpoint_every=2, keep_checkpoints=1, export=str(tmp_path / "user"))
    assert train(cfg, str(tmp_path / "ev.jsonl")) == 0
    events = read_events(tmp_path / "ev.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "finished" and "error" not in kinds
    assert all("time" in e for e in events)
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4]
    assert all({"losses", "lr", "images_per_s"} <= set(e) and e["lr"] == pytest.approx(2.5e-4) for e in steps)
    vals = [e for e in events if e["event"] == "val"]
    assert [v["images"] for v in vals] == [4, 6]
    assert all({"psnr_y", "ssim_y", "nrmse", "bicubic"} <= set(v) for v in vals)
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [2, 4]
    assert (run / "events.jsonl").read_text().count('"event":"finished"') == 1

    # BasicSR layout, pruning to keep_checkpoints
    assert (run / "config.yml").is_file()
    assert sorted(p.name for p in (run / "models").iterdir()) == ["net_g_4.pth", "net_g_latest.pth"]
    assert sorted(p.name for p in (run / "training_states").iterdir()) == ["4.state"]
    assert set(_weights(run / "models" / "net_g_latest.pth")) == {"params", "params_ema"}

    finished = [e for e in events if e["event"] == "finished"][0]
    weights = Path(finished["weights"])
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["sha256"] == zoo.sha256_of(weights)
    assert card["training"]["steps"] == 4 and card["training"]["batch"] == 2
    assert card["training"]["data"]["images"] == 16
    assert card["validation"]["images"] == 6 and "bicubic" in card["validation"]
    assert "non-commercial" in card["licence"]
    assert (tmp_path / "user" / "fsrnet.safetensors").is_file()

    model = zoo.load("fsrnet", weights=weights)  # the card's config rebuilds the tiny architecture
    v = zoo.variant("fsrnet")
    lr = np.zeros((1, 16, 16, 3), np.uint8) + 128
    image, maps = v.run(model, v.to_input(lr))
    assert image.shape == (1, 3, 128, 128) and torch.isfinite(image).all() and maps["priors"].shape[1] == 79


def test_sigterm_saves_a_checkpoint_and_exits_0(faces_csv, tmp_path):
    run, ev = tmp_path / "run", tmp_path / "ev.jsonl"
    cmd = [sys.executable, "-m", "app", "train", "-m", "fsrnet", "--data", str(faces_csv), "--run-dir", str(run),
           "--steps", "100000", "--batch", "2", "--threads", "1", "--log-every", "1", "--events", str(ev)]
    cmd += [a for k, v in tiny_config(faces_csv, run).arch.items() for a in ("--arch", f"{k}={v}")]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if ev.exists() and '"event":"step"' in ev.read_text():
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 0, proc.stderr.read().decode()[-2000:]
    events = read_events(ev)
    stop = [e for e in events if e["event"] == "cancelled"][0]
    assert stop["reason"] == "SIGTERM"
    assert (run / "training_states" / f"{stop['step']}.state").is_file()


def test_bad_inputs_fail_before_training(shared_data, faces_csv, tmp_path):
    def run(*argv: str) -> tuple[int, str]:
        ev = tmp_path / f"ev{len(list(tmp_path.glob('ev*')))}.jsonl"
        rc = cli_main(["train", *argv, "--events", str(ev), "--run-dir", str(tmp_path / "r")])
        events = read_events(ev)
        assert not [e for e in events if e["event"] == "step"]
        return rc, " ".join(e.get("message", "") for e in events if e["event"] == "error")

    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("-m", "sparnet" if "sparnet" in zoo.names() else "fsrnet", "--data", str(empty))[0] == 2
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_bytes(b"not a png")
    (junk / "landmarks68.csv").write_text("a.png," + ",".join(["1"] * 136) + "\n" + "a.png," + ",".join(["1"] * 136))
    rc, msg = run("-m", "fsrnet", "--data", str(junk), "--batch", "2")
    assert rc == 2 and "not readable" in msg
    rc, msg = run("-m", "fsrnet", "--data", str(write_manifest(shared_data, tmp_path / "few.csv", 3)))
    assert rc == 2 and "fewer than one batch" in msg
    rc, msg = run("-m", "fsrnet", "--data", str(tmp_path / "missing"))
    assert rc == 2 and "no such" in msg
    no_marks = tmp_path / "plain"
    no_marks.mkdir()
    for p in sorted((shared_data / "celeba_val128" / "HR").iterdir())[:3]:
        (no_marks / p.name).write_bytes(p.read_bytes())
    rc, msg = run("-m", "fsrnet", "--data", str(no_marks), "--batch", "2")
    assert rc == 2 and "landmarks" in msg
    cfg = tmp_path / "c.yml"
    cfg.write_text("model: fsrnet\nbatchsize: 3\n")
    rc, msg = run("--config", str(cfg), "--data", str(faces_csv))
    assert rc == 2 and "batchsize" in msg
    rc, msg = run("-m", "fsrnet", "--data", str(faces_csv), "-o", "alhpa=2")
    assert rc == 2 and "alhpa" in msg
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x00" * 100)
    rc, msg = run("-m", "fsrnet", "--data", str(faces_csv), "--init", str(bad))
    assert rc == 2 and "bad.pth" in msg
    rc, msg = run("-m", "nonet", "--data", str(faces_csv))
    assert rc == 2 and "nonet" in msg


def test_existing_run_needs_resume_and_corrupt_state_is_reported(faces_csv, tmp_path):
    run = tmp_path / "run"
    assert train(tiny_config(faces_csv, run, steps=2), None) == 0
    assert train(tiny_config(faces_csv, run, steps=3), str(tmp_path / "e1.jsonl")) == 2
    assert "--resume" in read_events(tmp_path / "e1.jsonl")[-1]["message"]
    (run / "training_states" / "2.state").write_bytes(b"garbage")
    assert train(tiny_config(faces_csv, run, steps=3, resume=True), str(tmp_path / "e2.jsonl")) == 2
    assert "2.state" in read_events(tmp_path / "e2.jsonl")[-1]["message"]


def test_events_file_named_twice_gets_each_event_once(tmp_path):
    """A config's `events:` naming the run folder's own events.jsonl: one sink, not two copies of every line."""
    from trainer.events import Events

    path = tmp_path / "run" / "events.jsonl"
    events = Events(str(path))
    events.add_file(tmp_path / "run" / ".." / "run" / "events.jsonl")
    events.add_file(tmp_path / "other.jsonl")
    events.emit("log", message="once")
    events.close()
    assert path.read_text().count('"once"') == 1 and (tmp_path / "other.jsonl").read_text().count('"once"') == 1
