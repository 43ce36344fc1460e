"""The dependency rule (docs/architecture.md#dependency-rule): engine/ and trainer/ never import Qt or app/, engine/
never imports trainer/; engine/ and trainer/ are libraries without commands, every command lives in app/commands; the
CLI and the command modules load Qt only for the GUI."""
import ast
import importlib
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


QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph")
COMMAND_FILES = sorted((REPO / "app" / "commands").glob("*.py")) + [REPO / "app" / "cli.py"]


def _imports(tree: ast.AST, top_level_only: bool = False) -> list[str]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


@pytest.mark.parametrize("package", ["engine", "trainer"])
def test_libraries_import_nothing_from_app(package):
    offenders = [f"{path.relative_to(REPO)}: {name}" for path in (REPO / package).rglob("*.py")
                 for name in _imports(ast.parse(path.read_text(encoding="utf-8")))
                 if name == "app" or name.startswith("app.")]
    offenders += [f"{path.relative_to(REPO)}: relative import beyond the package"
                  for path in (REPO / package).rglob("*.py")
                  for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                  if isinstance(node, ast.ImportFrom) and node.level > len(path.relative_to(REPO).parts) - 1]
    assert not offenders


@pytest.mark.parametrize("package", ["engine", "trainer"])
def test_libraries_hold_no_commands(package):
    """No argument parsing, no `python -m` entry points, no cli_* modules: commands are app/commands' business."""
    offenders = []
    for path in (REPO / package).rglob("*.py"):
        rel = path.relative_to(REPO)
        text = path.read_text(encoding="utf-8")
        if path.name == "__main__.py" or path.name.startswith("cli"):
            offenders.append(f"{rel}: a command module")
        if "argparse" in _imports(ast.parse(text)):
            offenders.append(f"{rel}: imports argparse")
        if '__name__ == "__main__"' in text or "__name__ == '__main__'" in text:
            offenders.append(f"{rel}: has a __main__ block")
    assert not offenders


def test_command_modules_import_no_qt():
    """Command modules and the dispatcher never import Qt; at import time they do not even import the GUI modules
    (only the `gui` command does, inside its run)."""
    offenders = []
    for path in COMMAND_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{path.name}: {n}" for n in _imports(tree) if n.split(".")[0] in QT_MODULES]
        offenders += [f"{path.name}: {n} at import time" for n in _imports(tree, top_level_only=True)
                      if n.startswith(("app.ui", "app.main", "app.backend"))]
    assert not offenders


def test_every_command_module_is_registered_once():
    from app.commands import COMMANDS

    modules = {f"app.commands.{p.stem}" for p in (REPO / "app" / "commands").glob("*.py") if p.stem != "__init__"}
    registered = [module for module, _ in COMMANDS.values()]
    assert sorted(registered) == sorted(modules) and len(set(registered)) == len(registered)
    for module in registered:
        mod = importlib.import_module(module)
        assert callable(mod.add_arguments) and callable(mod.run), module


def test_command_modules_load_no_qt_in_a_fresh_process():
    """Importing the commands (enhance, eval, train and every other) and building the parser loads no Qt module."""
    code = ("import sys, importlib; from app.commands import COMMANDS; "
            "[importlib.import_module(f'app.commands.{m}') for m in ('enhance', 'eval', 'train')]; "
            "[importlib.import_module(m) for m, _ in COMMANDS.values()]; "
            "from app.cli import build_parser; build_parser(); "
            "bad = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'pyqtgraph', 'app.ui'))); "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


# ----- inside the app: views reach the engine only through the controller (issue #15 item 5) ---------------------------
# The app/ui modules that may call the backend (and so the engine): the controller, its job runner and the fine-tune
# dialog's process controller. Every other module under app/ui is a view: it talks to the controller (and reads the
# Qt-free models it exposes: app.session, app.settings, app.training, app.badges, app.overlays) only.
UI_NON_VIEWS = ("controller.py", "jobs.py", "training_process.py")
# The app's Qt-free models: the views subscribe to / read them; none may hold or import a Qt object.
APP_QT_FREE = ("session.py", "settings.py", "training.py", "training_run.py", "badges.py", "overlays.py", "backend")


def _absolute_imports(path: Path) -> list[str]:
    """Every module a file imports, relative imports resolved (``from .. import backend`` -> app, app.backend)."""
    package = path.relative_to(REPO).with_suffix("").parts[:-1]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            module = ".".join(filter(None, [base, node.module]))
            names += [module] + [f"{module}.{a.name}" for a in node.names]
    return names


def test_gui_views_import_no_engine_trainer_or_backend():
    views = [p for p in sorted((REPO / "app" / "ui").glob("*.py")) if p.name not in UI_NON_VIEWS]
    offenders = [f"{p.relative_to(REPO)}: {name}" for p in views for name in _absolute_imports(p)
                 if name.split(".")[0] in ("engine", "trainer") or name == "app.backend"
                 or name.startswith("app.backend.")]
    assert len(views) >= 10 and not offenders


def test_gui_views_neither_emit_controller_signals_nor_touch_jobs():
    import re

    pattern = re.compile(r"controller\.\w+\.emit\(|controller\.(runner|model_jobs)\b|\.signals\.\w+\.connect")
    offenders = [f"{p.relative_to(REPO)}: {m.group(0)}" for p in sorted((REPO / "app" / "ui").glob("*.py"))
                 if p.name not in UI_NON_VIEWS for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert not offenders


def test_app_models_import_no_qt():
    files = [p for name in APP_QT_FREE for p in ([REPO / "app" / name] if name.endswith(".py")
                                                 else sorted((REPO / "app" / name).rglob("*.py")))]
    offenders = [f"{p.relative_to(REPO)}: {n}" for p in files for n in _absolute_imports(p)
                 if n.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph")
                 or n.startswith("app.ui")]
    assert all(p.is_file() for p in files) and not offenders
