"""The same training command under torchrun with 2 CPU processes (DDP, gloo): it trains, checkpoints once (rank 0)
and exports weights that load through engine.zoo."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine import zoo

from .helpers import TINY_FSRNET, read_events

REPO = Path(__file__).resolve().parents[2]


def test_two_process_ddp_on_cpu(faces_csv, tmp_path):
    run, ev = tmp_path / "run", tmp_path / "ev.jsonl"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "app",
           "train", "-m", "fsrnet", "--data", str(faces_csv), "--run-dir", str(run), "--steps", "3", "--batch", "4",
           "--threads", "1", "--log-every", "1", "--events", str(ev)]
    cmd += [a for k, v in TINY_FSRNET.items() for a in ("--arch", f"{k}={v}")]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = read_events(ev)
    start = [e for e in events if e["event"] == "start"]
    assert len(start) == 1 and start[0]["world_size"] == 2
    assert [e["step"] for e in events if e["event"] == "step"] == [1, 2, 3]
    assert [e["event"] for e in events].count("finished") == 1
    weights = Path([e for e in events if e["event"] == "finished"][0]["weights"])
    assert zoo.load("fsrnet", weights=weights) is not None
    assert sorted(p.name for p in (run / "training_states").iterdir()) == ["3.state"]
