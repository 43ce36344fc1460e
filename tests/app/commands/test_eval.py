"""`fsr-studio eval` on 50 faces of celeba_val128: the JSON schema, the bicubic baseline and the markdown/plot."""
import json
import subprocess
import sys
from pathlib import Path

from app.cli import main
from engine import zoo

REPO = Path(__file__).resolve().parents[3]


def test_eval_command_on_50_faces(tmp_path, shared_data, monkeypatch):
    models_dir = tmp_path / "models"
    monkeypatch.setenv(zoo.ENV_MODELS, str(models_dir))
    zoo.save_weights(zoo.build("fsrnet"), models_dir / "fsrnet.safetensors", "fsrnet")
    out = tmp_path / "report.json"
    rc = main(["eval", "-m", "fsrnet", "--data", str(shared_data / "celeba_val128"), "--limit", "50",
               "--json", str(out), "--markdown", str(tmp_path / "r.md"), "--plot", str(tmp_path / "r.png")])
    assert rc == 0
    report = json.loads(out.read_text())
    assert report["n"] == 50 and set(report["models"]) == {"bicubic", "fsrnet"}
    bicubic = report["models"]["bicubic"]
    assert 22.5 < bicubic["psnr_y"] < 25.5  # ~23.7 dB for x8 bicubic on CelebA in the papers
    assert 0.55 < bicubic["ssim_y"] < 0.75
    assert 0 < bicubic["nrmse"] < 0.3 and 0.5 < bicubic["identity"] <= 1.0
    row = report["models"]["fsrnet"]
    for key in ("psnr_y", "ssim_y", "nrmse", "identity", "sec_per_face", "prior_nrmse"):
        assert isinstance(row[key], float)
    assert "| bicubic |" in (tmp_path / "r.md").read_text()
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_missing_folder_is_clear(tmp_path, capsys):
    assert main(["eval", "-m", "fsrnet", "--data", str(tmp_path / "nope")]) == 1
    assert "expected an HR/ folder" in capsys.readouterr().out


def test_plot_without_matplotlib_says_which_extra_before_evaluating(tmp_path):
    """matplotlib is the `plots` extra: --plot without it is refused at once with the install line, not an
    ImportError after the evaluation."""
    code = ("import sys; sys.modules['matplotlib'] = None; from app.cli import main; "
            f"sys.exit(main(['eval', '-m', 'fsrnet', '--data', {str(tmp_path / 'nope')!r}, "
            f"'--plot', {str(tmp_path / 'p.png')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert 'pip install "fsr-studio[plots]"' in proc.stdout and "Traceback" not in proc.stderr
