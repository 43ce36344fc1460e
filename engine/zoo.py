"""Model zoo: every named variant, where its weights are, and safe loading of .safetensors and .pth files.

Weight discovery order (first hit wins): an explicit path; the user models folder (``$FSR_STUDIO_MODELS`` or the
platformdirs user data folder + ``/models``); the bundled ``resources/weights``. Each weight file may have a JSON model
card beside it (same stem, ``.json``). Nothing is ever downloaded.

Checkpoints load only through ``safetensors`` or ``torch.load(weights_only=True)``; a file that does not fit the
architecture raises one :class:`CheckpointError` naming the file and listing missing, unexpected and mis-shaped keys,
and the model is left untouched (nothing is half-loaded).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from . import models as _models  # noqa: F401  (registers every family)
from .models.registry import Variant, registered
from .util import atomic_write

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt")
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "resources" / "weights"
ENV_MODELS = "FSR_STUDIO_MODELS"
ENV_BUNDLED = "FSR_STUDIO_BUNDLED"  # relocates the bundled weights (frozen bundles; tests use an empty folder)


class CheckpointError(ValueError):
    """A weight file that cannot be used: unreadable, unsafe, or not matching the architecture."""


class WeightsNotFound(FileNotFoundError):
    """No weight file for a variant in any searched folder."""


# ----- variants ---------------------------------------------------------------------------------------------------
def names(task: str | None = None) -> list[str]:
    """Registered variant names, optionally only those of one task ("restore" or "degrade")."""
    return [n for n, v in registered().items() if task is None or v.task == task]


def variant(name: str) -> Variant:
    try:
        return registered()[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(names())}") from None


def build(name: str, **config_overrides: Any) -> nn.Module:
    """The untrained network of a variant."""
    return variant(name).build(**config_overrides)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ----- where weights live ---------------------------------------------------------------------------------------
def user_models_dir() -> Path:
    env = os.environ.get(ENV_MODELS)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("fsr-studio", appauthor=False)) / "models"


def bundled_dir() -> Path:
    env = os.environ.get(ENV_BUNDLED)
    return Path(env).expanduser() if env else BUNDLED_DIR


def search_dirs() -> list[Path]:
    return [user_models_dir(), bundled_dir()]


def find_weights(name: str) -> Path | None:
    """The first weight file for `name` in the search folders (by variant name, then the official file name)."""
    v = variant(name)
    stems = [name] + ([Path(v.official_file).stem] if v.official_file else [])
    for folder in search_dirs():
        for stem in stems:
            for suffix in WEIGHT_SUFFIXES:
                path = folder / f"{stem}{suffix}"
                if path.is_file():
                    return path
    return None


def missing_weights_message(name: str) -> str:
    v = variant(name)
    where = " or ".join(str(d) for d in search_dirs())
    hint = f" (the official file {v.official_file!r} is accepted as is)" if v.official_file else ""
    return (f"no weights for {name!r}: put {name}.safetensors or {name}.pth{hint} into {where}, "
            f"set {ENV_MODELS} to a folder holding it, or pass the file explicitly")


# ----- reading checkpoints ----------------------------------------------------------------------------------------
def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint: safetensors, or a torch file holding a bare state_dict, {'params_ema'}, {'params'}.

    Strips DataParallel/DDP "module." prefixes and folds legacy spectral norm (weight_orig/u/v) into plain weights.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw: Any = load_file(str(path))
        else:
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refusals, truncation, garbage: one clear message
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {str(exc)[:300]})") from exc
    state = unwrap_state_dict(raw, path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    return fold_spectral_norm(state)


def unwrap_state_dict(raw: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(raw, Mapping):
        for key in ("params_ema", "params", "state_dict", "model"):
            if key in raw and isinstance(raw[key], Mapping):
                raw = raw[key]
                break
        tensors = {k: v for k, v in raw.items() if isinstance(v, torch.Tensor)}
        if tensors and len(tensors) == len(raw):
            return dict(tensors)
    raise CheckpointError(f"{path}: does not hold a state_dict (expected tensors, 'params' or 'params_ema')")


def fold_spectral_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace legacy spectral-norm triples by plain weights: W = W_orig / sigma, sigma = u . (W_mat v).

    In eval mode the spectrally normalised conv computes exactly this, so outputs are unchanged (MODELS.md 3.6 (b)).
    """
    if not any(k.endswith(".weight_orig") for k in state):
        return state
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.endswith((".weight_u", ".weight_v")):
            continue
        if key.endswith(".weight_orig"):
            prefix = key[: -len("_orig")]
            # float32, in the same order as the eval-mode spectral_norm hook, so the result is bit-exact
            u, v, w = state[prefix + "_u"].float(), state[prefix + "_v"].float(), value.float()
            sigma = torch.dot(u, torch.mv(w.reshape(w.shape[0], -1), v))
            out[prefix] = (w / sigma).to(value.dtype)
        else:
            out[key] = value
    return out


def check_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor], path: str | Path) -> None:
    """Raise one CheckpointError listing every difference between the model's keys/shapes and the file's."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in set(expected) & set(state) if state[k].shape != expected[k].shape
    )
    nonfinite = sorted(k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all())
    if not (missing or unexpected or mismatched or nonfinite):
        return
    lines = [f"{path}: does not fit {type(model).__name__}"]
    for title, items in (("missing keys", missing), ("unexpected keys", unexpected),
                         ("shape mismatches", mismatched), ("non-finite values (NaN/inf) in", nonfinite)):
        if items:
            shown = ", ".join(items[:12]) + (f", ... ({len(items) - 12} more)" if len(items) > 12 else "")
            lines.append(f"  {len(items)} {title}: {shown}")
    raise CheckpointError("\n".join(lines))


def load_state_into(model: nn.Module, path: str | Path) -> nn.Module:
    """Strictly load a checkpoint into `model`; on any mismatch the model keeps its previous parameters."""
    state = read_state_dict(path)
    check_state_dict(model, state, path)
    expected = model.state_dict()
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    return model


# ----- model cards --------------------------------------------------------------------------------------------
def card_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def read_card(weights: str | Path) -> dict[str, Any]:
    path = card_path(weights)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable model card ({exc})") from exc


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def config_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)


def save_weights(model: nn.Module, path: str | Path, name: str, card: Mapping[str, Any] | None = None,
                 half: bool = True) -> Path:
    """Write `model` as .safetensors (fp16 by default) plus its JSON card, both atomically; returns the weights path."""
    from safetensors.torch import save

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path}: weights are exported as .safetensors")
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.state_dict().items()}
    atomic_write(path, save(state, metadata={"variant": name}))
    full_card = {"variant": name, "config": config_dict(getattr(model, "config", variant(name).config)),
                 "parameters": parameter_count(model), **(card or {}), "sha256": sha256_of(path),
                 "file": path.name}
    atomic_write(card_path(path), (json.dumps(full_card, indent=2) + "\n").encode())
    return path


# ----- loading ------------------------------------------------------------------------------------------------
def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """CUDA when available, else CPU; an explicit choice wins (and fails clearly if CUDA is asked for but absent)."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but no CUDA device is available (use --device cpu)")
    return device


def load(name: str, weights: str | Path | None = None, device: str | torch.device | None = None) -> nn.Module:
    """The network of `name` in eval mode with weights from `weights` or the search folders."""
    path = Path(weights) if weights is not None else find_weights(name)
    if path is None:
        raise WeightsNotFound(missing_weights_message(name))
    card = read_card(path)
    overrides = card.get("config") or {}
    v = variant(name)
    fields = {f.name for f in dataclasses.fields(v.config)} if dataclasses.is_dataclass(v.config) else set()
    model = v.build(**{k: (tuple(x) if isinstance(x, list) else x) for k, x in overrides.items() if k in fields})
    load_state_into(model, path)
    model.weights_path = str(path)  # type: ignore[attr-defined]
    return model.eval().to(resolve_device(device))


def load_runtime(name: str, runtime: str = "torch", weights: str | Path | None = None,
                 device: str | torch.device | None = None) -> Any:
    """`load` for runtime "torch", or an ONNX Runtime model (same `Variant.run` interface) for runtime "onnx"."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose from {', '.join(RUNTIMES)}")
    return RUNTIMES[runtime](name, weights, device)


def _load_onnx(name: str, weights: str | Path | None, device: str | torch.device | None) -> Any:
    from .onnx_runtime import load_onnx

    return load_onnx(name, weights, device)


RUNTIMES = {"torch": load, "onnx": _load_onnx}


def describe() -> list[dict[str, Any]]:
    """One row per variant: name, family, task, parameters, weights file (or None) and description."""
    rows = []
    for name in names():
        v = variant(name)
        path = find_weights(name)
        rows.append({"name": name, "family": v.family, "task": v.task, "scale": v.scale,
                     "parameters": parameter_count(v.build()), "weights": str(path) if path else None,
                     "description": v.description})
    return rows
