"""scripts/holdout_folder.py: the faces a run held out (the last val_split rows of its CSV), as a flat folder the
face-size benchmark reads, made of links only."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from scripts import holdout_folder


def _dataset(root, names):
    rows = []
    for i, rel in enumerate(names):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(root / rel)
        rows.append(rel + "," + ",".join(f"{i}.5" for _ in range(136)))
    (root / "landmarks68.csv").write_text("\r\n".join(rows) + "\r\n")
    return rows


def test_links_the_last_rows_in_csv_order(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    rows = _dataset(data, ["utk/z.png", "lfw/b.png", "celeba/a.png", "celeba/c.png"])
    assert holdout_folder.main([str(data), "2", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png", "landmarks68.csv"]
    assert (out / "a.png").is_symlink() and (out / "a.png").resolve() == (data / "celeba/a.png").resolve()
    assert (out / "landmarks68.csv").read_text().splitlines() == [r.split("/", 1)[1] for r in rows[-2:]]
    assert (data / "landmarks68.csv").read_text().count("\n") == 4  # the source is untouched
    from engine.face_bench import load_faces

    assert load_faces(out).names == ["a", "c"]


def test_refuses_to_hold_out_everything_or_clash(tmp_path):
    data = tmp_path / "data"
    _dataset(data, ["x/a.png", "y/a.png"])
    with pytest.raises(SystemExit, match="cannot hold out 2"):
        holdout_folder.main([str(data), "2", "-o", str(tmp_path / "o1")])
    (tmp_path / "o2").mkdir()
    (tmp_path / "o2" / "a.png").write_text("not a link")
    with pytest.raises(SystemExit, match="already exists"):
        holdout_folder.main([str(data), "1", "-o", str(tmp_path / "o2")])
