"""FSRNet/FSRGAN: the paper configuration's size, shapes and heads (docs/models.md#fsrnet-architecture)."""
import pytest
import torch

from engine import zoo
from engine.models.fsrnet import FSRGANDiscriminator, FSRNet, FSRNetConfig, heatmap_peaks, split_priors

# A small FSRNet (few blocks, narrow) for the behaviour tests; shapes and protocol do not depend on the width.
TINY = {"width": 8, "prior_width": 16, "hourglass_depth": 2, "coarse_blocks": 1, "encoder_blocks": 1,
        "decoder_blocks": 1}


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_paper_configuration_parameter_counts():
    net = FSRNet()
    assert count(net) == 3_295_396
    assert [count(getattr(net, n)) for n in ("coarse", "encoder", "prior", "decoder")] == [
        225_987, 928_192, 1_768_862, 372_355]


@pytest.mark.parametrize("stacks,total", [(1, 2_485_461), (4, 4_915_266)])
def test_hourglass_ablation_sizes(stacks, total):
    assert count(FSRNet(FSRNetConfig(stacks=stacks))) == total


def test_helen_and_feature_variants_sizes():
    assert count(FSRNet(FSRNetConfig(landmarks=194))) == 3_416_608
    assert count(FSRNet(FSRNetConfig(decoder_input="features"))) == 3_323_620


@pytest.mark.parametrize("batch", [1, 4])
def test_forward_shapes(batch):
    net = FSRNet().eval()
    with torch.inference_mode():
        out = net(torch.rand(batch, 3, 128, 128))
    assert out.coarse.shape == out.image.shape == (batch, 3, 128, 128)
    assert len(out.priors) == 2 and all(p.shape == (batch, 79, 64, 64) for p in out.priors)
    heat, parsing = split_priors(out.priors[-1], net.config)
    assert heat.shape[1] == 68 and parsing.shape[1] == 11


def test_discriminator_size_and_patch_output():
    d = FSRGANDiscriminator()
    assert count(d) == 2_768_705  # ~2.77 M, docs/models.md#fsrgan
    assert d(torch.rand(2, 3, 128, 128), torch.rand(2, 3, 128, 128)).shape == (2, 1, 14, 14)


def test_heatmap_peaks_recover_gaussian_centres():
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    centres = torch.tensor([[10.3, 20.0], [40.0, 33.6]])  # (x, y) in 64-grid pixels
    maps = torch.stack([torch.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 2) for cx, cy in centres])[None]
    pts = heatmap_peaks(maps, out_size=64)
    assert torch.allclose(pts[0], centres, atol=0.25)
    # in a 128 image the same points sit at twice the coordinates (pixel-centre convention)
    assert torch.allclose(heatmap_peaks(maps, 128)[0], (centres + 0.5) * 2 - 0.5, atol=0.5)


def test_fsrnet_variants_registered_with_protocol():
    for name in ("fsrnet", "fsrgan"):
        v = zoo.variant(name)
        assert (v.lr_size, v.hr_size, v.scale, v.value_range, v.crop) == (16, 128, 8, (0.0, 1.0), "coarse128")


def test_fsrnet_blind_is_fsrnet_with_an_input_skip():
    """fsrnet-blind: the 128 crop in, the same crop plus a correction out; FSRNet's weight shapes, so the x8 weights
    start it, and freshly built it is the identity (coarse and fine), so a face that needs little keeps its pixels."""
    v = zoo.variant("fsrnet-blind")
    assert (v.lr_size, v.hr_size, v.upsample_input, v.value_range, v.crop, v.same_size) == (
        128, 128, False, (0.0, 1.0), "coarse128", True)
    shapes = {k: t.shape for k, t in zoo.variant("fsrnet").build(**TINY).state_dict().items()}
    blind = v.build(**TINY).eval()
    assert {k: t.shape for k, t in blind.state_dict().items()} == shapes
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        out = blind(x)
    assert torch.equal(out.image, x) and torch.equal(out.coarse, x)


def test_fsrnet_blind_learns_a_correction_from_the_identity():
    """The zeroed last convs still get gradients (no ReZero gain stuck at 0): one step moves the output."""
    blind = zoo.variant("fsrnet-blind").build(**TINY)
    x, target = torch.rand(2, 3, 128, 128), torch.rand(2, 3, 128, 128)
    opt = torch.optim.Adam(blind.parameters(), lr=1e-3)
    torch.nn.functional.mse_loss(blind(x).image, target).backward()
    opt.step()
    blind.eval()
    with torch.no_grad():
        assert not torch.equal(blind(x).image, x)
