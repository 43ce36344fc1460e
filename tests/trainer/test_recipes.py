"""Every family's recipe trains 2 steps on tiny networks with finite losses, checkpoints and exports loadable weights;
SelFSR's stage schedule and the perceptual-loss fallbacks behave as documented."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import zoo
from trainer import perceptual
from trainer.loop import train
from trainer.recipes import recipes
from trainer.recipes.selfsr import stage_schedule

from .helpers import TINY, read_events, tiny_config, tiny_fsrnet_weights


@pytest.mark.parametrize("model", sorted(TINY))
def test_recipe_trains_two_steps_and_exports(model, faces_csv, val_dir, shared_data, tmp_path):
    spec = dict(TINY[model])
    options = dict(spec.pop("options", {}))
    if model == "selfsr-degrader":
        options["real_lr"] = str(val_dir / "LR_x8")
    if model == "fsrgan":
        spec["init"] = str(tiny_fsrnet_weights(tmp_path))
    data = faces_csv
    val = dict(val=str(val_dir), val_limit=2, final_val_limit=2)
    if model.startswith("sparnethd"):
        data = shared_data / "hd512"
        val = dict(val_split=2, final_val_limit=2)
    if "val_split" in spec:
        val = dict(val_split=spec.pop("val_split"), final_val_limit=2)
    run = tmp_path / "run"
    cfg = tiny_config(data, run, model=model, steps=2, options=options, **{**dict(batch=2), **spec, **val})
    ev = tmp_path / "ev.jsonl"
    assert train(cfg, str(ev)) == 0, read_events(ev)[-3:]
    events = read_events(ev)
    steps = [e for e in events if e["event"] == "step"]
    assert len(steps) == 2 and all(np.isfinite(v) for e in steps for v in e["losses"].values())
    finished = [e for e in events if e["event"] == "finished"][0]
    weights = Path(finished["weights"])
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["training"]["recipe"] == recipes()[model].name
    assert card["validation"]["images"] == 2
    if model in ("fsrgan", "sparnethd-lite", "sparnet-blind-gan"):
        assert "perceptual" in card["training"]
    net = zoo.load(model, weights=weights)  # exported through engine.zoo, spectral norm folded for HD
    assert sum(p.numel() for p in net.parameters()) == card["parameters"]
    payload = torch.load(run / "models" / "net_g_latest.pth", weights_only=True)
    assert {"params", "params_ema"} <= set(payload)
    if model in ("fsrgan", "sparnethd-lite", "sparnet-blind-gan", "selfsr-lite", "selfsr-degrader"):
        assert (run / "models" / "net_d_latest.pth").is_file()


def test_selfsr_schedule_scales_with_steps():
    # paper: 160 k iterations, growth at 20 k and 80 k, 10 k fade; start at x2 (stage 1), end at x8 (stage 3)
    assert stage_schedule(0, 160_000, 1, 3, [0.125, 0.5], 0.0625) == (1, 1.0)
    assert stage_schedule(20_000, 160_000, 1, 3, [0.125, 0.5], 0.0625) == (2, 0.0)
    assert stage_schedule(25_000, 160_000, 1, 3, [0.125, 0.5], 0.0625) == (2, 0.5)
    assert stage_schedule(80_000, 160_000, 1, 3, [0.125, 0.5], 0.0625) == (3, 0.0)
    assert stage_schedule(159_999, 160_000, 1, 3, [0.125, 0.5], 0.0625) == (3, 1.0)
    assert stage_schedule(100, 800, 1, 3, [0.125, 0.5], 0.0625) == (2, 0.0)  # scaled to a short run


def test_perceptual_vgg_file_and_fallbacks(tmp_path, monkeypatch):
    logs: list[str] = []
    loss = perceptual.build("fsrgan", (0.0, 1.0), log=logs.append)
    assert isinstance(loss, perceptual.GradientLoss) and "fallback" in logs[-1]
    x, y = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert loss(x, y) > 0 and loss(y, y) == 0
    # a torchvision-layout VGG-16 state_dict in the user models folder is found and used
    features = perceptual.vgg_features(16)
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)
    models_dir = Path(zoo.user_models_dir())
    models_dir.mkdir(parents=True, exist_ok=True)
    torch.save(state, models_dir / "vgg16-397923af.pth")
    loss = perceptual.build("fsrgan", (0.0, 1.0), log=logs.append)
    assert isinstance(loss, perceptual.VGGLoss) and "VGG-16 relu5_3" in logs[-1]
    assert loss(x, y) > 0
    # FSRNet prior features when FSRNet weights exist but no VGG-19 does
    weights = tiny_fsrnet_weights(tmp_path)
    loss = perceptual.build("sparnethd", (-1.0, 1.0), fsrnet_weights=weights, log=logs.append)
    assert isinstance(loss, perceptual.PriorFeatureLoss) and "FSRNet prior" in logs[-1]
    sr = torch.rand(1, 3, 128, 128, requires_grad=True)
    loss(sr, torch.rand(1, 3, 128, 128)).backward()
    assert sr.grad is not None and all(p.grad is None for p in loss.parameters())


def test_learned_degradation_feeds_the_degrader_output(faces_csv, tmp_path):
    """--degradation learned: the clean bicubic LR goes through a SelFSR degrader before it becomes the input."""
    from trainer.loop import Trainer, resolve_config

    degrader = zoo.build("selfsr-degrader", width=8, blocks=1)
    torch.nn.init.normal_(degrader.image_head.weight, 0, 0.5)  # a degrader that visibly changes its input
    weights = zoo.save_weights(degrader, tmp_path / "selfsr-degrader.safetensors", "selfsr-degrader", half=False)
    cfg = resolve_config(tiny_config(faces_csv, tmp_path / "run", degradation="learned",
                                     options={"degrader": str(weights)}))
    trainer = Trainer(cfg)
    trainer.setup()
    keys = trainer.loader().batch_sampler.keys(0)
    raw = torch.utils.data.default_collate([trainer.dataset[k] for k in keys])
    batch = trainer.recipe.to_device(raw)
    clean = raw["input"].float() / 255
    assert batch["input"].shape == clean.shape and (batch["input"].float() - clean).abs().mean() > 0.01
    assert trainer.recipe.facts["degrader"] == str(weights)
    assert np.isfinite(trainer.recipe.train_step(batch, 0)["total"])


@pytest.mark.parametrize("model,options,key", [
    ("selfsr-lite", {"adv_weight": 0}, "rec"),
    ("sparnethd-lite", {"adv_weight": 0, "fm_weight": 0, "perceptual_weight": 0}, "pixel"),
])
def test_zero_gan_weights_train_without_the_discriminator(model, options, key, faces_csv, shared_data, tmp_path):
    """PSNR-oriented runs (every GAN term weighted 0) skip the discriminator passes: the D never moves."""
    spec = dict(TINY[model])
    options = {**spec.pop("options", {}), **options}
    data, val = faces_csv, dict(val_split=2, final_val_limit=2)
    if model.startswith("sparnethd"):
        data = shared_data / "hd512"
    run = tmp_path / "run"
    cfg = tiny_config(data, run, model=model, steps=2, options=options, checkpoint_every=1,
                      **{**dict(batch=2), **spec, **val})
    ev = tmp_path / "ev.jsonl"
    assert train(cfg, str(ev)) == 0, read_events(ev)[-3:]
    steps = [e["losses"] for e in read_events(ev) if e["event"] == "step"]
    assert len(steps) == 2 and all(key in s and "d" not in s and np.isfinite(s[key]) for s in steps)
    states = sorted((run / "models").glob("net_d_*.pth"))
    first, last = (torch.load(p, weights_only=True)["params"] for p in (states[0], states[-1]))
    assert all(torch.equal(first[k], last[k]) for k in first)


def test_hd_lanczos_baseline_degrades_the_same_faces(shared_data):
    """The Lanczos baseline must start from exactly the degraded faces the model is validated on."""
    import cv2

    from engine.degrade import blind
    from engine.metrics import psnr_y
    from trainer.data import resolve_train_source, val_from_records
    from trainer.recipes.sparnet import lanczos_baseline

    records, _ = resolve_train_source(shared_data / "hd512")
    val = val_from_records(records[-3:], 512, 512, degradation="blind", seed=7)
    for i, (hr, lr) in enumerate(zip(val.hr, val.lr)):
        again = blind(hr, rng=np.random.default_rng([7, i]), upsample=cv2.INTER_CUBIC)
        np.testing.assert_array_equal(again, lr)
    base = lanczos_baseline(val, 7)
    cubic = np.mean([psnr_y(lr, hr) for lr, hr in zip(val.lr, val.hr)])
    assert 15 < base["psnr_y"] < 40 and abs(base["psnr_y"] - cubic) < 1.5 and 0 < base["ssim_y"] < 1
