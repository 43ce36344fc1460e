"""Shared helpers of the trainer tests (tiny configs, manifests, event parsing)."""
from __future__ import annotations

import json
from pathlib import Path

from trainer.config import TrainConfig

# A tiny FSRNet (both hourglass stacks kept, so Eq. 4's two-stack supervision is exercised) that trains in ms/step.
TINY_FSRNET = {"width": 8, "prior_width": 16, "hourglass_depth": 2, "coarse_blocks": 1, "encoder_blocks": 1,
               "decoder_blocks": 1}


def write_manifest(shared_data: Path, out: Path, n: int, start: int = 0) -> Path:
    """A landmark CSV listing `n` faces128 images by absolute path (the 'manifest' form of a training source)."""
    root = shared_data / "faces128"
    lines = (root / "landmarks68.csv").read_text().splitlines()
    rows = [ln for ln in lines if ln and not ln.startswith("file,")][start:start + n]
    out.write_text("".join(f"{root / r.split(',', 1)[0]},{r.split(',', 1)[1]}\n" for r in rows))
    return out


def tiny_config(data: Path, run_dir: Path, **overrides) -> TrainConfig:
    base = dict(model="fsrnet", data=str(data), run_dir=str(run_dir), steps=4, batch=2, arch=dict(TINY_FSRNET),
                log_every=1, val_every=0, checkpoint_minutes=0, threads=1, seed=7)
    base.update(overrides)
    return TrainConfig(**base)


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def step_losses(events: list[dict]) -> dict[int, float]:
    return {e["step"]: e["losses"]["total"] for e in events if e["event"] == "step"}


# Tiny per-model settings for the recipe tests (each trains in a few seconds on one thread).
TINY = {
    "sparnet": dict(arch={"min_ch": 8, "max_ch": 16, "res_depth": 1}),
    "sparnet-light3d": dict(arch={"min_ch": 8, "max_ch": 16}),
    "sparnethd-lite": dict(arch={"min_ch": 4, "max_ch": 8}, batch=1,
                           options={"d_width": 4, "num_d": 2, "d_layers": 3}),
    "selfsr-lite": dict(arch={"widths": [16, 16, 8, 8], "gamma_hidden": 8}, options={"r1_every": 1}),
    "selfsr-degrader": dict(arch={"width": 8, "blocks": 1}),
    "fsrgan": dict(arch=dict(TINY_FSRNET)),
    # The blind 128 restorers train on the photo degradation with a held-out split of the training faces.
    "fsrnet-blind": dict(arch=dict(TINY_FSRNET), degradation="photo", val_split=2),
    "sparnet-blind": dict(arch={"min_ch": 8, "max_ch": 16}, degradation="photo_mild", val_split=2),
    # The sharper option: the HD recipe's GAN terms on a blind 128 restorer (the generator without spectral norm,
    # as it is fine-tuned from PSNR weights that have none).
    "sparnet-blind-gan": dict(arch={"min_ch": 8, "max_ch": 16}, degradation="photo", val_split=2,
                              options={"d_width": 4, "num_d": 2, "d_layers": 3, "spectral_g": False}),
}


def tiny_fsrnet_weights(tmp_path: Path) -> Path:
    """A tiny untrained FSRNet exported like a real one (an --init for FSRGAN / a perceptual fallback)."""
    from engine import zoo

    model = zoo.build("fsrnet", **TINY_FSRNET)
    return zoo.save_weights(model, tmp_path / "fsrnet.safetensors", "fsrnet", half=False)
