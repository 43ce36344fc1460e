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
    """The fsr_studio.* metadata export_onnx stores (OpenVINO does not expose ONNX metadata_props)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}


class OpenVinoModel:
    """An OpenVINO CPU model of an exported ONNX file; one compiled model per input shape (static shapes are
    faster on the CPU plugin than a dynamic batch)."""

    def __init__(self, path: str | Path, precision: str = "f32", threads: int | None = None):
        import openvino as ov

        if precision not in PRECISIONS:
            raise ValueError(f"unknown OpenVINO precision {precision!r}; choose from {', '.join(PRECISIONS)}")
        self.path = Path(path)
        self.core = ov.Core()
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

    def run_extracted(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        arr = np.ascontiguousarray(x.detach().float().cpu().numpy())
        compiled = self._compiled_for(tuple(arr.shape))
        result = compiled([arr])
        outputs = [torch.from_numpy(np.array(result[compiled.output(i)])) for i in range(len(compiled.outputs))]
        image, *maps = outputs
        return image, dict(zip(self.map_keys, maps))

    def eval(self) -> "OpenVinoModel":  # the calling convention of an nn.Module where the pipeline expects one
        return self

    def to(self, *_: Any, **__: Any) -> "OpenVinoModel":
        return self
