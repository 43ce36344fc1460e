"""Defaults that protect users: gentler learning rate when fine-tuning, no validation when a dataset holds none out."""
from pathlib import Path

import pytest

from trainer.config import TrainConfig
from trainer.data import resolve_train_source
from trainer.loop import FINE_TUNE_LR_FACTOR, resolve_config


def test_fine_tuning_starts_from_a_lower_learning_rate(tmp_path):
    scratch = resolve_config(TrainConfig(model="fsrnet", data=str(tmp_path)))
    tuned = resolve_config(TrainConfig(model="fsrnet", data=str(tmp_path), init=str(tmp_path / "w.safetensors")))
    explicit = resolve_config(TrainConfig(model="fsrnet", data=str(tmp_path), init="w.safetensors", lr=1e-3))
    assert tuned.lr == pytest.approx(scratch.lr * FINE_TUNE_LR_FACTOR)
    assert explicit.lr == 1e-3  # an explicit choice always wins


def test_prepared_dataset_with_empty_val_trains_without_validation(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    train = tmp_path / "train"
    train.mkdir()
    (train / "a.png").write_bytes(b"")  # listed, not read, by resolve_train_source
    (tmp_path / "val" / "HR").mkdir(parents=True)
    _, val = resolve_train_source(Path(tmp_path))
    assert val is None


def test_numeric_recipe_options_given_on_the_command_line_become_numbers():
    from trainer.config import parse_options
    from trainer.config import ConfigError
    from trainer.recipes import recipes

    fsrgan = recipes()["fsrgan"]
    opt = fsrgan.resolve_options(parse_options(["adv_weight=4e-4", "perceptual_weight=0.05"]))
    assert opt["adv_weight"] == pytest.approx(4e-4) and isinstance(opt["adv_weight"], float)
    assert opt["perceptual_weight"] == pytest.approx(0.05)
    with pytest.raises(ConfigError, match="adv_weight must be a number"):
        fsrgan.resolve_options(parse_options(["adv_weight=strong"]))


def test_fine_tuning_keeps_the_degradation_the_weights_were_trained_on(tmp_path):
    """A blind restorer fine-tuned without --degradation must not fall back to the papers' x8 protocol."""
    import json

    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"")  # only its card is read here
    weights.with_suffix(".json").write_text(json.dumps({"variant": "sparnet-blind-u",
                                                        "training": {"degradation": "photo_mild"}}))
    base = dict(model="sparnet-blind-u", data=str(tmp_path))
    assert resolve_config(TrainConfig(**base, init=str(weights))).degradation == "photo_mild"
    assert resolve_config(TrainConfig(**base, init=str(weights), degradation="blind")).degradation == "blind"
    assert resolve_config(TrainConfig(**base)).degradation == "bicubic8"  # from scratch: the recipe's default
    weights.with_suffix(".json").write_text(json.dumps({"training": {"degradation": "sharpen"}}))
    assert resolve_config(TrainConfig(**base, init=str(weights))).degradation == "bicubic8"  # unknown: ignored
