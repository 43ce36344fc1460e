"""The one command registry (app/commands): every command reachable as `fsr-studio <command>`, the benchmarks' child
processes run through it, and a missing optional extra (gui, detectors) is a clear message, not an ImportError."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.cli import build_parser
from app.commands import COMMANDS, self_command

REPO = Path(__file__).resolve().parents[3]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_help_lists_every_command(capsys):
    parser = build_parser()
    text = parser.format_help()
    for name in COMMANDS:
        assert name in text
    for name in ("enhance", "eval", "bench", "bench-pipeline", "train", "prepare", "train-bench", "gui"):
        args = parser.parse_args([name, "-i", "x"] if name == "enhance" else
                                 [name, "-m", "fsrnet", "--data", "x"] if name == "eval" else
                                 [name, "photos", "-o", "out"] if name == "prepare" else [name])
        assert args._module.__name__ == COMMANDS[name][0]


def test_children_and_the_trainer_start_fsr_studio_again():
    from app.training import trainer_command

    assert self_command() == [sys.executable, "-m", "app"] == trainer_command()


def test_gui_without_the_gui_extra_says_what_to_install():
    for argv in ([], ["gui"], ["photo.jpg"]):
        proc = _run("import sys; sys.modules['PySide6'] = None; from app.cli import main; "
                    f"sys.exit(main({argv!r}))")
        assert proc.returncode == 1, proc.stderr
        assert 'pip install "fsr-studio[gui]"' in proc.stderr and "Traceback" not in proc.stderr


def test_insightface_without_the_detectors_extra_says_what_to_install(tmp_path):
    model = tmp_path / "scrfd_500m_kps.onnx"
    model.write_bytes(b"\0")
    proc = _run("import sys; sys.modules['insightface'] = None; from engine.faces import detect\n"
                "try:\n"
                f"    detect.get_detector('insightface', {str(model)!r})\n"
                "except detect.DetectorUnavailable as exc:\n"
                "    print(exc)\n")
    assert proc.returncode == 0, proc.stderr
    assert 'pip install "fsr-studio[detectors]"' in proc.stdout


def test_commands_run_on_a_core_install_without_any_extra():
    """As after a plain `pip install .`: with the GUI, the optional detectors and matplotlib unimportable, every
    command module imports, the parser builds and a command runs."""
    blocked = ("PySide6", "shiboken6", "pyqtgraph", "matplotlib", "insightface")
    proc = _run(f"import sys; sys.modules.update(dict.fromkeys({blocked!r})); "
                "import importlib; from app.commands import COMMANDS; "
                "[importlib.import_module(m) for m, _ in COMMANDS.values()]; "
                "from app.cli import main; sys.exit(main(['models']))")
    assert proc.returncode == 0, proc.stderr
    assert "fsrnet" in proc.stdout
