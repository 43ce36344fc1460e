"""An OpenVINO model read from the project's ONNX export, answering `Variant.run` like the PyTorch network.

Optional: the `openvino` package is imported only here and only when a model is built, so a machine without it just
lacks the path (engine.runtime_choice says why). OpenVINO's CPU plugin runs bf16 by default on CPUs that have it,
which can be slower and less exact than f32 there, so the inference precision is always given explicitly.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

PRECISIONS = ("f32", "bf16")


def missing_reason() -> str | None:
    """None when OpenVINO can be used, else a line saying why not (shown by `fsr-studio bench`)."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return "the openvino package is not installed (pip install openvino)"
    except Exception as exc:  # a broken install must not break inference
        return f"openvino does not load ({exc})"
    return None


def _onnx_meta(path: Path) -> dict[str, str]:
    """The fsr_studio.* metadata export_onnx stores (OpenVINO does not expose ONNX metadata_props).

    Kept in a sidecar JSON after the first read: importing the onnx package costs about a second of every fresh
    process's start, more than the rest of OpenVINO's set-up with a warm model cache."""
    sidecar = path.with_name(path.name + ".meta.json")
    try:
        if sidecar.stat().st_mtime_ns >= path.stat().st_mtime_ns:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            if isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values()):
                return meta
    except (OSError, ValueError):
        pass
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    meta = {p.key: p.value for p in proto.metadata_props}
    try:
        from .util import atomic_write

        atomic_write(sidecar, json.dumps(meta).encode())
    except OSError:
        pass  # a read-only folder only means reading the ONNX file again next time
    return meta


class OpenVinoModel:
    """An OpenVINO CPU model of an exported ONNX file; one compiled model per input shape (static shapes are
    faster on the CPU plugin than a dynamic batch). A smaller batch runs padded in a larger compiled shape rather
    than compiling another (a compile costs 2-4 s on 2 cores, a padded face ~30 ms). With `cache_dir`, compiled
    models are kept on disk by OpenVINO's model cache, which cuts a fresh process's compile to under a second."""

    def __init__(self, path: str | Path, precision: str = "f32", threads: int | None = None,
                 cache_dir: str | Path | None = None):
        import openvino as ov

        if precision not in PRECISIONS:
            raise ValueError(f"unknown OpenVINO precision {precision!r}; choose from {', '.join(PRECISIONS)}")
        self.path = Path(path)
        self.core = ov.Core()
        if cache_dir is not None:
            try:
                Path(cache_dir).mkdir(parents=True, exist_ok=True)
                self.core.set_property({"CACHE_DIR": str(cache_dir)})
            except (OSError, RuntimeError):
                pass  # no cache only means compiling again next time
        self.model = self.core.read_model(str(self.path))
        self.config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            self.config["INFERENCE_NUM_THREADS"] = int(threads)
        meta = _onnx_meta(self.path)
        self.variant_name: str = meta.get("fsr_studio.variant", "")
        self.map_keys: list[str] = json.loads(meta.get("fsr_studio.map_keys", "[]"))
        self.weights_path = str(self.path)
        self._compiled: dict[tuple[int, ...], Any] = {}

    def _compiled_for(self, shape: tuple[int, ...]) -> Any:
        if shape not in self._compiled:
            model = self.model.clone()
            model.reshape(list(shape))
            self._compiled[shape] = self.core.compile_model(model, "CPU", self.config)
        return self._compiled[shape]

    def _shape_for(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """`shape`, or the smallest compiled shape that holds it with the same face size (padded batch)."""
        if shape in self._compiled:
            return shape
        larger = [s for s in self._compiled if s[1:] == shape[1:] and s[0] > shape[0]]
        return min(larger) if larger else shape

    def run_extracted(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        arr = np.ascontiguousarray(x.detach().float().cpu().numpy())
        n, shape = arr.shape[0], self._shape_for(tuple(arr.shape))
        if shape[0] > n:
            arr = np.concatenate([arr, np.zeros((shape[0] - n, *arr.shape[1:]), arr.dtype)])
        compiled = self._compiled_for(shape)
        result = compiled([arr])
        outputs = [torch.from_numpy(np.array(result[compiled.output(i)])[:n]) for i in range(len(compiled.outputs))]
        image, *maps = outputs
        return image, dict(zip(self.map_keys, maps))

    def eval(self) -> "OpenVinoModel":  # the calling convention of an nn.Module where the pipeline expects one
        return self

    def to(self, *_: Any, **__: Any) -> "OpenVinoModel":
        return self
