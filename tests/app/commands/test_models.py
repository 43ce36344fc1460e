"""`fsr-studio models`: every variant with its parameter count."""
from engine import zoo


def test_models_command_lists_every_variant(capsys):
    from app.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in zoo.names():
        assert name in out
    assert "3,295,396" in out
