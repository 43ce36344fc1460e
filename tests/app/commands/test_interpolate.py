"""`fsr-studio interpolate`: refuses other architectures and writing over an input, writes a good blend."""
from __future__ import annotations

from app.cli import main as cli_main
from tests.engine.test_interpolate import _random_weights


def test_cli_refuses_other_architectures_and_overwriting_an_input(tmp_path, capsys):
    a = _random_weights("fsrnet", tmp_path / "a.safetensors", 1)
    b = _random_weights("fsrgan", tmp_path / "b.safetensors", 2)
    before = a.read_bytes()
    assert cli_main(["interpolate", str(a), str(b), "-m", "fsrgan", "--alpha", "0.5", "-o", str(a)]) == 2
    assert "refusing to write over" in capsys.readouterr().out and a.read_bytes() == before
    other = _random_weights("sparnet-light3d", tmp_path / "s.safetensors", 3)
    assert cli_main(["interpolate", str(a), str(other), "-m", "fsrgan", "--alpha", "0.5",
                     "-o", str(tmp_path / "bad.safetensors")]) == 2
    assert "does not fit" in capsys.readouterr().out and not (tmp_path / "bad.safetensors").exists()
    assert cli_main(["interpolate", str(a), str(b), "-m", "fsrgan", "--alpha", "0.5",
                     "-o", str(tmp_path / "ok.safetensors")]) == 0
    assert "wrote" in capsys.readouterr().out
