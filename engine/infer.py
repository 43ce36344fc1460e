"""Run one model on a batch of LR faces: batching, precision mode, bad-output fallback and test-time augmentation.

This is the single place where networks meet face images; the photo pipeline, the evaluator and the GUI's compare
view all call :func:`infer_faces`, so every caller gets the same speed settings and the same TTA.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from . import accel, zoo
from .models.registry import Variant, to_uint8

# The 8 dihedral transforms (FSRNet_aug): k quarter turns, optionally mirrored. Each has an exact inverse.
DIHEDRAL = [(k, flip) for flip in (False, True) for k in range(4)]


@dataclass
class Inference:
    """Restored faces (N x H x W x 3 uint8), the by-product maps (name -> N x ... float32) and timing."""

    images: np.ndarray
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0
    mode: str = "fp32"
    notes: list[str] = field(default_factory=list)


def _transform(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    x = torch.flip(x, dims=[-1]) if flip else x
    return torch.rot90(x, k, dims=[-2, -1])


def _inverse(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    x = torch.rot90(x, -k, dims=[-2, -1])
    return torch.flip(x, dims=[-1]) if flip else x


def _forward(v: Variant, model: Any, x: torch.Tensor, device: torch.device, mode: str,
             tta: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One batch through the network; with `tta` the image is the mean over the 8 dihedral transforms.

    By-product maps (priors, attention) are spatial but not all are equivariant (landmark channels have a fixed
    left/right meaning), so they are taken from the identity transform only.
    """
    x = accel.prepare_input(x.to(device), mode)
    with accel.inference(device, mode):
        image, maps = v.run(model, x)
        if tta:
            acc = image.clone()
            for k, flip in DIHEDRAL[1:]:
                out, _ = v.run(model, accel.prepare_input(_transform(x, k, flip).contiguous(), mode))
                acc += _inverse(out, k, flip)
            image = acc / len(DIHEDRAL)
    return image.float(), maps


def _choose_runner(name: str, model: Any, mode: str, device: torch.device,
                   batch_size: int) -> tuple[Any, str, str, list[str]]:
    """(what Variant.run gets, the accel mode around it, the path's name, notes). "auto" on a PyTorch module is
    the measured, cached choice of engine.runtime_choice; runtime models (ONNX) run as they are."""
    if hasattr(model, "run_extracted"):
        return model, "fp32", "fp32", []
    from . import runtime_choice

    path = runtime_choice.PATHS.get(mode)
    if path is not None and not path.is_torch and isinstance(model, torch.nn.Module):  # a runtime asked for by name
        if device.type not in path.devices:
            raise ValueError(f"precision {mode} runs on {', '.join(path.devices)}, not {device.type}")
        runner, torch_mode = runtime_choice.runner_for(mode, name, model, device)
        return runner, torch_mode, mode, []
    if mode != "auto" or not isinstance(model, torch.nn.Module):
        resolved = accel.resolve_mode(mode, device)
        return model, resolved, resolved, []

    verdict = runtime_choice.choose(name, model, device, batch_size)
    runner, torch_mode = runtime_choice.runner_for(verdict.path, name, model, device)
    notes = []
    if verdict.measured_s is not None:  # once per machine, model and batch size: say why this call took longer
        notes.append(f"{name}: measured the inference paths once ({verdict.measured_s:.0f} s): {verdict.reason}")
    return runner, torch_mode, verdict.path, notes


def _native_runner(name: str, model: Any, mode: str, device: torch.device) -> tuple[Any, str, str, list[str]]:
    """A native-resolution crop (Variant.native_max) runs in PyTorch: the measured runtimes (OpenVINO, ONNX) are
    compiled for the variant's fixed input size, and their accuracy verdicts hold for it only, so "auto" is fp32
    on the CPU (fp16 AMP on CUDA, as everywhere) and an explicit PyTorch precision is kept."""
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"{name}: a native-resolution crop needs the PyTorch network, not {type(model).__name__}")
    if mode in accel.MODES:
        torch_mode = accel.resolve_mode(mode, device)
    else:
        torch_mode = "fp16" if device.type == "cuda" else "fp32"
    return model, torch_mode, torch_mode, []


def infer_faces(name: str, model: Any, lr_faces: Sequence[np.ndarray] | np.ndarray, *, tta: bool = False,
                mode: str = "auto", device: str | torch.device | None = None, batch_size: int = 8) -> Inference:
    """Restore uint8 RGB LR faces (each variant.lr_size square, or all one native side) with `model` of `name`.

    `mode="auto"` runs the path measured fastest for this machine, model and batch size among those as accurate as
    fp32 (engine.runtime_choice; `Inference.mode` names it). Reduced precision (bf16 on CPU, fp16 on CUDA) is
    retried in fp32 for a batch whose output is NaN or black, so a GPU that mishandles half precision still gives a
    correct picture.
    """
    v = zoo.variant(name)
    device = zoo.resolve_device(device) if not isinstance(device, torch.device) else device
    faces = list(lr_faces)
    if faces and np.asarray(faces[0]).shape[0] != v.lr_size:
        runner, mode, label, notes = _native_runner(name, model, mode, device)
    else:
        runner, mode, label, notes = _choose_runner(name, model, mode, device, batch_size)
    if isinstance(runner, torch.nn.Module):
        runner = accel.prepare_model(runner.eval().to(device), mode)
    images, maps = [], {}
    start = time.perf_counter()
    for i in range(0, len(faces), batch_size):
        x = v.to_input(faces[i:i + batch_size])
        image, batch_maps = _forward(v, runner, x, device, mode, tta)
        if label != "fp32" and accel.is_bad_output(image):
            notes.append(f"{name}: {label} output was NaN/black, recomputed in fp32")
            fallback = accel.prepare_model(model, "fp32") if isinstance(model, torch.nn.Module) else model
            image, batch_maps = _forward(v, fallback, x, device, "fp32", tta)
        images.append(to_uint8(image))
        for key, value in batch_maps.items():
            maps.setdefault(key, []).append(value.float().cpu().numpy())
    seconds = time.perf_counter() - start
    stacked = {k: np.concatenate(vs) for k, vs in maps.items()}
    out = np.concatenate(images) if images else np.zeros((0, v.hr_size, v.hr_size, 3), np.uint8)
    return Inference(out, stacked, seconds, label, notes)
