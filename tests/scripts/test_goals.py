"""scripts/goals.py: a face-size report checked against the real-photo goals, size by size."""
from __future__ import annotations

import json

from scripts import goals


def _row(psnr, identity, nrmse):
    return {"psnr_y": psnr, "ssim_y": 0.9, "identity": identity, "nrmse": nrmse}


REPORT = {"n": 3, "sizes": {
    "16": {"lanczos": _row(24.0, 0.90, 0.10), "auto": _row(24.6, 0.91, 0.08)},
    "64": {"lanczos": _row(30.0, 0.98, 0.05), "auto": _row(30.8, 0.97, 0.06)},
    "256": {"lanczos": _row(35.9, 0.99, 0.04), "auto": _row(35.8, 0.99, 0.04)},
}}


def test_goals_per_size():
    by_size = {c.size: c for c in goals.checks(REPORT, "auto")}
    assert by_size[16].psnr_met and by_size[16].identity_met and by_size[16].nrmse_met  # +0.6 against +0.5
    assert not by_size[64].psnr_met and not by_size[64].identity_met and not by_size[64].nrmse_met  # +1.0 asked
    assert not by_size[256].psnr_met and by_size[256].identity_met and by_size[256].nrmse_met  # ties count as met
    assert goals.checks(REPORT, "fsrnet") == []


def test_prints_every_size_and_the_sizes_below_lanczos(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(REPORT))
    assert goals.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "  16 px  PSNR-Y +0.60 dB (goal +0.5: met)" in out
    assert "  64 px  PSNR-Y +0.80 dB (goal +1.0: NOT met)  identity 0.9700 vs 0.9800 (NOT met)" in out
    assert "below Lanczos at: 256" in out


def test_markdown_table_names_what_is_missed(tmp_path, capsys):
    table = goals.markdown_table([("set (3 faces)", REPORT)]).splitlines()
    assert table[0] == goals.TABLE_HEADER and len(table) == 2 + 3
    assert table[2] == "| set (3 faces) | 16 px | +0.60 dB (+0.5) | 0.9100 (0.9000) | 0.0800 (0.1000) | met |"
    assert table[3].endswith("| not met: PSNR-Y, identity, NRMSE |")
    assert table[4].endswith("| not met: PSNR-Y |")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(REPORT))
    assert goals.main([str(path), "--markdown"]) == 0
    assert capsys.readouterr().out.splitlines()[2].startswith("| r (3 faces) | 16 px |")
