"""Inference speed settings shared by the pipeline, the evaluator and the benchmark.

Modes: "fp32" (plain eager NCHW), "channels_last" (NHWC memory format, helps oneDNN convolutions), "bf16" (bf16
autocast + channels_last; fast on CPUs with AMX, slower than fp32 on some with only AVX512-BF16) and "fp16" (CUDA
autocast). For a PyTorch module, `precision="auto"` in engine.infer is decided by measurement
(engine.runtime_choice); :func:`resolve_mode` only guesses from CPU flags, for callers that cannot measure.
Reduced precision can fail on some GPUs (black or NaN outputs), so callers check outputs with :func:`is_bad_output`
and fall back to fp32.
"""
from __future__ import annotations

import contextlib
import functools
import platform
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

MODES = ("fp32", "channels_last", "bf16", "fp16")
CPU_FLAGS = ("amx_bf16", "amx_int8", "amx_tile", "avx512_bf16", "avx512_vnni", "avx_vnni", "avx512f", "avx2")


@dataclass(frozen=True)
class CpuInfo:
    """The CPU's name and the instruction-set flags that decide which reduced precision is fast."""

    name: str
    flags: tuple[str, ...]

    @property
    def amx(self) -> bool:
        return "amx_bf16" in self.flags

    @property
    def avx512_bf16(self) -> bool:
        return "avx512_bf16" in self.flags

    @property
    def vnni(self) -> bool:
        return "avx512_vnni" in self.flags or "avx_vnni" in self.flags

    def describe(self) -> str:
        yes = {True: "yes", False: "no"}
        return (f"{self.name} (AMX: {yes[self.amx]}, AVX-512 BF16: {yes[self.avx512_bf16]}, "
                f"VNNI: {yes[self.vnni]})")


@functools.lru_cache(maxsize=1)
def cpu_info() -> CpuInfo:
    """Read once per process from /proc/cpuinfo (Linux); elsewhere the platform's name and no flags."""
    name, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not name:
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return CpuInfo(name or platform.processor() or platform.machine(), tuple(f for f in CPU_FLAGS if f in flags))


def cpu_has_fast_bf16() -> bool:
    """True on CPUs whose oneDNN kernels run bf16 natively (AMX or AVX512-BF16). A hint only: native is not
    necessarily faster than fp32 (see engine.runtime_choice, which measures)."""
    cpu = cpu_info()
    return cpu.amx or cpu.avx512_bf16


def resolve_mode(mode: str, device: torch.device) -> str:
    if mode != "auto":
        if mode not in MODES:
            raise ValueError(f"unknown precision mode {mode!r}; choose from auto, {', '.join(MODES)}")
        if mode == "fp16" and device.type != "cuda":
            raise ValueError("fp16 inference is only offered on CUDA; use bf16 or fp32 on the CPU")
        return mode
    if device.type == "cuda":
        return "fp16"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def prepare_model(model: nn.Module, mode: str) -> nn.Module:
    """The weights in the memory format `mode` runs fastest in (NCHW again after a channels-last run)."""
    fmt = torch.channels_last if mode in ("channels_last", "bf16") else torch.contiguous_format
    return model.to(memory_format=fmt)


def prepare_input(x: torch.Tensor, mode: str) -> torch.Tensor:
    if mode in ("channels_last", "bf16") and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


@contextlib.contextmanager
def inference(device: torch.device, mode: str) -> Iterator[None]:
    """inference_mode plus the autocast that `mode` asks for."""
    with torch.inference_mode():
        if mode == "bf16":
            with torch.autocast(device.type, dtype=torch.bfloat16):
                yield
        elif mode == "fp16":
            with torch.autocast("cuda", dtype=torch.float16):
                yield
        else:
            yield


def is_bad_output(image: torch.Tensor) -> bool:
    """NaN/inf anywhere, or an all-black frame: the known failure of reduced precision on some GPUs."""
    return bool(not torch.isfinite(image).all() or image.abs().amax() == 0)
