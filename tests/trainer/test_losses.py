"""The loss terms of trainer.losses on tiny tensors with known values, and the recipe seam they are built through
(Recipe.attach: networks, then perceptual loss, then optimisers; no attribute appears later or from outside)."""
from __future__ import annotations

import math

import pytest
import torch

from trainer import losses
from trainer.config import TrainConfig
from trainer.precision import Precision
from trainer.recipes import recipes

from .helpers import TINY


def t(*rows: list[float]) -> torch.Tensor:
    """A 1 x 1 x H x W image from rows."""
    return torch.tensor([list(r) for r in rows])[None, None]


# ----- pixel terms -------------------------------------------------------------------------------------------------
def test_l1_and_mse_are_element_means_in_fp32():
    pred, target = t([1.0, -2.0], [3.0, 4.0]), torch.zeros(1, 1, 2, 2)
    assert losses.l1(pred, target).item() == 2.5
    assert losses.mse(pred, target).item() == 7.5
    low = losses.l1(pred.bfloat16(), target)
    assert low.dtype == torch.float32 and low.item() == 2.5


def test_cycle_l1_compares_the_downscaled_output_with_the_input():
    sr = torch.full((2, 3, 8, 8), 0.25)
    assert losses.cycle_l1(sr, torch.full((2, 3, 4, 4), 0.25)).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.cycle_l1(sr, torch.full((2, 3, 4, 4), 1.0)).item() == pytest.approx(0.75)
    sr.requires_grad_(True)
    losses.cycle_l1(sr, torch.zeros(2, 3, 4, 4)).backward()
    assert sr.grad is not None and sr.grad.abs().sum() > 0


def test_tv_l1_is_mean_horizontal_plus_mean_vertical_difference():
    assert losses.tv_l1(t([0.0, 1.0], [0.0, 1.0])).item() == 1.0  # only horizontal steps
    assert losses.tv_l1(t([0.0, 0.0], [2.0, 2.0])).item() == 2.0  # only vertical steps
    assert losses.tv_l1(t([0.0, 1.0, 3.0], [1.0, 1.0, 1.0])).item() == 0.75 + 1.0  # (1 + 2) / 4 + (1 + 0 + 2) / 3
    assert losses.tv_l1(torch.full((2, 2, 5, 5), 3.0)).item() == 0.0


# ----- adversarial terms -----------------------------------------------------------------------------------------
def test_bce_pair_matches_the_gan_log_likelihoods():
    zero = torch.zeros(4, 1)
    assert losses.bce(zero, 1.0).item() == pytest.approx(math.log(2))
    assert losses.bce_g(zero).item() == pytest.approx(math.log(2))  # D undecided
    assert losses.bce_d(zero, zero).item() == pytest.approx(2 * math.log(2))
    sure = torch.full((4, 1), 20.0)
    assert losses.bce_d(sure, -sure).item() == pytest.approx(0.0, abs=1e-8)  # D right on both
    assert losses.bce_g(-sure).item() == pytest.approx(20.0, rel=1e-6)  # non-saturating: large when D wins
    assert losses.bce_g(torch.zeros(2, 1, dtype=torch.bfloat16)).dtype == torch.float32


def test_hinge_terms():
    assert losses.hinge_g(torch.tensor([1.0, 3.0])).item() == -2.0
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.5])
    # real: relu(1 - 2) = 0, relu(1 - 0) = 1 -> 0.5; fake: relu(1 - 2) = 0, relu(1 + 0.5) = 1.5 -> 0.75
    assert losses.hinge_d(real, fake).item() == 1.25
    assert losses.hinge_d(torch.full((3,), 5.0), torch.full((3,), -5.0)).item() == 0.0  # beyond the margin


def test_feature_matching_sums_layers_averages_scales_and_stops_at_the_target():
    fake = [[torch.ones(1, 2, 2, 2, requires_grad=True), torch.zeros(1, 1, 2, 2, requires_grad=True)],
            [torch.full((1, 1, 1, 1), 3.0, requires_grad=True)]]
    real = [[torch.zeros(1, 2, 2, 2, requires_grad=True), torch.full((1, 1, 2, 2), 2.0, requires_grad=True)],
            [torch.ones(1, 1, 1, 1, requires_grad=True)]]
    fm = losses.feature_matching(fake, real)
    assert fm.item() == pytest.approx(((1.0 + 2.0) + 2.0) / 2)  # scale 1: 1 + 2, scale 2: 2; two scales
    fm.backward()
    assert all(f.grad is not None for scale in fake for f in scale)
    assert all(r.grad is None for scale in real for r in scale)


def test_r1_penalty_value_and_gradient_into_the_discriminator():
    w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)

    def d(y: torch.Tensor) -> torch.Tensor:  # a linear critic: grad_y D(y) = w for every image
        return (y.flatten(1) * w).sum(1)

    real = torch.randn(4, 3, requires_grad=True)
    r1 = losses.r1_penalty(d, real, gamma=10.0)
    assert r1.dtype == torch.float32 and r1.item() == pytest.approx(0.5 * 10.0 * 14.0)  # ||w||^2 = 14
    r1.backward()
    torch.testing.assert_close(w.grad, 10.0 * w.detach())  # d/dw (gamma / 2 ||w||^2) = gamma w
    assert real.grad is None  # the penalty is on a detached copy: no gradient into the images

    def quad(y: torch.Tensor) -> torch.Tensor:  # grad = 2 y per image
        return (y.flatten(1) ** 2).sum(1)

    y = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    assert losses.r1_penalty(quad, y, gamma=2.0).item() == pytest.approx((4.0 + 36.0) / 2)
    assert losses.r1_penalty(quad, y.bfloat16(), gamma=2.0).dtype == torch.float32


# ----- the recipe seam ---------------------------------------------------------------------------------------------
def make_recipe(model: str, tmp_path, options: dict | None = None, **fields):
    """A recipe built the way the loop builds it, for a tiny variant (tests.trainer.helpers.TINY)."""
    from engine import zoo

    spec = TINY.get(model, {})
    base = dict(model=model, data=str(tmp_path), run_dir=str(tmp_path / "run"), batch=2, lr=1e-4, optimizer="adam",
                steps=4, arch=dict(spec.get("arch", {})), options={**spec.get("options", {}), **(options or {})})
    cfg = TrainConfig(**{**base, **fields})
    log: list[str] = []
    recipe = recipes()[model](cfg, zoo.variant(model), Precision(torch.device("cpu"), False), log.append)
    return recipe, log


def test_attach_keeps_the_networks_then_builds_perceptual_then_optimizers(tmp_path):
    recipe, _ = make_recipe("sparnethd-lite", tmp_path)
    assert recipe.nets == {} and recipe.optimizers == {} and recipe.perceptual is None
    calls: list[str] = []
    build_perceptual, build_optimizers = recipe.build_perceptual, recipe.build_optimizers
    recipe.build_perceptual = lambda: calls.append("perceptual") or build_perceptual()  # type: ignore[method-assign]
    recipe.build_optimizers = lambda: calls.append("optimizers") or build_optimizers()  # type: ignore[method-assign]
    nets = recipe.build_networks()
    recipe.attach(nets)
    assert calls == ["perceptual", "optimizers"]  # the perceptual build draws from the RNG: its place is fixed
    assert recipe.nets is nets and set(recipe.optimizers) == {"g", "d"}
    params = {id(p) for p in nets["g"].parameters()}
    assert {id(p) for group in recipe.optimizers["g"].param_groups for p in group["params"]} == params
    assert recipe.perceptual is not None and not any(p.requires_grad for p in recipe.perceptual.parameters())
    assert recipe.facts["perceptual"] == recipe.perceptual.describe


def test_perceptual_weight_zero_builds_no_perceptual_network(tmp_path):
    recipe, _ = make_recipe("sparnethd-lite", tmp_path, {"perceptual_weight": 0})
    recipe.attach(recipe.build_networks())
    assert recipe.perceptual is None and recipe.facts["perceptual"].startswith("off")
    plain, _ = make_recipe("sparnet", tmp_path)
    plain.attach(plain.build_networks())
    assert plain.perceptual is None and set(plain.optimizers) == {"g"}


def test_fsrgan_knows_its_fsrnet_weights_from_construction(tmp_path):
    recipe, log = make_recipe("fsrgan", tmp_path)
    assert recipe.fsrnet_weights is None  # the isolated models folder holds none
    recipe.build_networks()
    assert recipe.facts["initialised_from"] is None and "training from scratch" in log[-1]
    given = str(tmp_path / "fsrnet.safetensors")
    assert make_recipe("fsrgan", tmp_path, init=given)[0].fsrnet_weights == given  # --init wins


def test_selfsr_final_stage_comes_from_the_attached_generator(tmp_path):
    recipe, _ = make_recipe("selfsr-lite", tmp_path)
    recipe.attach(recipe.build_networks())
    assert recipe.final_stage == 3 and recipe.schedule(recipe.cfg.steps) == (3, 1.0)
    shallow, _ = make_recipe("selfsr-lite", tmp_path, arch={"widths": [16, 16, 8], "gamma_hidden": 8})
    shallow.attach(shallow.build_networks())
    assert shallow.final_stage == 2 and shallow.schedule(shallow.cfg.steps) == (2, 1.0)


def test_degrader_needs_its_real_faces_loaded_first(tmp_path):
    recipe, _ = make_recipe("selfsr-degrader", tmp_path, {"real_lr": str(tmp_path)})
    assert recipe.real is None
    with pytest.raises(RuntimeError, match="check_data"):
        recipe.real_batch(0)


def test_trainer_setup_attaches_the_prepared_networks(faces_csv, tmp_path):
    """The loop hands the recipe its networks through attach(), after --init and the EMA copy; `channels_last`
    overrides the memory format (trainer.bench measures both)."""
    from trainer.loop import Trainer, resolve_config

    from .helpers import tiny_config

    trainer = Trainer(resolve_config(tiny_config(faces_csv, tmp_path / "run", fast=True)), channels_last=False)
    trainer.setup()
    recipe = trainer.recipe
    assert trainer.precision.fast and not trainer.precision.channels_last
    assert set(recipe.nets) == {"g"} and set(recipe.optimizers) == {"g"} and recipe.perceptual is None
    conv = next(m for m in recipe.nets["g"].modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
                and m.in_channels > 1)
    assert not conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert trainer.ema is not None and trainer.ema.model is not recipe.nets["g"]
