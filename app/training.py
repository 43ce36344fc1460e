"""Fine-tuning from the GUI, minus the GUI: the trainer command line for a request, and the parsed event stream.

The trainer runs as its own process (``python -m app train ...``, the same as ``fsr-studio train ...``) so a
crash or an out-of-memory there cannot take the window down, and so cancel is a plain SIGTERM / CANCEL file that the
trainer turns into a checkpoint. This module only builds argument lists and reads the JSON-lines events.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WEIGHTS_OWN = "as the weights were trained"  # the fine-tune dialog's first choice: no --degradation flag


def degradation_choices() -> list[str]:
    """What the fine-tune dialog offers: the init weights' own degradation (from their card; the recipe's default
    when training from scratch), then every name engine.degrade knows."""
    from engine.degrade import NAMES

    return [WEIGHTS_OWN, *NAMES]


PREPARE_SIZES = {"coarse128": 128, "ffhq512": 512}


def trainer_command() -> list[str]:
    """Program + leading arguments that start the trainer: `fsr-studio` (``python -m app``, or the frozen app) run
    again, whose "train" and "prepare" commands the arguments begin with."""
    from app.commands import self_command

    return self_command()


def can_prepare() -> bool:
    """Whether this installation has the `prepare` command (a photo folder can be made into a dataset)."""
    try:
        from .cli import available_commands

        return "prepare" in available_commands()
    except Exception:  # noqa: BLE001 - a broken command registry: say no, the dialog explains
        return False


def trainable_models() -> list[str]:
    """Variants with a training recipe in this installation (falls back to every restore variant)."""
    try:
        from trainer.recipes import recipes

        names = sorted(recipes())
        if names:
            return names
    except Exception:  # noqa: BLE001 - the dialog still opens; the trainer will report the real problem
        pass
    from engine import zoo

    return zoo.names(task="restore")


def runs_dir() -> Path:
    """Default parent of run folders: beside the user models folder."""
    from engine import zoo

    return zoo.user_models_dir().parent / "runs"


@dataclass
class TrainRequest:
    """What the user asked for in the fine-tune dialog."""

    source: Path  # a photo folder, or a prepared dataset / aligned folder with landmarks68.csv
    model: str = "fsrnet"
    prepared: bool = True  # False: prepare `source` first (detect, crop, landmarks) into run_dir/dataset
    degradation: str = ""  # "" : what the init weights were trained on (their card), else the recipe's default
    steps: int = 1000
    batch: int = 8
    lr: float | None = None  # None: the recipe's default (meant for training from scratch)
    run_dir: Path | None = None
    val: Path | None = None
    init: Path | None = None  # weights to fine-tune from (None: from scratch)
    export_name: str = ""
    val_every: int = 0  # 0: the trainer's default
    log_every: int = 1
    threads: int | None = None
    detector: str = "dlib"  # for preparing a photo folder
    detector_model: str = ""
    extra: list[str] = field(default_factory=list)

    def resolved(self) -> "TrainRequest":
        """Fill in the run folder and export name from the model and the time."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = self.run_dir or runs_dir() / f"{self.model}-{stamp}"
        name = self.export_name or f"{self.model}-ft-{stamp}"
        return _replace(self, run_dir=Path(run_dir), export_name=name)

    @property
    def dataset_dir(self) -> Path:
        assert self.run_dir is not None
        return self.source if self.prepared else self.run_dir / "dataset"

    def prepare_args(self) -> list[str] | None:
        """Arguments of the dataset preparation step, or None when the source is already prepared."""
        if self.prepared:
            return None
        from engine import zoo

        size = PREPARE_SIZES.get(zoo.variant(self.model).crop, 128)
        args = ["prepare", str(self.source), "-o", str(self.dataset_dir), "--size", str(size), "--events", "-",
                "--detector", self.detector]
        return args + (["--detector-model", self.detector_model] if self.detector_model else [])

    def train_args(self, events: str | Path = "-", resume: bool = False) -> list[str]:
        assert self.run_dir is not None, "call resolved() first"
        args = ["train", "-m", self.model, "--data", str(self.dataset_dir), "--run-dir", str(self.run_dir),
                "--steps", str(self.steps), "--batch", str(self.batch),
                "--events", str(events), "--log-every", str(self.log_every), "--export", "user",
                "--export-name", self.export_name]
        if self.degradation and self.degradation != WEIGHTS_OWN:
            args += ["--degradation", self.degradation]
        if self.lr:
            args += ["--lr", f"{self.lr:g}"]
        if self.val is not None:
            args += ["--val", str(self.val)]
        if self.val_every:
            args += ["--val-every", str(self.val_every)]
        if self.init is not None:
            args += ["--init", str(self.init)]
        if self.threads:
            args += ["--threads", str(self.threads)]
        if resume:
            args.append("--resume")
        return args + list(self.extra)


def _replace(req: TrainRequest, **changes: Any) -> TrainRequest:
    import dataclasses

    return dataclasses.replace(req, **changes)


@dataclass
class RunState:
    """Everything the dialog shows, accumulated from the trainer's events."""

    step: int = 0
    total: int = 0
    losses: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    val: list[tuple[int, float]] = field(default_factory=list)  # (step, PSNR-Y)
    images_per_s: float | None = None
    eta_s: float | None = None
    status: str = "idle"  # idle, preparing, running, finished, cancelled, error
    message: str = ""
    weights: str | None = None
    checkpoints: int = 0
    prepared: tuple[int, int] | None = None  # photos done, total while a folder is prepared
    log: list[str] = field(default_factory=list)

    def feed_line(self, line: str) -> dict[str, Any] | None:
        """Parse one stdout line; JSON events update the state, anything else goes to the log."""
        line = line.strip()
        if not line:
            return None
        try:
            event = json.loads(line)
        except ValueError:
            self.log.append(line)
            return None
        if not isinstance(event, dict) or "event" not in event:
            self.log.append(line)
            return None
        self.apply(event)
        return event

    def _apply_prepare(self, e: dict[str, Any]) -> None:
        """Events of the dataset preparation step (start, progress, finished with counts, error)."""
        kind = e.get("event")
        self.status = "preparing"
        if kind == "start":
            self.prepared = (0, int(e.get("photos") or 0))
        elif kind == "progress":
            self.prepared = (int(e.get("done") or 0), int(e.get("total") or 0))
        elif kind == "finished":
            c = e.get("counts") or {}
            total = int(c.get("images") or 0)
            self.prepared = (total, total)
            self.message = (f"dataset: {c.get('kept', 0)} faces kept from {total} photos "
                            f"({c.get('train', 0)} train, {c.get('val', 0)} val)")
            self.log.append(self.message)

    def apply(self, e: dict[str, Any]) -> None:
        kind = e.get("event")
        if e.get("command") == "prepare" or kind == "progress" or (kind == "finished" and "counts" in e):
            self._apply_prepare(e)
            return
        if kind == "start":
            self.status, self.message = "running", ""
            self.total = int(e.get("steps") or self.total or 0)
            self.step = int(e.get("step") or self.step)
        elif kind == "step":
            self.status = "running"
            self.step = int(e.get("step", self.step))
            self.total = int(e.get("steps") or self.total or 0)
            for name, value in (e.get("losses") or {}).items():
                v = _number(value)
                if v is not None:
                    self.losses.setdefault(str(name), []).append((self.step, v))
            self.images_per_s = _number(e.get("images_per_s"))
            eta = _number(e.get("eta_s"))
            if eta is None and e.get("steps_per_s"):
                rate = _number(e.get("steps_per_s")) or 0.0
                eta = (self.total - self.step) / rate if rate > 0 else None
            self.eta_s = eta
        elif kind == "val":
            psnr = _number(e.get("psnr_y"))
            if psnr is not None:
                self.val.append((int(e.get("step", self.step)), psnr))
        elif kind == "checkpoint":
            self.checkpoints += 1
        elif kind == "finished":
            self.status, self.weights = "finished", e.get("weights")
            self.step = int(e.get("step", self.step))
            self.eta_s = 0.0
            final = e.get("val") or {}
            if _number(final.get("psnr_y")) is not None:
                self.val.append((self.step, float(final["psnr_y"])))
        elif kind == "cancelled":
            self.status = "cancelled"
            self.step = int(e.get("step", self.step))
            self.message = f"cancelled at step {self.step}; the checkpoint is kept, Resume continues from it"
        elif kind == "error":
            self.status, self.message = "error", str(e.get("message", "the trainer failed"))
        elif kind == "log":
            self.log.append(str(e.get("message", "")))


def _number(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v and abs(v) != float("inf") else None


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def describe_event(event: dict[str, Any]) -> str:
    """One log line for a trainer event: its kind and fields (not the time, traceback or whole configuration)."""
    kind = event.get("event")
    rest = {k: v for k, v in event.items() if k not in ("event", "time", "traceback", "config")}
    return f"[{kind}] " + ", ".join(f"{k}={v}" for k, v in rest.items())


_BAR = re.compile(r"\d+%\|")


def is_progress_bar(line: str) -> bool:
    """tqdm's redrawn bar lines (the events already carry that information)."""
    return bool(_BAR.search(line))
