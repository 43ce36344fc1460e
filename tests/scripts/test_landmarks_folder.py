"""scripts/landmarks_folder.py: aligned crops become a face-size benchmark folder (links + dlib landmarks)."""
from __future__ import annotations

import shutil

from scripts import landmarks_folder


def test_links_and_landmarks_the_benchmark_reads(shared_data, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in sorted(p.name for p in (shared_data / "hd512").glob("*.jpg"))[:2]:
        shutil.copyfile(shared_data / "hd512" / name, src / name)
    from PIL import Image
    Image.new("RGB", (64, 64), (128, 128, 128)).save(src / "flat.png")  # no face: left out, named
    before = sorted((p.name, p.stat().st_size) for p in src.iterdir())
    out = tmp_path / "out"
    assert landmarks_folder.main([str(src), "-o", str(out)]) == 0
    from engine.face_bench import load_faces

    faces = load_faces(out)
    assert len(faces.hr) == 2 and faces.landmarks.shape == (2, 68, 2) and faces.protocol == "ffhq"
    assert (out / "flat.png").exists() is False
    assert all(p.is_symlink() for p in out.iterdir() if p.suffix == ".jpg")
    assert sorted((p.name, p.stat().st_size) for p in src.iterdir()) == before  # the source is only read
    assert landmarks_folder.main([str(src), "-o", str(src)]) == 2
