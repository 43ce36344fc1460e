"""ONNX export and the ONNX Runtime back end agree with PyTorch to 1e-3 through the same Variant.run interface."""
import numpy as np
import pytest
import torch

from app.cli import main
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


def test_cli_export_uses_zoo_weights_and_runtime_switch(tmp_path, monkeypatch):
    models_dir = tmp_path / "models"
    monkeypatch.setenv(zoo.ENV_MODELS, str(models_dir))
    zoo.save_weights(zoo.build("fsrnet"), models_dir / "fsrnet.safetensors", "fsrnet")
    out = models_dir / "fsrnet.onnx"
    assert main(["export-onnx", "-m", "fsrnet", "-o", str(out)]) == 0
    onnx_model = zoo.load_runtime("fsrnet", runtime="onnx")
    assert isinstance(onnx_model, OnnxModel) and onnx_model.variant_name == "fsrnet"
    with pytest.raises(ValueError, match="unknown runtime"):
        zoo.load_runtime("fsrnet", runtime="tensorrt")


def test_cli_export_without_weights_fails_clearly(tmp_path, capsys):
    assert main(["export-onnx", "-m", "fsrnet", "-o", str(tmp_path / "x.onnx")]) == 1
    assert "no weights for 'fsrnet'" in capsys.readouterr().out
    assert not (tmp_path / "x.onnx").exists()


def test_wrong_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(zoo.CheckpointError, match="not a loadable ONNX model"):
        OnnxModel(bad)
