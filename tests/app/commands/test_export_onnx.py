"""`fsr-studio export-onnx`: the zoo's weights exported and found again by the runtime switch; no weights, no file."""
import pytest

from app.cli import main
from engine import zoo
from engine.onnx_runtime import OnnxModel


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
