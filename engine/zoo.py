"""Model zoo: every named variant, where its weights are, and safe loading of .safetensors and .pth files.

Weight discovery order (first hit wins): an explicit path; the user models folder (``$FSR_STUDIO_MODELS`` or the
platformdirs user data folder + ``/models``); the bundled ``resources/weights``. Each weight file may have a JSON model
card beside it (same stem, ``.json``). Nothing is ever downloaded.

Checkpoints load only through ``safetensors`` or ``torch.load(weights_only=True)``; a file that does not fit the
architecture raises one :class:`CheckpointError` naming the file and listing missing, unexpected, mis-shaped and
mis-typed keys, and the model is left untouched (nothing is half-loaded). Model cards are untrusted input too: every
card is checked by :func:`validate_card` (types, ranges, and a parameter budget counted on the "meta" device) before
anything is built from it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import os
import re
import threading
import types
import typing
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from . import models as _models  # noqa: F401  (registers every family)
from .models.registry import Variant, registered
from .util import atomic_write

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt")
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "resources" / "weights"
ENV_MODELS = "FSR_STUDIO_MODELS"
ENV_BUNDLED = "FSR_STUDIO_BUNDLED"  # relocates the bundled weights (frozen bundles; tests use an empty folder)
# Top-level keys of a checkpoint dict that wrap the state dict (BasicSR, Lightning, torch.save habits); first wins.
WRAPPER_KEYS = ("params_ema", "params", "net_g", "state_dict", "model")
# Model-card limits. A card's config is built on the "meta" device (no memory) and refused above MAX_CARD_PARAMETERS
# (1 GB in fp32, 2.7x the largest registered variant, sparnethd-3d at 90 M), so a card cannot make the loader
# allocate tens of GB; numbers outside the ranges below are refused before building at all.
MAX_CARD_PARAMETERS = 250_000_000
MAX_CARD_MODULES = 10_000  # 7.6x the largest registered variant (sparnet, 1,312): bounds a meta build to seconds
MAX_CARD_INT = 4096  # channels, blocks, sizes
MAX_CARD_FLOAT = 1000.0  # gains, slopes, init scales
MAX_CARD_ITEMS = 16  # length of tuple fields (SelFSR's per-level widths)
MAX_CARD_STR = 64
MAX_CARD_BYTES = 4 << 20  # real cards are a few kB; a bigger .json is not read into memory


class CheckpointError(ValueError):
    """A weight file that cannot be used: unreadable, unsafe, or not matching the architecture."""


class WeightsNotFound(FileNotFoundError):
    """No weight file for a variant in any searched folder."""


class UnknownModelError(KeyError):
    """A model name that is not registered; the message lists the known names.

    A KeyError (a lookup by name that failed), but with its message shown as is rather than quoted."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# ----- variants ---------------------------------------------------------------------------------------------------
def names(task: str | None = None) -> list[str]:
    """Registered variant names, optionally only those of one task ("restore" or "degrade")."""
    return [n for n, v in registered().items() if task is None or v.task == task]


def variant(name: str) -> Variant:
    try:
        return registered()[name]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r}; known: {', '.join(names())}") from None


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
    return find_file([name] + ([Path(v.official_file).stem] if v.official_file else []), WEIGHT_SUFFIXES)


def find_file(stems: Sequence[str], suffixes: Sequence[str]) -> Path | None:
    """The first `<folder>/<stem><suffix>` that is a file: search folders first, then stems, then suffixes in order."""
    for folder in search_dirs():
        for stem in stems:
            for suffix in suffixes:
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
def require_weight_file(path: str | Path) -> Path:
    """`path` as a Path if it is an existing non-empty file; a folder or a missing file gets its own clear message."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a weight file (pass the .safetensors or .pth file itself)")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    return path


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint: safetensors, or a torch file holding a bare state_dict or one under WRAPPER_KEYS.

    Strips DataParallel/DDP "module." prefixes and folds legacy spectral norm (weight_orig/u/v) into plain weights.
    """
    path = require_weight_file(path)
    if path.suffix == ".safetensors":
        raw: Any = _load_safetensors(path)
    else:
        raw = torch_load(path)
    state = unwrap_state_dict(raw, path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    return fold_spectral_norm(state)


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # truncation, garbage header: one clear message
        raise CheckpointError(f"{path}: not a readable checkpoint ({describe_load_error(exc)})") from exc


def torch_load(path: str | Path) -> Any:
    """torch.load(weights_only=True) with messages safe to show: TorchScript archives are named as such and torch's
    advice to retry with weights_only=False (which would run the file's code) is never passed on."""
    path = Path(path)
    if is_torchscript(path):
        raise CheckpointError(f"{path}: a TorchScript archive (torch.jit.save), not a state dict; only plain state "
                              f"dicts load (.safetensors, or a .pth holding tensors only), because a TorchScript "
                              f"archive carries code")
    try:
        with warnings.catch_warnings():  # torch's pickle-protocol and TorchScript warnings are not for our users
            warnings.simplefilter("ignore")
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refusals, truncation, garbage: one clear message
        raise CheckpointError(f"{path}: not a readable checkpoint ({describe_load_error(exc)})") from exc


def is_torchscript(path: Path) -> bool:
    """True for a torch.jit.save archive: a zip whose records include compiled code (``<name>/code/...``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name or name.endswith("/constants.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


_UNSAFE_ADVICE = re.compile(r"weights.only|trusted source|arbitrary code|safe_globals|file an issue|can still be "
                            r"loaded|only if you trust|check the documentation|check the recommended", re.I)


def describe_load_error(exc: BaseException) -> str:
    """The useful part of a loader's exception, without torch's "retry with weights_only=False" advice.

    torch's weights-only refusal wraps the forbidden object ("Unsupported global: GLOBAL posix.system ...") in text
    telling the user how to run the file's code anyway; every sentence of that kind is dropped.
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    refused = "weights only load failed" in text.lower() or "weightsunpickler" in text.lower()
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text.replace("WeightsUnpickler error:", "\n"))
    kept = " ".join(s.strip() for s in sentences if s.strip() and not _UNSAFE_ADVICE.search(s))
    if refused:
        kept = "it holds Python objects other than tensors, refused unread" + (f": {kept}" if kept else "")
    kept = kept or "refused by the safe loader"
    kept = " ".join(kept.split())[:300]
    return f"{type(exc).__name__}: {kept}"


def unwrap_state_dict(raw: Any, path: Path) -> dict[str, torch.Tensor]:
    """The {name: tensor} dict of a checkpoint: `raw` itself, or its first WRAPPER_KEYS entry holding a mapping."""
    if isinstance(raw, Mapping):
        inner = next((raw[k] for k in WRAPPER_KEYS if k in raw and isinstance(raw[k], Mapping)), raw)
        tensors = {k: v for k, v in inner.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
        if tensors and len(tensors) == len(inner):
            return dict(tensors)
    raise CheckpointError(f"{path}: does not hold a state_dict ({_layout_of(raw)}; expected a dict of tensors, or "
                          f"one under a recognised key: {', '.join(WRAPPER_KEYS)})")


def _layout_of(raw: Any) -> str:
    """What a checkpoint holds instead of weights, for the refusal: its top-level keys, or its type."""
    if not isinstance(raw, Mapping):
        return f"it holds a {type(raw).__name__}"
    if not raw:
        return "it holds an empty dict"
    keys = sorted(repr(k) for k in raw)
    shown = ", ".join(keys[:12]) + (f", ... ({len(keys) - 12} more)" if len(keys) > 12 else "")
    return f"top-level keys: {shown}"


def fold_spectral_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace legacy spectral-norm triples by plain weights: W = W_orig / sigma, sigma = u . (W_mat v).

    In eval mode the spectrally normalised conv computes exactly this, so outputs are unchanged
    (docs/models.md#sparnet-checkpoints).
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
    """Raise one CheckpointError listing every difference between the model's keys/shapes/dtypes and the file's."""
    expected = model.state_dict()
    common = set(expected) & set(state)
    problems = (
        ("missing keys", sorted(set(expected) - set(state))),
        ("unexpected keys", sorted(set(state) - set(expected))),
        ("shape mismatches", sorted(f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
                                    for k in common if state[k].shape != expected[k].shape)),
        ("tensors not floating point where the model's are", _not_float(expected, state, common)),
        ("non-finite values (NaN/inf) in", sorted(k for k, v in state.items()
                                                  if v.is_floating_point() and not torch.isfinite(v).all())),
    )
    if not any(items for _, items in problems):
        return
    lines = [f"{path}: does not fit {type(model).__name__}"]
    for title, items in problems:
        if items:
            shown = ", ".join(items[:12]) + (f", ... ({len(items) - 12} more)" if len(items) > 12 else "")
            lines.append(f"  {len(items)} {title}: {shown}")
    raise CheckpointError("\n".join(lines))


def _not_float(expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], keys: set[str]) -> list[str]:
    """Integer/bool/complex file tensors where the model holds floats: loading would cast them into garbage weights.

    Integer buffers of the model itself (BatchNorm's num_batches_tracked) are not concerned.
    """
    return sorted(f"{k} ({str(state[k].dtype).removeprefix('torch.')} vs model "
                  f"{str(expected[k].dtype).removeprefix('torch.')})"
                  for k in keys if expected[k].is_floating_point() and not state[k].is_floating_point())


def load_state_into(model: nn.Module, path: str | Path, state: Mapping[str, torch.Tensor] | None = None) -> nn.Module:
    """Strictly load a checkpoint into `model`; on any mismatch the model keeps its previous parameters.

    The card beside the file is validated too: a hostile or broken card marks the file as untrustworthy. `state` is
    the file's tensors when the caller has already read them with :func:`read_state_dict` (a file checked against
    several architectures is read once); the file is then neither read again nor its card re-checked.
    """
    path = require_weight_file(path)
    if state is None:
        read_card(path)
    return _paste_state(model, path, state)


def _paste_state(model: nn.Module, path: Path, state: Mapping[str, torch.Tensor] | None = None) -> nn.Module:
    state = read_state_dict(path) if state is None else state
    check_state_dict(model, state, path)
    expected = model.state_dict()
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    return model


# ----- model cards --------------------------------------------------------------------------------------------
def card_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def write_card(weights: str | Path, card: Mapping[str, Any]) -> Path:
    """The card beside `weights`, written atomically in the one layout every writer uses (so an added field does not
    reformat the whole file in the diff). Strict JSON: a metric with no finite value (the PSNR of a face that came
    through its degradation unchanged) is written as null, which every JSON reader accepts."""
    text = json.dumps(_finite_or_null(dict(card)), indent=2, allow_nan=False)
    return atomic_write(card_path(weights), (text + "\n").encode())


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value


def read_card(weights: str | Path, name: str | None = None) -> dict[str, Any]:
    """The validated card beside `weights` ({} if none): its config checked against variant `name`, else against
    the variant the card names (if registered). Raises CheckpointError naming the card and the bad field."""
    if Path(weights).is_dir():
        require_weight_file(weights)
    path = card_path(weights)
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > MAX_CARD_BYTES:
            raise ValueError(f"{path.stat().st_size:,} bytes, over the {MAX_CARD_BYTES:,} a card may have")
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{weights}: model card {path}: unreadable ({str(exc)[:200]})") from None
    return validate_card(card, weights, name)


def validate_card(card: Any, weights: str | Path, name: str | None = None) -> dict[str, Any]:
    """Refuse a card that is not a JSON object, names its variant with a non-string, or whose config does not fit
    the variant (see :func:`card_overrides`); returns the card unchanged."""
    where = f"{weights}: model card {card_path(weights)}"
    if not isinstance(card, dict):
        raise CheckpointError(f"{where}: must be a JSON object, got {_json_type(card)}")
    if "variant" in card and not isinstance(card["variant"], str):
        raise CheckpointError(f"{where}: 'variant' must be a string, got {_json_type(card['variant'])}")
    _card_config(card, where)
    target = name if name is not None else card.get("variant")
    if target in registered():
        card_overrides(card, weights, target)
    return card


def card_overrides(card: Mapping[str, Any], weights: str | Path, name: str) -> dict[str, Any]:
    """The config fields `card` sets for variant `name`, typed (lists -> tuples, ints -> floats where the field is
    a float), range-checked, and proven to build a network within MAX_CARD_PARAMETERS on the meta device."""
    where = f"{weights}: model card {card_path(weights)}"
    config = _card_config(card, where)
    v = variant(name)
    if not dataclasses.is_dataclass(v.config):
        if config:
            raise CheckpointError(f"{where}: {name} takes no config, the card sets {', '.join(sorted(config))}")
        return {}
    hints = typing.get_type_hints(type(v.config))
    fields = {f.name for f in dataclasses.fields(v.config)}
    choices = getattr(type(v.config), "CHOICES", {})
    overrides = {}
    for key, value in config.items():
        if key not in fields:
            raise CheckpointError(f"{where}: config.{key} is not a field of {type(v.config).__name__} "
                                  f"(fields: {', '.join(sorted(fields))})")
        try:
            overrides[key] = _card_value(value, hints[key], choices.get(key))
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{where}: config.{key} {exc}") from None
    check_parameter_budget(v, overrides, where)
    return overrides


def _card_config(card: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The card's 'config' object ({} when absent or null)."""
    config = card.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise CheckpointError(f"{where}: 'config' must be a JSON object, got {_json_type(config)}")
    return config


def _card_value(value: Any, hint: Any, choices: tuple[str, ...] | None = None) -> Any:
    """`value` converted to a field of type `hint`; TypeError/ValueError saying what is wrong otherwise."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _card_value(value, next(a for a in args if a is not type(None)), choices)
    if origin in (tuple, list):
        return _card_sequence(value, args, origin)
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError(f"must be true or false, got {_json_shown(value)}")
        return value
    if hint is int:
        return _card_number(value, int, 0, MAX_CARD_INT)
    if hint is float:
        return float(_card_number(value, (int, float), -MAX_CARD_FLOAT, MAX_CARD_FLOAT))
    if hint is str:
        return _card_str(value, choices)
    raise TypeError(f"cannot be set from a model card (type {hint})")


def _card_number(value: Any, kinds: type | tuple[type, ...], low: float, high: float) -> int | float:
    """An int (or, for kinds (int, float), a finite number) within [low, high]; bools are never numbers here."""
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = "an integer" if kinds is int else "a number"
        raise TypeError(f"must be {wanted}, got {_json_shown(value)}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}, got {value!r}")
    return value


def _card_str(value: Any, choices: tuple[str, ...] | None) -> str:
    if not isinstance(value, str) or len(value) > MAX_CARD_STR:
        raise TypeError(f"must be a string of at most {MAX_CARD_STR} characters, got {_json_shown(value)}")
    if choices is not None and value not in choices:
        raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def _card_sequence(value: Any, args: tuple[Any, ...], origin: type) -> tuple[Any, ...] | list[Any]:
    """A JSON list as the tuple/list field it fills: tuple[int, ...], tuple[int, int] or list[int]."""
    if not isinstance(value, (list, tuple)) or len(value) > MAX_CARD_ITEMS:
        raise TypeError(f"must be a list of at most {MAX_CARD_ITEMS} items, got {_json_shown(value)}")
    if origin is tuple and args and args[-1] is not Ellipsis and len(args) != len(value):
        raise ValueError(f"must be a list of {len(args)} items, got {len(value)}")
    kinds = [args[0]] * len(value) if (origin is list or args[-1:] == (Ellipsis,)) else list(args)
    items = []
    for i, (item, kind) in enumerate(zip(value, kinds)):
        try:
            items.append(_card_value(item, kind))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"item {i} {exc}") from None
    return tuple(items) if origin is tuple else items


def check_parameter_budget(v: Variant, overrides: Mapping[str, Any], where: str) -> None:
    """Build the card's config on the meta device (no memory) and refuse it above MAX_CARD_PARAMETERS.

    Also refuses configs the dataclass or the builder rejects, so nothing hostile reaches a real allocation.
    """
    try:
        config = dataclasses.replace(v.config, **overrides)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: config rejected by {type(v.config).__name__}: {exc}") from None
    if config == v.config:
        return  # a registered variant: within the limits by construction
    count = _meta_parameter_count(v.name, tuple(sorted(overrides.items())))
    changed = ", ".join(f"{k}={x!r}" for k, x in sorted(overrides.items()) if getattr(v.config, k) != x)
    if isinstance(count, str):
        raise CheckpointError(f"{where}: config ({changed}) {count}; refused before allocating it")
    if count > MAX_CARD_PARAMETERS:
        raise CheckpointError(f"{where}: config ({changed}) makes {v.name} a network of {count:,} parameters, over "
                              f"the limit of {MAX_CARD_PARAMETERS:,}; refused before allocating it")


class _TooBig(Exception):
    """Raised from the registration hooks to stop a meta build that is already past the limits."""


@functools.lru_cache(maxsize=64)
def _meta_parameter_count(name: str, overrides: tuple[tuple[str, Any], ...]) -> int | str:
    """Tensor elements of `name` built with `overrides` on the meta device, or a phrase saying why it was refused."""
    try:
        with torch.device("meta"), warnings.catch_warnings(), _build_limits(MAX_CARD_MODULES, 2 * MAX_CARD_PARAMETERS):
            warnings.simplefilter("ignore")  # zero-element tensors and the like: the count decides
            model = variant(name).build(**dict(overrides))
        return sum(t.numel() for t in model.state_dict().values())
    except _TooBig as exc:
        return f"makes {name} a network of {exc}"
    except Exception as exc:  # noqa: BLE001  (hostile config: any builder failure is a refusal)
        return f"cannot be built ({type(exc).__name__}: {str(exc)[:200]})"


@contextlib.contextmanager
def _build_limits(max_modules: int, max_elements: int) -> typing.Iterator[None]:
    """Abort a network build in this thread once it registers more than `max_modules` submodules or `max_elements`
    parameter/buffer elements, so a hostile card costs seconds, not minutes. The element bound is twice the real
    limit because parametrizations register some tensors twice; the exact count is taken after the build."""
    from torch.nn.modules import module as module_hooks

    owner, counts = threading.get_ident(), {"modules": 0, "elements": 0}

    def on_module(parent: nn.Module, key: str, child: nn.Module | None) -> None:
        if threading.get_ident() == owner:
            counts["modules"] += 1
            if counts["modules"] > max_modules:
                raise _TooBig(f"more than {max_modules:,} modules (the limit)")

    def on_tensor(parent: nn.Module, key: str, tensor: torch.Tensor | None) -> None:
        if threading.get_ident() == owner and tensor is not None:
            counts["elements"] += tensor.numel()
            if counts["elements"] > max_elements:
                raise _TooBig(f"more than {max_elements // 2:,} parameters (the limit)")

    handles = [module_hooks.register_module_module_registration_hook(on_module),
               module_hooks.register_module_parameter_registration_hook(on_tensor),
               module_hooks.register_module_buffer_registration_hook(on_tensor)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages about cards."""
    for kind, label in ((bool, "a boolean"), (dict, "an object"), (list, "a list"), (str, "a string"),
                        ((int, float), "a number"), (type(None), "null")):
        if isinstance(value, kind):
            return label
    return type(value).__name__


def _json_shown(value: Any) -> str:
    return f"{json.dumps(value)[:40]} ({_json_type(value)})"


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_cached(path: str | Path) -> str | None:
    """:func:`sha256_of`, remembered per (path, size, mtime) so a folder of photos or every inference call hashes a
    weight file once; None when the file cannot be read."""
    try:
        st = Path(path).stat()
        return _sha256_by_stat(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        return None


@functools.lru_cache(maxsize=64)
def _sha256_by_stat(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(path)


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
    write_card(path, full_card)
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
    path = require_weight_file(path)
    model = variant(name).build(**card_overrides(read_card(path, name), path, name))
    _paste_state(model, path)
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
