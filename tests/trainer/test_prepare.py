"""`prepare`: crops follow the coarse128 protocol, landmarks and parsing maps line up with the crops, filters are
counted, re-runs reuse cached detections, --aligned with a landmark CSV, and clear errors on bad folders."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main as cli_main
from trainer.data import read_landmark_csv, read_rgb, resolve_train_source
from trainer.prepare import PrepareOptions, prepare
from trainer.targets import parsing_label_map


@pytest.fixture(scope="module")
def photos(shared_data, tmp_path_factory) -> Path:
    """24 raw photos (symlinked, not copied) plus a blurred copy and an exact duplicate of one of them."""
    folder = tmp_path_factory.mktemp("photos")
    raw = sorted((shared_data / "raw_faces").iterdir())[::12][:24]
    for p in raw:
        (folder / p.name).symlink_to(p)
    img = read_rgb(str(raw[0]))
    cv2.imwrite(str(folder / "zz_blurred.png"), cv2.GaussianBlur(img, (0, 0), 4)[..., ::-1])
    cv2.imwrite(str(folder / "zz_duplicate.png"), img[..., ::-1])
    return folder


@pytest.fixture(scope="module")
def prepared(photos, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("dataset")
    return out, prepare(photos, out, PrepareOptions(val_fraction=0.25), log=lambda m: None)


def test_counts_and_layout(prepared):
    out, manifest = prepared
    c = manifest["counts"]
    assert c["images"] == 26 and c["blurry"] >= 1 and c["duplicate"] >= 1
    assert c["faces"] == c["kept"] + c["too_small"] + c["too_large"] + c["blurry"] + c["duplicate"]
    assert c["kept"] == c["train"] + c["val"] and c["train"] > 10 and c["val"] >= 1
    assert "zz_blurred_00.png" in manifest["counts"]["examples"]["blurry"]
    train = read_landmark_csv(out / "train" / "landmarks68.csv")
    val = read_landmark_csv(out / "val" / "landmarks68.csv")
    assert len(train) == c["train"] and len(val) == c["val"]
    assert sorted(p.name for p in (out / "val" / "HR").iterdir()) == sorted(Path(r.path).name for r in val)
    assert sorted(p.name for p in (out / "val" / "LR_x8").iterdir()) == sorted(Path(r.path).name for r in val)
    records, bundled_val = resolve_train_source(out)  # what `train --data DATASET` reads
    assert len(records) == c["train"] and bundled_val == out / "val"


def test_crops_landmarks_and_parsing_line_up(prepared):
    from engine.faces.detect import detect_faces

    out, _ = prepared
    records = read_landmark_csv(out / "train" / "landmarks68.csv")
    errors = []
    for rec in records[:8]:
        image = read_rgb(rec.path)
        assert image.shape == (128, 128, 3)
        lm = rec.landmarks
        # coarse128 protocol: the crop is centred on the landmark box, whose larger side is 128 / 1.25
        box = np.r_[lm.min(0), lm.max(0)]
        centre = (box[:2] + box[2:]) / 2
        assert np.abs(centre - 63.5).max() < 1.5, centre
        assert abs((box[2:] - box[:2]).max() - 128 / 1.25) < 2.0
        # the landmarks are where dlib finds them on the crop itself
        found = detect_faces(image)
        if found:
            best = min(found, key=lambda f: np.abs(f.landmarks68 - lm).mean())
            iod = np.linalg.norm(lm[36] - lm[45])
            errors.append(np.linalg.norm(best.landmarks68 - lm, axis=1).mean() / iod)
        # the parsing map is the one drawn from these landmarks
        label = cv2.imread(str(Path(rec.path).parent / "parsing" / Path(rec.path).name), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(label, parsing_label_map(lm, 128, supersample=1))
    assert len(errors) >= 5 and np.median(errors) < 0.08, errors


def test_rerun_reuses_detections_and_is_stable(prepared, photos):
    out, first = prepared
    second = prepare(photos, out, PrepareOptions(val_fraction=0.25), log=lambda m: None)
    assert second["counts"]["reused_detections"] == first["counts"]["images"] - first["counts"]["unreadable"]
    assert second["faces"] == first["faces"]
    # stricter filter on a re-run: fewer faces, and the folders follow the CSVs
    third = prepare(photos, out, PrepareOptions(val_fraction=0.25, min_face=150), log=lambda m: None)
    assert third["counts"]["too_small"] > 0 and third["counts"]["kept"] < first["counts"]["kept"]
    assert len(list((out / "train").glob("*.png"))) == third["counts"]["train"]
    prepare(photos, out, PrepareOptions(val_fraction=0.25), log=lambda m: None)  # restore for other tests


def test_aligned_folder_with_landmark_csv(shared_data, tmp_path):
    src = tmp_path / "aligned"
    src.mkdir()
    rows = (shared_data / "faces128" / "landmarks68.csv").read_text().splitlines()[1:7]
    lines = []
    for row in rows:
        rel, rest = row.split(",", 1)
        (src / Path(rel).name).symlink_to(shared_data / "faces128" / rel)
        lines.append(f"{Path(rel).name},{rest}")
    (tmp_path / "marks.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "ds"
    rc = cli_main(["prepare", str(src), "-o", str(out), "--aligned", "--landmarks", str(tmp_path / "marks.csv"),
                       "--val-fraction", "0", "--blur-threshold", "0"])
    assert rc == 0
    given = {Path(r.path).name: r.landmarks for r in read_landmark_csv(tmp_path / "marks.csv", src)}
    for rec in read_landmark_csv(out / "train" / "landmarks68.csv"):
        stem = Path(rec.path).name.rsplit("_", 1)[0]
        np.testing.assert_allclose(rec.landmarks, given[stem + ".jpg"], atol=0.01)
        assert np.array_equal(read_rgb(rec.path), read_rgb(str(src / (stem + ".jpg"))))


def test_bad_folders(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli_main(["prepare", str(empty), "-o", str(tmp_path / "o1")]) == 2
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.jpg").write_bytes(b"no image")
    (junk / "y.png").write_bytes(b"")
    ev = tmp_path / "ev.jsonl"
    assert cli_main(["prepare", str(junk), "-o", str(tmp_path / "o2"), "--events", str(ev)]) == 2
    counts = [json.loads(x) for x in ev.read_text().splitlines()][-1]["counts"]
    assert counts["unreadable"] == 2 and counts["kept"] == 0
    assert cli_main(["prepare", str(tmp_path / "nope"), "-o", str(tmp_path / "o3")]) == 2
