"""int8 post-training quantisation of an exported ONNX model (ONNX Runtime's static QDQ quantiser, no new package).

Why: int8 convolutions with VNNI/AMX are the way past OpenVINO's f32 speed on CPUs without fast bf16. The QDQ file
runs on ONNX Runtime and on OpenVINO (which fuses the pairs into int8 kernels). Whether it keeps quality is not
assumed: engine.runtime_choice's accuracy gate decides, like for every other path. Calibration uses the chooser's
fixed face-like inputs (not the ones the gate checks on). Only convolutions are quantised, and the first and last
stay in float (they carry the image itself); that halved the PSNR cost on sparnet-light3d.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

import numpy as np

CALIBRATION_FACES = 8


def missing_reason() -> str | None:
    try:
        import onnxruntime.quantization  # noqa: F401
    except ImportError:
        return "onnxruntime (with its quantization tools) is not installed"
    return None


def _reader(batches: list[np.ndarray]) -> Any:
    """ONNX Runtime's CalibrationDataReader over the calibration inputs, one face at a time."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items: Iterator[dict[str, np.ndarray]] = iter([{"input": b} for b in batches])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    return Reader()


def calibration_inputs(name: str, n: int = CALIBRATION_FACES) -> list[np.ndarray]:
    from . import zoo
    from .runtime_choice import check_faces

    v = zoo.variant(name)
    faces = check_faces(v.lr_size, n, seed=1)  # not the faces the accuracy gate checks on
    return [v.to_input(faces[i:i + 1]).numpy() for i in range(n)]


def _edge_convolutions(path: Path) -> list[str]:
    import onnx

    convs = [n.name for n in onnx.load(str(path), load_external_data=False).graph.node
             if n.op_type in ("Conv", "ConvTranspose")]
    return convs[:1] + convs[-1:]


def quantize_int8(name: str, src: str | Path, dst: str | Path) -> Path:
    """Write the int8 (QDQ, per-channel weights) version of the ONNX file `src` of variant `name` to `dst`."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from .util import atomic_write

    src, dst = Path(src), Path(dst)
    tmp = dst.with_name(f".{dst.name}.int8")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs advice meant for its own developers
    try:
        quantize_static(str(src), str(tmp), _reader(calibration_inputs(name)), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=_edge_convolutions(src), op_types_to_quantize=["Conv", "ConvTranspose"])
    finally:
        root.setLevel(level)
    atomic_write(dst, tmp.read_bytes())
    tmp.unlink()
    return dst


def int8_runner(name: str, src: Path, kind: str, threads: int) -> Any:
    """An int8 model of the ONNX file `src` on OpenVINO ("openvino") or ONNX Runtime ("onnxruntime")."""
    dst = src.with_name(src.stem + "-int8.onnx")
    if not dst.is_file():
        quantize_int8(name, src, dst)
    if kind == "onnxruntime":
        from .onnx_runtime import OnnxModel

        return OnnxModel(dst, "cpu", threads=threads)
    from .openvino_runtime import OpenVinoModel
    from .runtime_choice import cache_dir

    return OpenVinoModel(dst, precision="f32", threads=threads, cache_dir=cache_dir() / "openvino")
