"""scripts/screenshot.py under Xvfb (slow: it restores with full-size networks; `make test-slow` runs it)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ("main_window", "overlays", "compare", "before_after", "export", "model_manager", "settings")


@pytest.mark.slow
def test_screenshot_script_grabs_every_view_under_xvfb(shared_data, tmp_path):
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is missing: apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
                    "libxcb-render-util0 libxkbcommon-x11-0 libxcb-cursor0")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    out = tmp_path / "shots"
    cmd = [sys.executable, str(ROOT / "scripts" / "screenshot.py"), "--xvfb", "--demo-weights", "--finetune-steps",
           "0", "--photo", str(shared_data / "photos" / "group_small.jpg"), "--out", str(out), "--size", "1200x800"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import numpy as np
    from PIL import Image

    for name in VIEWS:
        image = Image.open(out / f"{name}.png")
        assert image.width >= 400 and image.height >= 200
        assert len(np.unique(np.asarray(image.convert("L").resize((64, 64))))) > 8, f"{name}.png is blank"
