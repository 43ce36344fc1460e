"""Every bundled weight file: loads through the zoo, matches its card's sha256, and does its job on real faces
(x8 models beat bicubic, HD models beat Lanczos under the blind degradation, blind restorers beat Lanczos in the
face-size benchmark at two sizes on 8 validation faces, a degrader keeps the face)."""
import json

import numpy as np
import pytest

from engine import metrics, zoo
from engine.evaluate import load_eval_set
from engine.infer import infer_faces
from engine.models.registry import pil_resize

BUNDLED = sorted(zoo.BUNDLED_DIR.glob("*.safetensors"))


def load_card_and_model(path):
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == zoo.sha256_of(path)
    for key in ("variant", "config", "parameters", "training", "validation", "licence"):
        assert key in card, f"{path.name}: model card lacks {key!r}"
    model = zoo.load(card["variant"], weights=path, device="cpu")
    assert zoo.parameter_count(model) == card["parameters"]
    return card, model


def check_x8(name, model, shared_data):
    data = load_eval_set(shared_data / "celeba_val128", limit=8)
    out = infer_faces(name, model, data.lr, device="cpu").images
    model_psnr = np.mean([metrics.psnr_y(o, h) for o, h in zip(out, data.hr)])
    bicubic_psnr = np.mean([metrics.psnr_y(pil_resize(lr, 128), h) for lr, h in zip(data.lr, data.hr)])
    assert model_psnr > bicubic_psnr, f"{name}: {model_psnr:.2f} dB does not beat bicubic {bicubic_psnr:.2f} dB"


def check_hd(name, model, card, shared_data):
    """The first 4 of the faces held out of training (the card's --val-split), degraded with the training seed."""
    from trainer.data import resolve_train_source, val_from_records
    from trainer.recipes.sparnet import lanczos_baseline

    held_out = int(card["training"]["val_split"])
    assert held_out > 0, f"{name}: the card does not say which faces were held out"
    records, _ = resolve_train_source(shared_data / "hd512")
    val = val_from_records(records[-held_out:], 512, 512, limit=4, degradation="blind",
                           seed=int(card["training"]["seed"]))
    out = infer_faces(name, model, val.lr, device="cpu").images
    model_psnr = np.mean([metrics.psnr_y(o, h) for o, h in zip(out, val.hr)])
    lanczos = lanczos_baseline(val, int(card["training"]["seed"]))["psnr_y"]
    assert model_psnr > lanczos, f"{name}: {model_psnr:.2f} dB does not beat Lanczos {lanczos:.2f} dB"


# Blind same-size restorers: validation data and two face sizes per crop protocol (celeba_val128 for the coarse 128
# crop; ffhq256's validation split, its last 200 faces by name, for the FFHQ 256 crop).
BLIND_CHECKS = {"coarse128": ("celeba_val128", None, (24, 64)), "ffhq256": ("ffhq256", 200, (128, 192))}
# restorers trained for large faces only are checked at sizes auto gives them
BLIND_SIZES = {"sparnet-blind-large": (64, 96),
               # the first fsrnet-blind gains +0.5-0.6 dB at 12-32 px on held-out faces, +0.3 at 48, none at 64
               "fsrnet-blind": (24, 48)}


def check_blind(name, model, shared_data):
    from engine import face_bench

    folder, tail, sizes = BLIND_CHECKS[zoo.variant(name).crop]
    sizes = BLIND_SIZES.get(name, sizes)
    faces = face_bench.load_faces(shared_data / folder, limit=8, tail=tail)
    report = face_bench.run(faces, [(name, model)], sizes, judge=False, device="cpu")
    for size in sizes:
        row = report["sizes"][str(size)]
        assert row[name]["psnr_y"] > row["lanczos"]["psnr_y"], (
            f"{name} at {size} px: {row[name]['psnr_y']:.2f} dB does not beat Lanczos {row['lanczos']['psnr_y']:.2f}")


def check_degrader(model, shared_data):
    """A degrader makes real-looking LR, but of the same face: it must change the clean LR, and not destroy it."""
    from engine.degrade import learned_uint8

    data = load_eval_set(shared_data / "celeba_val128", limit=8)
    clean = np.stack(data.lr)
    out = learned_uint8(clean, model)
    assert out.shape == clean.shape and not np.array_equal(out, clean)
    psnr = np.mean([metrics.psnr_y(o, c) for o, c in zip(out, clean)])
    assert psnr > 20.0, f"degraded faces are {psnr:.1f} dB from the clean LR: the face is not kept"


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_weights_card_and_quality(path, shared_data):
    card, model = load_card_and_model(path)
    name = card["variant"]
    v = zoo.variant(name)
    if v.task == "degrade":
        check_degrader(model, shared_data)
    elif v.lr_size == 16:
        check_x8(name, model, shared_data)
    elif v.crop in BLIND_CHECKS:
        check_blind(name, model, shared_data)
    else:
        check_hd(name, model, card, shared_data)


CARDS_WITH_BENCHMARK = [p for p in sorted(zoo.BUNDLED_DIR.glob("*.json"))
                        if "face_size_benchmark" in json.loads(p.read_text())]


@pytest.mark.parametrize("card_path", CARDS_WITH_BENCHMARK, ids=[p.stem for p in CARDS_WITH_BENCHMARK])
def test_card_benchmark_rows_agree_with_the_readme_reports(card_path):
    """The face-size rows in a card are the ones in the JSON report the README's tables come from (a rerun of the
    benchmark without `scripts/card_benchmark.py` would leave the card behind)."""
    from pathlib import Path

    from scripts.card_benchmark import rows_for

    root = Path(__file__).resolve().parents[2]
    card = json.loads(card_path.read_text())
    assert card["face_size_benchmark"], f"{card_path.name}: empty face_size_benchmark"
    for dataset, entry in card["face_size_benchmark"].items():
        report = json.loads((root / entry["report"]).read_text())
        assert Path(report["dataset"]).name == dataset and report["n"] == entry["faces"]
        assert rows_for(report, card["variant"]) == entry["sizes"], f"{card_path.name}: {dataset} rows are stale"
