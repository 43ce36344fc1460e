"""Every bundled weight file: loads through the zoo, matches its card's sha256, and beats bicubic on real faces."""
import json

import numpy as np
import pytest

from engine import metrics, zoo
from engine.evaluate import load_eval_set
from engine.infer import infer_faces
from engine.models.registry import pil_resize

BUNDLED = sorted(zoo.BUNDLED_DIR.glob("*.safetensors"))


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_weights_card_and_quality(path, shared_data):
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == zoo.sha256_of(path)
    for key in ("variant", "config", "parameters", "training", "validation", "licence"):
        assert key in card, f"{path.name}: model card lacks {key!r}"
    name = card["variant"]
    model = zoo.load(name, weights=path, device="cpu")
    assert zoo.parameter_count(model) == card["parameters"]
    v = zoo.variant(name)
    if v.task != "restore" or v.lr_size != 16:
        return  # the x8 quality check below needs celeba_val128's 16 px LR faces
    data = load_eval_set(shared_data / "celeba_val128", limit=8)
    out = infer_faces(name, model, data.lr, device="cpu").images
    model_psnr = np.mean([metrics.psnr_y(o, h) for o, h in zip(out, data.hr)])
    bicubic_psnr = np.mean([metrics.psnr_y(pil_resize(lr, 128), h) for lr, h in zip(data.lr, data.hr)])
    assert model_psnr > bicubic_psnr, f"{name}: {model_psnr:.2f} dB does not beat bicubic {bicubic_psnr:.2f} dB"
