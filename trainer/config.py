"""Training configuration: one flat dataclass, readable from YAML, overridable from the command line.

Precedence: the recipe's defaults < the YAML file (``--config``) < command-line flags. Recipe-specific settings (loss
weights, the VGG file, ...) live under ``options:`` and are checked against the recipe's declared options, so a
typo in any key is an error before training starts, not a silently ignored setting.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml


class ConfigError(ValueError):
    """An invalid configuration (unknown key, wrong type, impossible value)."""


@dataclass
class TrainConfig:
    model: str = "fsrnet"
    data: str | None = None
    val: str | None = None  # folder laid out like celeba_val128
    val_split: int = 0  # without --val: hold out this many training faces (the last ones) for validation
    init: str | None = None  # weights to start the generator from (fine-tuning)
    steps: int | None = None  # total optimisation steps (recipe default)
    batch: int | None = None
    lr: float | None = None
    optimizer: str | None = None  # "rmsprop" | "adam"
    # None: the recipe's, else "constant"; "poly" (power 0.3 to 0), "cosine", "linear_tail" (to 0 over the last half)
    scheduler: str | None = None
    degradation: str | None = None  # engine.degrade.NAMES: "bicubic8", "blind", "photo", "photo_mild", "learned", ...
    run_dir: str | None = None  # default experiments/<model>
    resume: bool = False
    seed: int = 123
    threads: int | None = None  # torch.set_num_threads
    device: str = "auto"
    fast: bool | None = None  # None: measured (trainer.precision.measured_fast). True: CPU bf16 autocast +
    # channels_last, CUDA fp16 AMP with GradScaler; False: fp32
    ema_decay: float = 0.999  # 0 disables the EMA copy
    checkpoint_every: int = 1000  # steps
    checkpoint_minutes: float = 10.0  # also checkpoint when this much wall time passed since the last one
    keep_checkpoints: int = 3  # numbered checkpoints kept (latest always kept)
    val_every: int = 1000
    val_limit: int = 100  # faces per periodic validation (0 = all)
    final_val_limit: int = 0  # faces in the final validation written into the card (0 = all)
    log_every: int = 10  # steps between "step" events
    events: str | None = None  # JSON-lines file, or "-" for stdout
    export: str | None = None  # extra copy of the final weights: a .safetensors path, a folder, or "user"
    export_name: str | None = None  # variant name recorded in the exported card (default: model)
    num_workers: int = 0  # data loader processes (0: load in the training process; best on 2 cores)
    options: dict[str, Any] = field(default_factory=dict)  # recipe-specific
    arch: dict[str, Any] = field(default_factory=dict)  # overrides of the variant's config (e.g. a reduced width)

    # ----- construction ------------------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    def merged(self, values: Mapping[str, Any], source: str) -> "TrainConfig":
        """A copy with `values` applied (None values ignored); unknown keys raise ConfigError naming `source`."""
        unknown = sorted(set(values) - self.field_names())
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(self.field_names()))}")
        updates = {}
        for key, value in values.items():
            if value is None:
                continue
            value = coerce(key, value, source)
            if key in ("options", "arch"):
                if not isinstance(value, Mapping):
                    raise ConfigError(f"{source}: '{key}' must be a mapping")
                value = {**getattr(self, key), **value}
            updates[key] = value
        return dataclasses.replace(self, **updates)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """sha256 of the settings that change the maths (not log/checkpoint/validation cadence, paths or threads).

        `steps` only matters through a decaying schedule, so extending a constant-lr run keeps the digest."""
        skip = {"events", "threads", "resume", "run_dir", "export", "export_name", "num_workers", "log_every",
                "checkpoint_every", "checkpoint_minutes", "keep_checkpoints", "val", "val_every", "val_limit",
                "final_val_limit", "device"}
        if self.scheduler == "constant":
            skip.add("steps")
        keep = {k: v for k, v in self.to_dict().items() if k not in skip}
        return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


_INT = {"steps", "batch", "seed", "threads", "checkpoint_every", "keep_checkpoints", "val_every", "val_limit",
        "final_val_limit", "log_every", "num_workers", "val_split"}
_FLOAT = {"lr", "ema_decay", "checkpoint_minutes"}
_BOOL = {"resume", "fast"}
_STR = {"model", "data", "val", "init", "optimizer", "scheduler", "degradation", "run_dir", "device", "events",
        "export", "export_name"}


def coerce(key: str, value: Any, source: str) -> Any:
    """YAML/CLI values to the field's type (YAML reads 1e5 as a string, 100000.0 as a float); clear errors."""
    try:
        if key in _INT:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if number != int(number):
                raise ValueError
            return int(number)
        if key in _FLOAT:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if key in _BOOL:
            if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
                return value.lower() in ("true", "yes", "on", "1")
            if not isinstance(value, bool):
                raise ValueError
            return value
        if key in _STR:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {key} = {value!r} is not a valid {_kind(key)}") from None
    return value


def _kind(key: str) -> str:
    return "integer" if key in _INT else "number" if key in _FLOAT else "true/false" if key in _BOOL else "string"


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return data



def parse_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (each value read as YAML) as a mapping: recipe options and architecture overrides."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def layered_config(flags: Mapping[str, Any], config_file: str | None = None) -> TrainConfig:
    """The configuration before the recipe's defaults (applied later by trainer.loop.resolve_config): with resume,
    the run folder's saved config.yml; then the YAML file `config_file`; then `flags` (command-line values, None
    for a flag not given)."""
    cfg = TrainConfig()
    file_values = read_yaml(config_file) if config_file else {}
    if flags.get("resume") or file_values.get("resume"):
        run_dir = flags.get("run_dir") or file_values.get("run_dir") or str(
            Path("experiments") / (flags.get("model") or file_values.get("model") or cfg.model))
        saved = Path(run_dir) / "config.yml"
        if saved.is_file():
            cfg = cfg.merged(read_yaml(saved), str(saved))
    cfg = cfg.merged(file_values, config_file or "config")
    return cfg.merged(flags, "command line")

def write_yaml(config: TrainConfig, path: str | Path) -> None:
    from engine.util import atomic_write

    text = "# FSR Studio training configuration (resolved: recipe defaults + config file + command line)\n"
    text += yaml.safe_dump(config.to_dict(), sort_keys=False)
    atomic_write(path, text.encode("utf-8"))


def check_values(cfg: TrainConfig) -> None:
    """Range checks that are independent of the recipe."""
    for name in ("steps", "batch"):
        value = getattr(cfg, name)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if cfg.lr is not None and not (isinstance(cfg.lr, (int, float)) and cfg.lr > 0):
        raise ConfigError(f"lr must be a positive number, got {cfg.lr!r}")
    if not 0.0 <= float(cfg.ema_decay) < 1.0:
        raise ConfigError(f"ema_decay must be in [0, 1), got {cfg.ema_decay}")
    if cfg.val_split < 0:
        raise ConfigError("val_split must be >= 0")
    if cfg.scheduler not in ("constant", "poly", "cosine", "linear_tail"):
        raise ConfigError(f"unknown scheduler {cfg.scheduler!r} (constant, poly, cosine, linear_tail)")
    if cfg.optimizer is not None and cfg.optimizer not in ("rmsprop", "adam"):
        raise ConfigError(f"unknown optimizer {cfg.optimizer!r} (rmsprop, adam)")
    for name in ("checkpoint_every", "val_every", "log_every"):
        if int(getattr(cfg, name)) < 0:
            raise ConfigError(f"{name} must be >= 0")
