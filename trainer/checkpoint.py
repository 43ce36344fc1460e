"""The run folder, laid out as BasicSR users expect (docs/architecture.md#run-folder-and-checkpoints).

    <run>/config.yml                      resolved configuration (recipe defaults + file + command line)
    <run>/events.jsonl                    every progress event of every session of this run
    <run>/models/net_g_<step>.pth         {'params': generator, 'params_ema': its EMA}; net_g_latest.pth = newest
    <run>/models/net_<name>_<step>.pth    {'params': ...} for the other networks (discriminators)
    <run>/training_states/<step>.state    optimisers, schedulers, grad scaler, step, RNG states, wall time
    <run>/<variant>.safetensors + .json   the exported result (fp16 + model card) when training finishes

Model files are written before the state that refers to them and every write is atomic, so a crash at any moment
leaves a consistent latest checkpoint. Everything is read back with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import torch

from engine import zoo
from engine.util import atomic_write
from engine.zoo import CheckpointError  # the one checkpoint error, for weight files and run folders alike


def _save(obj: Any, path: Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(path, buf.getvalue())


def _load(path: Path) -> Any:
    """torch.load(weights_only=True) through the zoo, whose messages never pass on torch's weights_only=False advice."""
    try:
        return zoo.torch_load(path)
    except CheckpointError as exc:  # truncated, garbage, unsafe pickle, TorchScript: one clear message
        raise CheckpointError(f"{exc}; delete it to resume from the previous one") from exc


class RunFolder:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.models = self.root / "models"
        self.states = self.root / "training_states"
        self.config = self.root / "config.yml"
        self.events = self.root / "events.jsonl"
        self.cancel_file = self.root / "CANCEL"

    def create(self) -> None:
        self.models.mkdir(parents=True, exist_ok=True)
        self.states.mkdir(parents=True, exist_ok=True)

    def state_steps(self) -> list[int]:
        if not self.states.is_dir():
            return []
        steps = [int(m.group(1)) for p in self.states.iterdir() if (m := re.fullmatch(r"(\d+)\.state", p.name))]
        return sorted(steps)

    def has_checkpoint(self) -> bool:
        return bool(self.state_steps())

    def net_path(self, name: str, step: int | str) -> Path:
        return self.models / f"net_{name}_{step}.pth"

    def save(self, step: int, nets: dict[str, dict[str, Any]], state: dict[str, Any], keep: int) -> Path:
        """Write model files, then the training state; prune numbered checkpoints beyond `keep` (>= 1)."""
        self.create()
        for name, payload in nets.items():
            _save(payload, self.net_path(name, step))
        for name, payload in nets.items():
            _save(payload, self.net_path(name, "latest"))
        state_path = self.states / f"{step}.state"
        _save({**state, "step": step}, state_path)
        self.prune(max(1, keep), list(nets))
        return state_path

    def prune(self, keep: int, names: list[str]) -> None:
        for step in self.state_steps()[:-keep]:
            (self.states / f"{step}.state").unlink(missing_ok=True)
            for name in names:
                self.net_path(name, step).unlink(missing_ok=True)

    def load_latest(self, names: list[str]) -> tuple[int, dict[str, dict[str, Any]], dict[str, Any]]:
        """(step, {net name: payload}, training state) of the newest checkpoint; CheckpointError if unusable."""
        steps = self.state_steps()
        if not steps:
            raise CheckpointError(f"{self.root}: no training state to resume from (training_states/ is empty)")
        step = steps[-1]
        state = _load(self.states / f"{step}.state")
        if not isinstance(state, dict) or state.get("step") != step:
            raise CheckpointError(f"{self.states / f'{step}.state'}: not a training state of step {step}")
        nets = {}
        for name in names:
            path = self.net_path(name, step)
            if not path.is_file():
                raise CheckpointError(f"{path}: missing (the state of step {step} refers to it)")
            nets[name] = _load(path)
        return step, nets, state


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
