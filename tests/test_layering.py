"""The dependency rule (docs/architecture.md#dependency-rule): engine/ and trainer/ never import Qt or app/, engine/
never imports trainer/; the CLI loads Qt only for the GUI."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["engine", "trainer"])
def test_no_qt_imports_in_headless_packages(package):
    offenders = []
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names
                          if n.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "app")]
    assert not offenders


def test_engine_does_not_import_trainer():
    for path in (REPO / "engine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("trainer"):
                pytest.fail(f"{path}: engine must not depend on trainer")


def test_headless_command_does_not_load_qt():
    code = ("import sys; from app.cli import main; main(['models']); "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt loaded'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
