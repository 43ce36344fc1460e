"""engine.settings.RestoreSettings: built and checked once, passed whole, changed by keyword for one call."""
from __future__ import annotations

import numpy as np
import pytest

from engine.restore import restore_photo
from engine.settings import RestoreSettings


@pytest.mark.parametrize("bad", [{"scale": 0.5}, {"scale": 17}, {"scale": "x"}, {"blend": 1.5}, {"mask": "round"},
                                 {"precision": "int4"}, {"batch_size": 0}, {"batch_size": True}])
def test_bad_values_fail_when_built(bad):
    with pytest.raises(ValueError):
        RestoreSettings(**bad)


def test_of_takes_the_given_options_over_the_base_and_refuses_unknown_ones():
    base = RestoreSettings(scale=4, tta=True)
    assert RestoreSettings.of(base) is base
    assert RestoreSettings.of(base, scale=None, blend=0.5) == RestoreSettings(scale=4, tta=True, blend=0.5)
    with pytest.raises(TypeError, match="unknown restore option"):
        RestoreSettings.of(base, sharpen=True)


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        RestoreSettings().scale = 3  # type: ignore[misc]


def test_restore_photo_follows_the_settings_it_is_given():
    photo = np.full((20, 30, 3), 120, np.uint8)  # no face: only the upscale and the provenance record remain
    settings = RestoreSettings(scale=3, blend=0.5, mask="landmarks", no_harm=False, detector="dlib")
    result = restore_photo(photo, [("fsrnet", _tiny())], settings=settings)
    assert result.image.shape == (60, 90, 3) and result.scale == 3.0
    assert {k: result.provenance["fsrnet"][k] for k in settings.record()} == settings.record()
    again = restore_photo(photo, [("fsrnet", _tiny())], 2, settings=settings)  # a keyword overrides for one call
    assert again.image.shape == (40, 60, 3) and again.provenance["fsrnet"]["blend"] == 0.5


def _tiny():
    from engine import zoo

    return zoo.build("fsrnet", width=8, prior_width=16, encoder_blocks=1, coarse_blocks=1, decoder_blocks=1,
                     stacks=1).eval()


def test_precision_names_a_runtime_path_and_infer_runs_it(monkeypatch, tmp_path):
    """`--precision onnxruntime` (any path engine.runtime_choice knows) runs that runtime; unknown or unavailable
    paths are refused when the settings are built, with the reason."""
    import numpy as np
    import pytest
    import torch

    from engine import runtime_choice as rc
    from engine import zoo
    from engine.infer import infer_faces
    from engine.settings import RestoreSettings

    pytest.importorskip("onnxruntime")
    assert RestoreSettings(precision="onnxruntime").precision == "onnxruntime"
    with pytest.raises(ValueError, match="precision must be auto"):
        RestoreSettings(precision="tpu")
    with monkeypatch.context() as m:
        m.setitem(rc.PATHS, "onnxruntime", rc.dataclasses.replace(rc.PATHS["onnxruntime"],
                                                                  missing=lambda: "not installed here"))
        with pytest.raises(ValueError, match="not installed here"):
            RestoreSettings(precision="onnxruntime")
    monkeypatch.setenv("FSR_STUDIO_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    name = "selfsr-degrader"
    model = zoo.build(name).eval()
    faces = rc.check_faces(zoo.variant(name).lr_size, 2)
    ort = infer_faces(name, model, faces, mode="onnxruntime", device="cpu")
    ref = infer_faces(name, model, faces, mode="fp32", device="cpu")
    assert ort.mode == "onnxruntime" and np.abs(ort.images.astype(int) - ref.images.astype(int)).max() <= 2
