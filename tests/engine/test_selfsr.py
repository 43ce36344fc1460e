"""SelFSR reconstruction: sizes, progressive stages and fade-in, identity degrader, discriminators, equalized LR.

Heavy checks use a narrow config with the paper's structure; the paper-size generator is built and run once.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from engine import zoo
from engine.models import selfsr
from engine.models.selfsr import (EqConv2d, EqLinear, FlowDegrader, FlowDegraderConfig, HRDiscriminator,
                                  LRDiscriminator, SelFSRConfig, SelFSRGenerator)

TINY = SelFSRConfig(widths=(16, 16, 8, 8), gamma_hidden=8)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def lr_batch(b: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, size, size, generator=g) * 2 - 1


@pytest.fixture(scope="module")
def tiny() -> SelFSRGenerator:
    torch.manual_seed(0)
    return SelFSRGenerator(TINY).eval()


# ----- sizes ------------------------------------------------------------------------------------------------------
def test_paper_generator_size_and_final_forward():
    torch.manual_seed(0)
    model = zoo.build("selfsr").eval()
    assert n_params(model) == 18_218_636  # docs/models.md#selfsr-generator
    with torch.no_grad():
        out = model(lr_batch(1))
    assert out.image.shape == (1, 3, 128, 128)
    assert torch.isfinite(out.image).all()
    assert [c.shape[-1] for c in out.conditions] == [16, 32, 64, 128]


def test_other_sizes():
    assert n_params(SelFSRGenerator(selfsr.LITE_CONFIG)) == 1_153_964
    assert n_params(FlowDegrader()) == 447_813
    assert n_params(LRDiscriminator()) == 1_249_921
    assert n_params(HRDiscriminator()) == 23_887_489


def test_variants_registered():
    v = zoo.variant("selfsr")
    assert (v.task, v.lr_size, v.hr_size, v.upsample_input, v.value_range, v.crop) == (
        "restore", 16, 128, False, (-1.0, 1.0), "coarse128")
    assert dict(v.forward_kwargs) == {}
    d = zoo.variant("selfsr-degrader")
    assert (d.task, d.lr_size, d.hr_size, d.upsample_input, d.value_range) == ("degrade", 16, 16, False, (-1.0, 1.0))
    assert "selfsr-lite" in zoo.names("restore") and "selfsr-degrader" in zoo.names("degrade")


# ----- generator: stages, fade, maps ----------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("stage,side", [(1, 32), (2, 64), (3, 128)])
def test_stage_shapes(tiny: SelFSRGenerator, batch: int, stage: int, side: int):
    with torch.no_grad():
        out = tiny(lr_batch(batch), stage=stage, alpha=0.5)
    assert out.image.shape == (batch, 3, side, side)
    assert len(out.conditions) == stage + 1
    assert out.conditions[-1].shape == (batch, 1, side, side)


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_fade_alpha_zero_is_upsampled_previous_stage(tiny: SelFSRGenerator, stage: int):
    x = lr_batch(2)
    with torch.no_grad():
        faded = tiny(x, stage=stage, alpha=0.0).image
        previous = tiny(x, stage=stage - 1, alpha=1.0).image
        full = tiny(x, stage=stage, alpha=1.0).image
        half = tiny(x, stage=stage, alpha=0.5).image
    up = F.interpolate(previous, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(faded, up)
    torch.testing.assert_close(half, 0.5 * full + 0.5 * up)
    assert not torch.allclose(full, up)


def test_default_stage_is_final_and_bad_arguments_raise(tiny: SelFSRGenerator):
    x = lr_batch(1)
    with torch.no_grad():
        torch.testing.assert_close(tiny(x).image, tiny(x, stage=3).image)
    with pytest.raises(ValueError):
        tiny(x, stage=4)
    with pytest.raises(ValueError):
        tiny(x, stage=2, alpha=1.5)


def test_extract_gives_condition_map_and_variant_run():
    v = zoo.variant("selfsr")
    torch.manual_seed(0)
    model = v.build(widths=TINY.widths, gamma_hidden=TINY.gamma_hidden).eval()
    with torch.no_grad():
        image, maps = v.run(model, lr_batch(2))
    assert image.shape == (2, 3, 128, 128) and 0 <= image.min() and image.max() <= 1
    assert maps["condition"].shape == (2, 1, 128, 128)


def test_gamma_starts_near_one(tiny: SelFSRGenerator):
    with torch.no_grad():
        conditions = tiny(lr_batch(2)).conditions
    for c in conditions:
        assert abs(c.mean().item() - 1.0) < 0.05 and c.std().item() < 0.1


@pytest.mark.parametrize("mode", ["one_plus", "one_plus_tanh"])
def test_gamma_modes_start_near_one(mode: str):
    torch.manual_seed(0)
    model = SelFSRGenerator(SelFSRConfig(widths=(8, 8), gamma_hidden=8, gamma_mode=mode)).eval()
    with torch.no_grad():
        gamma = model(lr_batch(1)).conditions[-1]
    assert abs(gamma.mean().item() - 1.0) < 0.05


def test_scb_has_no_beta_and_norm_is_parameter_free(tiny: SelFSRGenerator):
    block = tiny.levels[0].blocks[0]
    assert sum(p.numel() for p in block.norm.parameters()) == 0
    assert not any("beta" in name for name, _ in tiny.named_parameters())


def test_eval_mode_uses_running_stats():
    torch.manual_seed(0)
    model = SelFSRGenerator(SelFSRConfig(widths=(8, 8), gamma_hidden=8))
    x = lr_batch(4)
    model.train()
    with torch.no_grad():
        train_batch = model(x).image
        train_single = model(x[:1]).image
    assert not torch.allclose(train_batch[:1], train_single)  # batch statistics: depends on the other samples
    norm = model.levels[0].blocks[0].norm
    assert norm.num_batches_tracked.item() == 2 and not torch.allclose(norm.running_mean, torch.zeros_like(
        norm.running_mean))
    model.eval()
    with torch.no_grad():
        eval_batch = model(x).image
        eval_single = model(x[:1]).image
    torch.testing.assert_close(eval_batch[:1], eval_single)  # running statistics: per-sample
    assert norm.num_batches_tracked.item() == 2


def test_generator_backward_reaches_gamma_branch():
    torch.manual_seed(0)
    model = SelFSRGenerator(SelFSRConfig(widths=(8, 8), gamma_hidden=8)).train()
    model(lr_batch(2), stage=1, alpha=0.3).image.square().mean().backward()
    block = model.levels[1].blocks[1]
    assert block.gamma_out.weight.grad.abs().sum() > 0 and block.gamma_hidden.weight.grad.abs().sum() > 0


# ----- equalized learning rate ----------------------------------------------------------------------------------
def test_equalized_conv_scaling():
    torch.manual_seed(0)
    conv = EqConv2d(256, 256, 3)
    assert abs(conv.weight.std().item() - 1.0) < 0.01  # stored N(0, 1)
    assert conv.bias is not None and conv.bias.abs().sum() == 0
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(256 * 9))
    y = conv(torch.randn(2, 256, 12, 12))[..., 1:-1, 1:-1]  # interior: full fan-in
    assert y.std().item() == pytest.approx(math.sqrt(2), rel=0.1)  # output std ~ gain for unit-variance input


def test_equalized_linear_scaling():
    torch.manual_seed(0)
    fc = EqLinear(1024, 512, gain=1.0)
    assert abs(fc.weight.std().item() - 1.0) < 0.01
    assert fc.scale == pytest.approx(1 / 32)
    assert fc(torch.randn(64, 1024)).std().item() == pytest.approx(1.0, rel=0.1)


def test_generator_uses_equalized_layers_only(tiny: SelFSRGenerator):
    convs = [m for m in tiny.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert convs == []
    assert tiny.levels[0].to_rgb.scale == pytest.approx(1 / math.sqrt(16))  # ToRGB gain 1


# ----- degrader ---------------------------------------------------------------------------------------------------
def test_degrader_is_identity_at_init():
    torch.manual_seed(0)
    model = FlowDegrader()
    x = lr_batch(3)
    with torch.no_grad():
        noisy, flow, intermediate = model(x)
    assert noisy.shape == flow.shape[:1] + (3, 16, 16) and flow.shape == (3, 2, 16, 16)
    assert flow.abs().max() == 0
    torch.testing.assert_close(intermediate, x, atol=2e-3, rtol=0)
    torch.testing.assert_close(noisy, intermediate, atol=1e-5, rtol=0)


def test_degrader_noise_channel_and_extract():
    torch.manual_seed(0)
    v = zoo.variant("selfsr-degrader")
    model = v.build(noise_channel=True)
    assert model.head.in_channels == 4
    with torch.no_grad():
        image, maps = v.run(model, lr_batch(2))
    assert image.shape == (2, 3, 16, 16)
    assert maps["flow"].shape == (2, 2, 16, 16) and maps["intermediate"].shape == (2, 3, 16, 16)


def test_flow_warp_shifts_by_pixels():
    img = torch.arange(16.0).reshape(1, 1, 4, 4).expand(1, 3, 4, 4).contiguous()
    flow = torch.zeros(1, 2, 4, 4)
    flow[:, 0] = 1.0  # sample one pixel to the right
    out = selfsr.flow_warp(img, flow)
    torch.testing.assert_close(out[0, 0, :, :3], img[0, 0, :, 1:])
    torch.testing.assert_close(out[0, 0, :, 3], img[0, 0, :, 3])  # border padding


# ----- discriminators -------------------------------------------------------------------------------------------
def test_lr_discriminator_shape():
    assert LRDiscriminator()(lr_batch(2)).shape == (2, 1, 4, 4)


def test_hr_discriminator_stages_and_fade():
    torch.manual_seed(0)
    d = HRDiscriminator(width_div=16).eval()
    for stage, side in [(0, 16), (1, 32), (2, 64), (3, 128)]:
        for batch in (1, 4):
            assert d(lr_batch(batch, side), stage=stage, alpha=0.5).shape == (batch, 1)
    img = lr_batch(4, 64)
    with torch.no_grad():
        torch.testing.assert_close(d(img, stage=2, alpha=0.0), d(F.avg_pool2d(img, 2), stage=1))
    with pytest.raises(ValueError):
        d(img, stage=3)


def test_minibatch_stddev_channel():
    x = torch.randn(6, 5, 4, 4)
    y = selfsr.minibatch_stddev(x, group=4)  # 6 is not divisible by 4: groups of 3
    assert y.shape == (6, 6, 4, 4)
    expected = x.reshape(3, 2, 5, 4, 4).std(dim=0, unbiased=False).mean(dim=(1, 2, 3))
    torch.testing.assert_close(y[:2, -1, 0, 0], expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(y[2:4, -1, 0, 0], expected, atol=1e-4, rtol=1e-4)


def test_config_validation():
    with pytest.raises(ValueError):
        SelFSRConfig(gamma_mode="beta")
    with pytest.raises(ValueError):
        SelFSRConfig(blocks_per_level=0)
    with pytest.raises(ValueError):
        FlowDegrader(FlowDegraderConfig(image_residual="cubic"))
