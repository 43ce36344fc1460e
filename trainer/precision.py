"""Mixed precision, device-agnostic: bf16 autocast + channels_last on CPU, fp16 autocast + GradScaler on CUDA.

Whether bf16 pays on a CPU is measured, not assumed (:func:`measured_fast`): with AMX it trained 2.3-3x faster than
fp32 here, on a Xeon with AVX-512 BF16 but no AMX only 1.06-1.46x, and on a CPU without native bf16 it is slower
than fp32. CUDA always takes fp16 AMP. Losses are always computed in fp32 on outputs cast back with ``.float()``.
"""
from __future__ import annotations

import contextlib
import copy
import os
import time
from typing import Any, Iterator

import torch
from torch import nn


class Precision:
    def __init__(self, device: torch.device, fast: bool, channels_last: bool | None = None):
        self.device = device
        self.fast = bool(fast)
        self.dtype = (torch.float16 if device.type == "cuda" else torch.bfloat16) if self.fast else torch.float32
        self.channels_last = self.fast if channels_last is None else bool(channels_last)
        use_scaler = self.fast and device.type == "cuda"
        self.scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)

    @property
    def name(self) -> str:
        if not self.fast:
            return "fp32" + (" + channels_last" if self.channels_last else "")
        suffix = " + channels_last" if self.channels_last else ""
        return f"{str(self.dtype).removeprefix('torch.')} autocast{suffix}"

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if not self.fast:
            yield
            return
        with torch.autocast(device_type=self.device.type, dtype=self.dtype):
            yield

    def prepare(self, model: nn.Module) -> nn.Module:
        model = model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def tensor(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x

    def backward(self, loss: torch.Tensor, retain_graph: bool = False) -> None:
        self.scaler.scale(loss).backward(retain_graph=retain_graph)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        self.scaler.step(optimizer)

    def update(self) -> None:
        self.scaler.update()


# ----- the CPU default, measured ---------------------------------------------------------------------------------
ENV_FORCE = "FSR_STUDIO_TRAIN_PRECISION"  # "fp32", "bf16" (autocast + channels_last), or "flags" (guess from CPU flags)
PROBE_BATCH = 4  # faces per probe step: enough to reach the kernels a real batch uses, cheap on 2 cores
PROBE_STEPS = 2  # timed steps per precision, after one untimed (oneDNN builds its kernels on the first)
MARGIN = 0.03  # bf16 must beat fp32 by this fraction: timing noise never makes the default slower


def _probe_step(model: nn.Module, precision: Precision, x: torch.Tensor) -> float:
    """Seconds for one forward + backward of the generator alone (the bulk of every recipe's step)."""
    t0 = time.perf_counter()
    with precision.autocast():
        out = model(precision.tensor(x))
    parts = out if isinstance(out, (tuple, list)) else [out]
    loss = sum(t.float().mean() for t in parts if isinstance(t, torch.Tensor) and t.is_floating_point())
    loss.backward()  # type: ignore[union-attr]
    return time.perf_counter() - t0


def probe_seconds(model: nn.Module, x: torch.Tensor, device: torch.device, fast: bool) -> float:
    """Best of `PROBE_STEPS` timed generator steps in fp32 (`fast` False) or bf16 autocast + channels_last."""
    precision = Precision(device, fast)
    net = precision.prepare(copy.deepcopy(model).train())
    _probe_step(net, precision, x)
    return min(_probe_step(net, precision, x) for _ in range(PROBE_STEPS))


def _cache_key(name: str) -> dict[str, Any]:
    from engine.runtime_choice import cpu_info, library_versions

    cpu = cpu_info()
    return {"cpu": cpu.name, "flags": list(cpu.flags), "threads": torch.get_num_threads(),
            "versions": library_versions(), "variant": name, "probe_batch": PROBE_BATCH}


def _cache_file() -> Any:
    from engine.runtime_choice import cache_dir

    return cache_dir() / "training_precision.json"


def measured_fast(name: str, device: torch.device) -> tuple[bool, str]:
    """Whether training `name` on `device` should use the fast precision, and why.

    CUDA: yes (fp16 AMP). CPU: a probe times the generator's forward + backward in fp32 and in bf16 autocast +
    channels_last once per CPU, thread count, library versions and variant, and caches the verdict beside the
    inference paths' (engine.runtime_choice.cache_dir). `FSR_STUDIO_TRAIN_PRECISION` pins it.
    """
    from engine import accel, zoo
    from engine.runtime_choice import check_faces, key_id, read_cached, write_cached

    if device.type == "cuda":
        return True, "fp16 autocast on CUDA"
    forced = os.environ.get(ENV_FORCE, "").strip()
    if forced in ("fp32", "bf16"):
        return forced == "bf16", f"{forced}, set by {ENV_FORCE}"
    if forced == "flags":
        fast = accel.cpu_has_fast_bf16()
        return fast, f"{'bf16' if fast else 'fp32'}, guessed from the CPU flags ({ENV_FORCE}=flags)"
    if forced:
        raise ValueError(f"{ENV_FORCE}={forced!r}: choose fp32, bf16 or flags")
    kid = key_id(_cache_key(name))
    cached = read_cached(_cache_file()).get(kid)
    if isinstance(cached, dict) and isinstance(cached.get("fast"), bool):
        return cached["fast"], str(cached.get("reason", ""))
    v = zoo.variant(name)
    torch.manual_seed(0)
    model = zoo.build(name)
    x = v.to_input(check_faces(v.lr_size, PROBE_BATCH))
    fp32, bf16 = probe_seconds(model, x, device, False), probe_seconds(model, x, device, True)
    fast = bf16 < fp32 * (1 - MARGIN)
    reason = (f"{'bf16 autocast + channels_last' if fast else 'fp32'}, measured: a generator step of {PROBE_BATCH} "
              f"faces took {fp32:.2f} s in fp32 and {bf16:.2f} s in bf16 + channels_last ({fp32 / bf16:.2f}x)")
    write_cached(_cache_file(), kid, {"fast": fast, "reason": reason, "fp32_s": round(fp32, 3), "bf16_s": round(bf16, 3),
                       "key": _cache_key(name), "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return fast, reason
