"""ONNX export and an ONNX Runtime model that plugs into the same `Variant.run` interface as a PyTorch module.

The exported graph returns the raw image followed by the family's by-product maps in a fixed order; that order, the
variant name and the value range are stored in the model's metadata, so a session knows how to unpack itself.
ONNX Runtime uses the CUDA execution provider when it is installed (`onnxruntime-gpu`) and asked for, else the CPU.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import zoo
from .util import atomic_write

OPSET = 17


class _ExportWrapper(nn.Module):
    """Flattens a family's output into (image, *maps) so ONNX sees plain tensors."""

    def __init__(self, model: nn.Module, name: str, map_keys: list[str]):
        super().__init__()
        self.model, self.variant, self.map_keys = model, zoo.variant(name), map_keys

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        image, maps = self.variant.extract(self.model(x, **self.variant.forward_kwargs))
        return (image, *[maps[k] for k in self.map_keys])


def export_onnx(name: str, model: nn.Module, path: str | Path, batch: int = 1) -> Path:
    """Export `model` (a network of variant `name`) to `path`, dynamic in the batch dimension; written atomically."""
    import onnx

    v = zoo.variant(name)
    model = model.eval().cpu()
    faces = np.zeros((batch, v.lr_size, v.lr_size, 3), np.uint8)
    x = v.to_input(faces)
    with torch.no_grad():
        _, maps = v.extract(model(x, **v.forward_kwargs))
    keys = sorted(maps)
    wrapper = _ExportWrapper(model, name, keys).eval()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.export")
    torch.onnx.export(wrapper, x, str(tmp), input_names=["input"], output_names=["image", *keys],
                      dynamic_axes={n: {0: "batch"} for n in ["input", "image", *keys]},
                      opset_version=OPSET, dynamo=False)
    model.eval()  # the exporter restores the wrapper's training flag on the way out; keep the network in eval
    proto = onnx.load(str(tmp))
    tmp.unlink()
    meta = {"variant": name, "map_keys": json.dumps(keys), "value_range": json.dumps(list(v.value_range)),
            "weights": str(getattr(model, "weights_path", ""))}
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f"fsr_studio.{key}", value
    atomic_write(path, proto.SerializeToString())
    return path



def max_difference(name: str, model: nn.Module, path: str | Path, batch: int = 2, seed: int = 0) -> float:
    """Largest |ONNX - PyTorch| of the exported file `path` against `model` (variant `name`) on a fixed random batch
    of faces: the check an export passes before it is kept."""
    v = zoo.variant(name)
    faces = np.random.default_rng(seed).integers(0, 256, (batch, v.lr_size, v.lr_size, 3), dtype=np.uint8)
    x = v.to_input(faces)
    with torch.inference_mode():
        ref, _ = v.run(model, x)
    got, _ = v.run(OnnxModel(path), x)
    return float((ref - got).abs().max())

class OnnxModel:
    """An ONNX Runtime session that answers `Variant.run` like the PyTorch network it was exported from."""

    def __init__(self, path: str | Path, device: str | torch.device | None = None, threads: int | None = None):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such ONNX file (create it with `fsr-studio export-onnx`)")
        want_cuda = zoo.resolve_device(device).type == "cuda"
        available = ort.get_available_providers()
        providers = (["CUDAExecutionProvider"] if want_cuda and "CUDAExecutionProvider" in available else [])
        options = ort.SessionOptions()
        if threads:  # the same thread count as torch, so a measured comparison is on equal terms
            options.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(str(self.path), options,
                                                providers=providers + ["CPUExecutionProvider"])
        except Exception as exc:
            raise zoo.CheckpointError(f"{self.path}: not a loadable ONNX model ({exc})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        self.variant_name: str = meta.get("fsr_studio.variant", "")
        self.map_keys: list[str] = json.loads(meta.get("fsr_studio.map_keys", "[]"))
        self.weights_path = str(self.path)

    def run_extracted(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        outputs = self.session.run(None, {"input": x.detach().float().cpu().numpy()})
        image, *maps = (torch.from_numpy(o) for o in outputs)
        return image, dict(zip(self.map_keys, maps))

    def eval(self) -> "OnnxModel":  # the same calling convention as an nn.Module where the pipeline expects one
        return self

    def to(self, *_: Any, **__: Any) -> "OnnxModel":
        return self


def find_onnx(name: str) -> Path | None:
    return zoo.find_file([name], [".onnx"])


def load_onnx(name: str, path: str | Path | None = None, device: str | torch.device | None = None) -> OnnxModel:
    """The ONNX Runtime model of `name` from `path` or `<name>.onnx` in the model search folders."""
    path = Path(path) if path else find_onnx(name)
    if path is None:
        raise zoo.WeightsNotFound(f"no ONNX file for {name!r}: run `fsr-studio export-onnx -m {name} -o "
                                  f"{zoo.user_models_dir() / (name + '.onnx')}` first")
    model = OnnxModel(path, device)
    if model.variant_name and model.variant_name != name:
        raise zoo.CheckpointError(f"{path}: exported from {model.variant_name!r}, not {name!r}")
    return model
