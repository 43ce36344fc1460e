"""ONNX export and the ONNX Runtime back end agree with PyTorch to 1e-3 through the same Variant.run interface."""
import numpy as np
import pytest
import torch

from engine import zoo
from engine.onnx_runtime import OnnxModel, export_onnx


# one variant per family (the lighter configurations of each builder keep the suite fast)
@pytest.mark.parametrize("name", ["fsrnet", "sparnet-light3d", "selfsr-lite", "selfsr-degrader"])
def test_export_and_run_match_pytorch(tmp_path, name):
    torch.manual_seed(0)
    model = zoo.build(name).eval()
    path = export_onnx(name, model, tmp_path / f"{name}.onnx")
    v = zoo.variant(name)
    x = v.to_input(np.random.default_rng(0).integers(0, 256, (3, v.lr_size, v.lr_size, 3), dtype=np.uint8))
    with torch.inference_mode():
        ref, ref_maps = v.run(model, x)
    got, got_maps = v.run(OnnxModel(path), x)
    assert got.shape == ref.shape
    assert float((got - ref).abs().max()) < 1e-3
    assert set(got_maps) == set(ref_maps)
    for key in ref_maps:
        assert float((got_maps[key] - ref_maps[key]).abs().max()) < 1e-3


def test_wrong_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(zoo.CheckpointError, match="not a loadable ONNX model"):
        OnnxModel(bad)
