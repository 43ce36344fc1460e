"""engine.export: the --save-faces files (cropped_faces/, restored_faces/, cmp/ strips)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from engine.degrade import pil_resize
from engine.export import save_faces
from engine.faces.align import align_face
from engine.restore import FaceResult


def _face() -> FaceResult:
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (400, 400, 3), dtype=np.uint8)
    five = np.array([[170, 180], [230, 180], [200, 210], [175, 240], [225, 240]], np.float32)
    face = FaceResult(index=0, box=(150.0, 150.0, 250.0, 260.0), score=1.0, landmarks5=five, landmarks68=None)
    for protocol in ("coarse128", "ffhq256"):
        face.crops[protocol] = align_face(photo, five, None, protocol)
    return face


def test_cmp_strip_shows_each_output_after_the_crop_it_was_made_from(tmp_path):
    """auto's HD output (FFHQ 256 crop) follows the FFHQ crop, not the 128 coarse crop it does not line up with."""
    face = _face()
    coarse, ffhq = face.crops["coarse128"].image, face.crops["ffhq256"].image
    face.outputs["sparnet-blind-large"] = np.full((128, 128, 3), 10, np.uint8)
    face.outputs["auto"] = np.full((256, 256, 3), 200, np.uint8)
    face.chosen["auto"] = "sparnethd-blind256"
    written = save_faces(tmp_path, "photo", [face], ["sparnet-blind-large", "auto"])
    strip = np.asarray(Image.open(tmp_path / "cmp" / "photo_00.png").convert("RGB"))
    assert strip.shape == (256, 4 * 256, 3)  # coarse crop, its output, FFHQ crop, the HD output (all at 256)
    tiles = [strip[:, k * 256:(k + 1) * 256] for k in range(4)]
    assert np.array_equal(tiles[2], ffhq) and np.all(tiles[3] == 200) and np.all(tiles[1] == 10)
    assert np.array_equal(tiles[0], pil_resize(coarse, 256))  # the coarse crop, enlarged to the strip's height
    assert {p.parent.name for p in written} == {"cropped_faces", "restored_faces", "cmp"}


def test_cmp_strip_of_models_on_one_protocol_has_one_crop(tmp_path):
    face = _face()
    face.outputs["sparnet-blind-large"] = np.full((128, 128, 3), 10, np.uint8)
    face.outputs["sparnet-blind-u"] = np.full((128, 128, 3), 20, np.uint8)
    save_faces(tmp_path, "photo", [face], ["sparnet-blind-large", "sparnet-blind-u"])
    assert Image.open(tmp_path / "cmp" / "photo_00.png").size == (3 * 128, 128)
