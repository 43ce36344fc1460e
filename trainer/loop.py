"""The training loop shared by every family: set-up checks, steps, EMA, checkpoints, validation, events, export.

Exit codes of :func:`train`: 0 finished or cancelled cleanly (SIGTERM/SIGINT or a ``<run>/CANCEL`` file: a checkpoint
is saved first), 1 training failed (e.g. the loss became NaN; the last checkpoint stays usable), 2 bad input found
before training (data, config, checkpoint). Every outcome is also an event.
"""
from __future__ import annotations

import dataclasses
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import torch

from engine import zoo

from . import dist
from .checkpoint import RunFolder, rng_state, set_rng_state
from .config import ConfigError, TrainConfig, check_values, write_yaml
from .data import (
    DataError,
    FaceDataset,
    StepBatches,
    ValSet,
    check_records,
    load_val,
    resolve_train_source,
    val_from_records,
)
from .ema import EMA
from .events import Events, say
from .precision import Precision, measured_fast
from .recipes import Recipe, for_model
from .recipes.base import lr_lambda

FINE_TUNE_LR_FACTOR = 0.1
BAD_INPUT = (DataError, ConfigError, zoo.CheckpointError, zoo.WeightsNotFound, zoo.UnknownModelError)


def resolve_config(cfg: TrainConfig) -> TrainConfig:
    """Fill what neither the file nor the command line set from the recipe, and validate everything."""
    recipe = for_model(cfg.model)
    if cfg.degradation is None and cfg.init:
        cfg = dataclasses.replace(cfg, degradation=trained_degradation(cfg.init, recipe))
    filled = {k: v for k, v in recipe.defaults.items() if getattr(cfg, k) is None}
    if cfg.init and cfg.lr is None and "lr" in filled:
        # Fine-tuning from trained weights with the from-scratch rate and a fresh optimiser state wrecks them in a
        # few steps (measured: FSRNet val PSNR 24 -> 9 dB at 2.5e-4, held at 2.5e-5); start ten times lower.
        filled["lr"] = filled["lr"] * FINE_TUNE_LR_FACTOR
    cfg = dataclasses.replace(cfg, **filled)
    if cfg.degradation is None:
        cfg.degradation = "bicubic8"
    if cfg.scheduler is None:
        cfg.scheduler = "constant"
    if cfg.run_dir is None:
        cfg.run_dir = str(Path("experiments") / cfg.model)
    if cfg.export_name is None:
        cfg.export_name = cfg.model
    check_values(cfg)
    recipe.check(cfg)
    return cfg


def trained_degradation(init: str | Path, recipe: type[Recipe]) -> str | None:
    """The degradation the init weights were trained on, from their card (None when it names none this recipe
    trains with). Fine-tuning a blind restorer under the recipe's default, the papers' x8 protocol, would unlearn
    what it is for: an unset degradation follows the weights."""
    try:
        card = zoo.read_card(init)
    except (zoo.CheckpointError, OSError):
        return None  # the weights' loader reports a bad card with its own message
    training = card.get("training")
    name = training.get("degradation") if isinstance(training, dict) else None
    return name if name in recipe.degradations else None


class Cancel:
    """SIGTERM/SIGINT and the CANCEL file set one flag the loop checks between steps."""

    def __init__(self, cancel_file: Path):
        self.file = cancel_file
        self.reason: str | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. started from a GUI worker thread)
                pass

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.reason is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.reason = signal.Signals(signum).name

    def requested(self) -> bool:
        if self.reason is None and self.file.exists():
            self.reason = "cancel file"
            try:
                self.file.unlink()
            except OSError:
                pass
        return self.reason is not None


class Trainer:
    def __init__(self, cfg: TrainConfig, events: Events | None = None, channels_last: bool | None = None):
        """`channels_last` overrides the precision's memory-format default (it follows `cfg.fast`; trainer.bench
        measures both)."""
        self.cfg = cfg
        self.channels_last = channels_last
        self.events = events or Events(None)
        self.run = RunFolder(cfg.run_dir or "experiments/run")
        self.step = 0
        self.elapsed = 0.0
        self.val: ValSet | None = None
        self.bicubic: dict[str, float] | None = None
        self.last_val: dict[str, Any] | None = None
        self.records: list = []
        self.val_source: str | None = None
        self.precision_reason = ""

    # ----- set-up -------------------------------------------------------------------------------------------------
    def setup(self) -> None:
        cfg = self.cfg
        self.rank, self.world = dist.init()
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        self.device = zoo.resolve_device(cfg.device if self.world == 1 else dist.device(cfg.device))
        if cfg.fast is None:
            fast, self.precision_reason = measured_fast(cfg.model, self.device)
        else:
            fast, self.precision_reason = cfg.fast, "set by the configuration (fast: true/false)"
        self.precision = Precision(self.device, fast, self.channels_last)
        self.variant = zoo.variant(cfg.model)
        recipe_cls = for_model(cfg.model)
        self.recipe: Recipe = recipe_cls(cfg, self.variant, self.precision, self.say)
        self.check_run_dir()
        self.setup_data()
        torch.manual_seed(cfg.seed)
        nets = {k: self.precision.prepare(v) for k, v in self.recipe.build_networks().items()}
        if cfg.init:
            zoo.load_state_into(nets["g"], cfg.init)
        self.ema = EMA(nets["g"], cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.recipe.attach(dist.wrap(nets, self.device))
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(o, lr_lambda(cfg.scheduler, cfg.steps))
                           for k, o in self.recipe.optimizers.items()}
        resuming = cfg.resume and self.run.has_checkpoint()
        if self.rank == 0 and resuming:
            self.events.add_file(self.run.events)  # the resume messages belong to the run's log too
        if resuming:
            self.load_checkpoint()
        if self.rank == 0:
            self.run.create()
            write_yaml(cfg, self.run.config)
            if not resuming:
                self.events.add_file(self.run.events)

    def say(self, message: str) -> None:
        if self.rank == 0:
            say(message)
            self.events.emit("log", message=message)

    def check_run_dir(self) -> None:
        if self.run.has_checkpoint() and not self.cfg.resume:
            raise ConfigError(f"{self.run.root} already holds a run; pass --resume to continue it or choose "
                              f"another --run-dir")

    def setup_data(self) -> None:
        cfg = self.cfg
        if not cfg.data:
            raise DataError("no training data: pass --data DIR (an aligned folder with landmarks68.csv, a "
                            "prepared dataset or a CSV manifest)")
        self.records, bundled_val = resolve_train_source(cfg.data)
        held_out: list = []
        if cfg.val_split and not cfg.val:
            if cfg.val_split >= len(self.records):
                raise DataError(f"{cfg.data}: val_split {cfg.val_split} leaves no training faces")
            self.records, held_out = self.records[:-cfg.val_split], self.records[-cfg.val_split:]
        spec = self.recipe.sample_spec()
        check_records(self.records, cfg.batch, spec.landmarks, cfg.data)
        self.recipe.check_data()
        self.dataset = FaceDataset(self.records, spec)
        hr_size, lr_size = self.recipe.val_sizes()
        if held_out:
            self.val_source = f"{cfg.data} (last {len(held_out)} faces held out)"
            self.val_loader = lambda limit: val_from_records(held_out, hr_size, lr_size, limit, cfg.degradation,
                                                             cfg.seed)
        else:
            self.val_source = cfg.val or (str(bundled_val) if bundled_val else None)
            source = self.val_source
            self.val_loader = lambda limit: load_val(source, hr_size, lr_size, limit, cfg.degradation, cfg.seed)
        if self.val_source and self.rank == 0:
            self.val = self.val_loader(cfg.val_limit)

    # ----- checkpoints --------------------------------------------------------------------------------------------
    def net_payloads(self) -> dict[str, dict[str, Any]]:
        payloads = {}
        for name in self.recipe.nets:
            payload = {"params": self.recipe.unwrap(name).state_dict()}
            if name == "g" and self.ema is not None:
                payload["params_ema"] = self.ema.state_dict()
            payloads[name] = payload
        return payloads

    def save_checkpoint(self) -> Path | None:
        if self.rank != 0:
            dist.barrier()
            return None
        state = {
            "optimizers": {k: o.state_dict() for k, o in self.recipe.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scaler": self.precision.scaler.state_dict(),
            "rng": rng_state(),
            "elapsed_s": self.elapsed + (time.monotonic() - self.session_start),
            "config_digest": self.cfg.digest(),
            "recipe": self.recipe.extra_state(),
            "val": self.last_val or {},
        }
        path = self.run.save(self.step, self.net_payloads(), state, self.cfg.keep_checkpoints)
        self.last_save_step, self.last_save_time = self.step, time.monotonic()
        self.events.emit("checkpoint", step=self.step, path=str(self.run.net_path("g", self.step)),
                         state=str(path))
        dist.barrier()
        return path

    def load_checkpoint(self) -> None:
        step, nets, state = self.run.load_latest(list(self.recipe.nets))
        for name, payload in nets.items():
            self.recipe.unwrap(name).load_state_dict(payload["params"], strict=True)
        if self.ema is not None:
            self.ema.load_state_dict(nets["g"].get("params_ema", nets["g"]["params"]))
        for k, o in self.recipe.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        if state.get("scaler"):
            self.precision.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        self.recipe.load_extra_state(state.get("recipe", {}))
        self.step, self.elapsed = step, float(state.get("elapsed_s", 0.0))
        self.recipe.step = step
        self.last_val = state.get("val") or None
        if state.get("config_digest") not in (None, self.cfg.digest()):
            self.say("warning: the configuration changed since the checkpoint; the resumed run is not bit-identical "
                     "to an uninterrupted one")
        self.say(f"resumed {self.run.root} at step {step}")

    # ----- validation ---------------------------------------------------------------------------------------------
    def eval_model(self) -> torch.nn.Module:
        return self.ema.model if self.ema is not None else self.recipe.unwrap("g")

    def validate(self, val: ValSet | None = None) -> dict[str, Any] | None:
        val = val or self.val
        if val is None or self.rank != 0:
            return None
        t0 = time.monotonic()
        if self.bicubic is None or val is not self.val:
            bicubic = self.recipe.baseline(val)
            if val is self.val:
                self.bicubic = bicubic
        else:
            bicubic = self.bicubic
        metrics = self.recipe.validate(self.eval_model(), val)
        result = {"step": self.step, **metrics, "bicubic": bicubic, "model": "ema" if self.ema else "raw",
                  "seconds": round(time.monotonic() - t0, 2)}
        self.events.emit("val", **result)
        return result

    # ----- the loop -----------------------------------------------------------------------------------------------
    def loader(self) -> torch.utils.data.DataLoader:
        sampler = StepBatches(len(self.dataset), self.cfg.batch, self.cfg.seed, self.step, self.cfg.steps,
                              self.rank, self.world)
        workers = int(self.cfg.num_workers)
        return torch.utils.data.DataLoader(self.dataset, batch_sampler=sampler, num_workers=workers,
                                           persistent_workers=False, prefetch_factor=2 if workers else None)

    def start_event(self) -> None:
        cfg = self.cfg
        self.events.emit("start", model=cfg.model, recipe=self.recipe.name, run_dir=str(self.run.root),
                         step=self.step, steps=cfg.steps, batch=cfg.batch, train_images=len(self.records),
                         val_images=len(self.val) if self.val else 0, device=str(self.device),
                         precision=self.precision.name, threads=torch.get_num_threads(), world_size=self.world,
                         resumed=self.step > 0, config=cfg.to_dict())
        self.say(f"precision: {self.precision_reason}")

    def train(self) -> int:
        cfg = self.cfg
        self.session_start = time.monotonic()
        self.last_save_step, self.last_save_time = self.step, time.monotonic()
        cancel = Cancel(self.run.cancel_file)
        cancel.install()
        if self.rank == 0:
            self.start_event()
            self.say(f"training {cfg.model} ({self.recipe.name}) on {len(self.records)} faces, batch {cfg.batch}, "
                     f"{self.precision.name} on {self.device}, {torch.get_num_threads()} threads, "
                     f"run folder {self.run.root}")
        bar = self.progress_bar()
        window_t, window_n, window_steps = time.monotonic(), 0, 0
        self.recipe.set_train()
        try:
            for keys_batch in self.loader():
                losses = self.recipe.train_step(self.recipe.to_device(keys_batch), self.step)
                self.precision.update()
                with warnings.catch_warnings():  # an optimiser a recipe left idle this step (e.g. an unused D)
                    warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step",
                                            category=UserWarning)
                    for s in self.schedulers.values():
                        s.step()
                self.step += 1
                self.recipe.step = self.step
                if self.ema is not None:
                    self.ema.update(self.recipe.unwrap("g"), self.step)
                if not all(map(_finite, losses.values())):
                    raise FloatingPointError(f"loss is not finite at step {self.step}: {losses}; the last "
                                             f"checkpoint (step {self.last_save_step}) is intact")
                window_n += cfg.batch
                window_steps += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{losses.get('total', next(iter(losses.values()))):.4g}", refresh=False)
                if cfg.log_every and self.step % cfg.log_every == 0 and self.rank == 0:
                    dt = max(time.monotonic() - window_t, 1e-9)
                    self.events.emit("step", step=self.step, steps=cfg.steps, losses=losses, lr=self.current_lr(),
                                     images_per_s=round(window_n / dt, 3), steps_per_s=round(window_steps / dt, 4),
                                     eta_s=round((cfg.steps - self.step) * dt / window_steps, 1))
                    window_t, window_n, window_steps = time.monotonic(), 0, 0
                if cfg.val_every and self.step % cfg.val_every == 0 and self.step < cfg.steps:
                    self.last_val = self.validate() or self.last_val
                    if self.last_val and bar is not None:
                        bar.set_postfix(loss=f"{losses.get('total', 0):.4g}", psnr=f"{self.last_val['psnr_y']:.2f}")
                if self.checkpoint_due():
                    self.save_checkpoint()
                if dist.any_true(cancel.requested()):
                    return self.cancelled(cancel.reason or "another process")
        finally:
            if bar is not None:
                bar.close()
            cancel.restore()
        return self.finish()

    def current_lr(self) -> float:
        return float(next(iter(self.recipe.optimizers.values())).param_groups[0]["lr"])

    def checkpoint_due(self) -> bool:
        cfg = self.cfg
        by_steps = bool(cfg.checkpoint_every) and self.step % cfg.checkpoint_every == 0
        by_time = cfg.checkpoint_minutes > 0 and time.monotonic() - self.last_save_time >= cfg.checkpoint_minutes * 60
        return dist.any_true(by_steps or by_time) and self.step < self.cfg.steps

    def progress_bar(self) -> Any:
        if self.rank != 0:
            return None
        from tqdm import tqdm

        tty = sys.stderr.isatty()
        return tqdm(total=self.cfg.steps, initial=self.step, desc=self.cfg.model, unit="step", file=sys.stderr,
                    mininterval=0.5 if tty else 30.0, dynamic_ncols=True, smoothing=0.05)

    def cancelled(self, reason: str) -> int:
        path = self.save_checkpoint() if self.step > self.last_save_step or not self.run.has_checkpoint() else None
        if self.rank == 0:
            self.say(f"cancelled ({reason}) at step {self.step}; resume with --resume --run-dir {self.run.root}")
            self.events.emit("cancelled", step=self.step, reason=reason,
                             checkpoint=str(self.run.net_path("g", self.step)) if path or self.run.has_checkpoint()
                             else None)
        return 0

    def finish(self) -> int:
        from .export import export_run

        if self.step > self.last_save_step or not self.run.has_checkpoint():
            self.save_checkpoint()
        if self.rank != 0:
            dist.barrier()  # wait for rank 0's final validation and export before the group is torn down
            return 0
        final = None
        if self.val_source:
            final = self.validate(self.val_loader(self.cfg.final_val_limit))
        weights = export_run(self, final)
        self.say(f"finished: {weights}")
        self.events.emit("finished", step=self.step, weights=str(weights), val=final)
        dist.barrier()
        return 0

    def wall_time(self) -> float:
        return self.elapsed + (time.monotonic() - self.session_start)


def _finite(x: float) -> bool:
    return x == x and x not in (float("inf"), float("-inf"))


def train(cfg: TrainConfig, events_target: str | None = None) -> int:
    """Resolve, set up (all input checks happen here) and run; events and exit code as described above."""
    events = Events(events_target)
    trainer: Trainer | None = None
    try:
        try:
            cfg = resolve_config(cfg)
            trainer = Trainer(cfg, events)
            trainer.setup()
        except BAD_INPUT as exc:
            message = str(exc)
            events.emit("error", message=message, stage="setup")
            say(f"error: {message}")
            return 2
        return trainer.train()
    except KeyboardInterrupt:
        events.emit("error", message="interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001  (report every failure as an event, then a non-zero exit)
        events.emit("error", message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=8),
                    step=trainer.step if trainer else 0)
        say(f"error: {type(exc).__name__}: {exc}")
        return 1
    finally:
        events.close()
        dist.shutdown()
