"""SPARNet / SPARNetHD: exact released architecture (counts, official key grammar), shapes, spectral-norm folding.

Counting and key checks build on the meta device (no memory, no compute) so the 85-90 M HD models cost ~1 s each.
The key grammar below is written out independently from docs/models.md#sparnet-block-tables and
docs/models.md#sparnet-checkpoints (block tables copied from there, not derived from engine code), so a builder slip
shows up as a key or shape difference.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import zoo
from engine.models.sparnet import (
    MultiScaleDiscriminator, SPARNet, SPARNetConfig, SPARNetOutput, add_legacy_spectral_norm,
)

# (prefix, c_in, c_out, scale, hourglass depth) - docs/models.md#sparnet-block-tables
X8_BLOCKS = [
    ("encoder.1", 32, 64, "down", 4), ("encoder.2", 64, 128, "down", 3), ("encoder.3", 128, 128, "down", 2),
    *[(f"res_layers.{j}", 128, 128, "none", 2) for j in range(10)],
    ("decoder.0", 128, 128, "up", 3), ("decoder.1", 128, 64, "up", 4), ("decoder.2", 64, 32, "up", 5),
]
LIGHT_BLOCKS = [b for b in X8_BLOCKS if not b[0].startswith("res_layers.") or b[0] == "res_layers.0"]
HD_BLOCKS = [
    ("encoder.1", 102, 204, "down", 4), ("encoder.2", 204, 408, "down", 3), ("encoder.3", 408, 512, "down", 2),
    ("encoder.4", 512, 512, "down", 1),
    *[(f"res_layers.{j}", 512, 512, "none", 1) for j in range(9)],
    ("decoder.0", 512, 512, "up", 2), ("decoder.1", 512, 408, "up", 3), ("decoder.2", 408, 204, "up", 4),
    ("decoder.3", 204, 102, "up", 5),
]
# name -> (blocks, n0, norm, 3-D attention, parameters, plain state_dict entries)
OFFICIAL = {
    "sparnet": (X8_BLOCKS, 32, "bn", False, 10_518_867, 1154),
    "sparnet-light3d": (LIGHT_BLOCKS, 32, "bn", True, 5_242_211, 605),
    "sparnethd": (HD_BLOCKS, 102, "in", False, 85_793_412, 538),
    "sparnethd-3d": (HD_BLOCKS, 102, "in", True, 90_093_793, 538),
}


def official_grammar(name: str, spectral: bool) -> dict[str, tuple[int, ...]]:
    """key -> shape of the released checkpoint (docs/models.md#sparnet-checkpoints); spectral=True: HD SN triples."""
    blocks, n0, norm_kind, att3d, _, _ = OFFICIAL[name]
    keys: dict[str, tuple[int, ...]] = {}

    def conv(prefix: str, c_out: int, c_in: int, bias: bool) -> None:
        if spectral:
            keys[f"{prefix}.conv2d.weight_orig"] = (c_out, c_in, 3, 3)
            keys[f"{prefix}.conv2d.weight_u"] = (c_out,)
            keys[f"{prefix}.conv2d.weight_v"] = (c_in * 9,)
        else:
            keys[f"{prefix}.conv2d.weight"] = (c_out, c_in, 3, 3)
        if bias:
            keys[f"{prefix}.conv2d.bias"] = (c_out,)

    def norm(prefix: str, c: int) -> None:
        keys[f"{prefix}.weight"] = keys[f"{prefix}.bias"] = (c,)
        if norm_kind == "bn":
            keys[f"{prefix}.running_mean"] = keys[f"{prefix}.running_var"] = (c,)
            keys[f"{prefix}.num_batches_tracked"] = ()

    def normed_conv(prefix: str, c_out: int, c_in: int) -> None:
        conv(prefix, c_out, c_in, bias=False)
        norm(f"{prefix}.norm.norm", c_out)

    conv("encoder.0", n0, 3, bias=True)
    for p, c_in, c_out, scale, depth in blocks:
        if scale != "none":
            conv(f"{p}.shortcut_func", c_out, c_in, bias=True)
        norm(f"{p}.preact_func.0.norm", c_in)
        normed_conv(f"{p}.conv1", c_out, c_in)
        normed_conv(f"{p}.conv2", c_out, c_out)
        for level in range(depth, 0, -1):
            for b in ("b1", "b2"):
                normed_conv(f"{p}.att_func.{b}_{level}", 64, c_out if level == depth else 64)
        for b in ["b2_plus_1"] + [f"b3_{level}" for level in range(1, depth + 1)]:
            normed_conv(f"{p}.att_func.{b}", 64, 64)
        conv(f"{p}.att_func.out_block.0", c_out if att3d else 1, 64, bias=True)
    conv("out_conv", 3, blocks[-1][2], bias=True)
    return keys


def meta_build(name: str, spectral: bool = False) -> torch.nn.Module:
    with torch.device("meta"):
        model = zoo.build(name)
        return add_legacy_spectral_norm(model) if spectral else model


def shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ----- exact architecture -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(OFFICIAL))
def test_parameter_count_and_key_grammar(name):
    _, _, _, _, params, entries = OFFICIAL[name]
    model = meta_build(name)
    assert zoo.parameter_count(model) == params
    assert len(model.state_dict()) == entries
    got, want = shapes(model), official_grammar(name, spectral=False)
    assert sorted(set(got) ^ set(want)) == []
    assert {k: s for k, s in got.items() if want[k] != s} == {}


@pytest.mark.parametrize("name", ["sparnethd", "sparnethd-3d"])
def test_hd_spectral_norm_keys_match_official_files_and_fold_to_plain(name):
    sn = meta_build(name, spectral=True)
    state = sn.state_dict()
    assert len(state) == 892
    assert shapes(sn) == official_grammar(name, spectral=True)
    assert state["encoder.1.conv2.conv2d.weight_v"].shape == (1836,)
    assert state["res_layers.0.att_func.b1_1.conv2d.weight_orig"].shape == (64, 512, 3, 3)
    folded = zoo.fold_spectral_norm(dict(state))  # what zoo.read_state_dict does to an official HD file
    assert {k: tuple(v.shape) for k, v in folded.items()} == shapes(meta_build(name))


def test_lite_variant_is_small_and_uses_the_hd_protocol():
    v = zoo.variant("sparnethd-lite")
    assert zoo.parameter_count(meta_build("sparnethd-lite")) < 5_000_000
    assert (v.config.in_size, v.config.out_size, v.config.norm) == (512, 512, "in")
    assert (v.lr_size, v.hr_size, v.upsample_input, v.crop) == (512, 512, False, "ffhq512")


def test_input_skip_starts_as_the_identity_and_only_lite_uses_it():
    import dataclasses

    assert [n for n in ("sparnet", "sparnet-light3d", "sparnethd", "sparnethd-lite")
            if zoo.variant(n).config.input_skip] == ["sparnethd-lite"]
    cfg = dataclasses.replace(zoo.variant("sparnethd-lite").config, in_size=64, out_size=64, min_feat_size=16)
    net = SPARNet(cfg).eval()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(net(x).image, x)
    trained = add_legacy_spectral_norm(SPARNet(cfg)).train()  # as the trainer runs it (official spectral_g)
    out = trained(x).image
    out.abs().sum().backward()
    assert torch.equal(out, x) and trained.skip_gain.grad.abs().item() > 0
    assert all(torch.isfinite(p.grad).all() for p in trained.parameters() if p.grad is not None)
    with pytest.raises(ValueError, match="input_skip"):
        SPARNetConfig(in_size=16, out_size=128, input_skip=True)


def test_unet_skips_start_as_the_net_they_extend_and_train():
    """sparnet-blind-u = sparnet-blind + zeroed U-Net skip branches: with sparnet-blind's weights copied in, the two
    give the same output; one optimiser step on a pixel loss switches the skips on."""
    import dataclasses

    small = dict(min_ch=8, max_ch=16, in_size=32, out_size=32, min_feat_size=8, bottleneck_size=16)
    base_cfg = dataclasses.replace(zoo.variant("sparnet-blind").config, **small)
    unet_cfg = dataclasses.replace(zoo.variant("sparnet-blind-u").config, **small)
    assert unet_cfg.unet_skips and not base_cfg.unet_skips
    base, unet = SPARNet(base_cfg).eval(), SPARNet(unet_cfg).eval()
    with torch.no_grad():  # a trained-looking base: a non-zero last conv
        base.out_conv.conv2d.weight.normal_(0, 0.02)
    missing = unet.load_state_dict(base.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("skips.") for k in missing)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(unet(x).image, base(x).image) and not torch.equal(base(x).image, x)
    unet.train()
    opt = torch.optim.Adam(unet.parameters(), 1e-3)
    for _ in range(2):  # the first step moves only the last conv of each branch, the second the whole branch
        opt.zero_grad()
        (unet(x).image - x.flip(-1)).abs().mean().backward()
        opt.step()
    assert all(branch.body[0].conv2d.weight.grad.abs().sum() > 0 for branch in unet.skips)
    unet.eval()
    with torch.no_grad():
        assert not torch.equal(unet(x).image, base(x).image)
    with pytest.raises(ValueError, match="unet_skips"):
        SPARNetConfig(in_size=16, out_size=128, unet_skips=True)


def test_blind_256_shares_the_blind_128_weight_shapes():
    """sparnethd-blind256 is sparnet-blind-u at 256 (one more pixel per feature): weights move between them."""
    assert shapes(meta_build("sparnethd-blind256")) == shapes(meta_build("sparnet-blind-u"))
    v = zoo.variant("sparnethd-blind256")
    assert (v.lr_size, v.hr_size, v.upsample_input, v.crop) == (256, 256, False, "ffhq256")


def test_blind_256_restores_large_faces_at_their_own_resolution():
    """Trained on 128 px patches, the HD blind restorer takes any side that is a multiple of 8 up to 512: a face
    larger than its 256 crop keeps its pixels (Variant.input_side); fixed-size variants stay fixed."""
    v = zoo.variant("sparnethd-blind256")
    assert (v.native_max, v.native_multiple) == (512, 8)
    assert [v.input_side(px) for px in (90.0, 256.0, 257.0, 301.5, 512.0, 900.0)] == [256, 256, 264, 304, 512, 512]
    assert v.accepts(256) and v.accepts(304) and not v.accepts(300) and not v.accepts(520) and not v.accepts(248)
    torch.manual_seed(0)
    net = zoo.build("sparnethd-blind256", min_ch=8, max_ch=16, res_depth=1).eval()
    faces = [np.full((304, 304, 3), 120, np.uint8)] * 2
    with torch.no_grad():
        image, _ = v.run(net, v.to_input(faces))
    assert image.shape == (2, 3, 304, 304)
    with pytest.raises(ValueError, match="multiple of 8 up to 512"):
        v.to_input([np.zeros((300, 300, 3), np.uint8)])
    with pytest.raises(ValueError, match="one input size per batch"):
        v.to_input([np.zeros((256, 256, 3), np.uint8), np.zeros((304, 304, 3), np.uint8)])
    x8 = zoo.variant("sparnet-light3d")
    assert x8.native_max == 0 and x8.input_side(300.0) == 16 and not x8.accepts(128)


def test_registered_variants():
    files = {"sparnet": "SPARNet-V16-S4-epoch20.pth", "sparnet-light3d": "SPARNetLight_Attn3D-epoch20.pth",
             "sparnethd": "SPARNetHD_V4_Attn2D_net_H-epoch10.pth",
             "sparnethd-3d": "SPARNetHD_V4_Attn3D_net_H-epoch10.pth"}
    for name, file in files.items():
        v = zoo.variant(name)
        assert v.official_file == file and v.family == "sparnet" and v.value_range == (-1.0, 1.0)
        assert "CC BY-NC-SA 4.0" in v.licence
        x8 = not name.startswith("sparnethd")
        assert (v.lr_size, v.hr_size, v.upsample_input, v.crop) == (
            (16, 128, True, "coarse128") if x8 else (512, 512, False, "ffhq512"))


def test_config_validation():
    with pytest.raises(ValueError):
        SPARNetConfig(norm="gn")
    with pytest.raises(ValueError):
        SPARNetConfig(att="spar4d")
    with pytest.raises(ValueError):
        SPARNetConfig(in_size=100)  # not a power-of-two multiple of min_feat_size
    with pytest.raises(ValueError):
        SPARNetConfig(in_size=512, out_size=512, min_feat_size=16, res_depth=0)  # negative middle FAU count


# ----- forward ------------------------------------------------------------------------------------------------------
def check_output(out: SPARNetOutput, batch: int, size: int) -> None:
    assert isinstance(out, SPARNetOutput)
    assert out.image.shape == (batch, 3, size, size) and torch.isfinite(out.image).all()
    assert out.attention.shape == (batch, 1, size, size)
    assert 0.0 <= float(out.attention.min()) and float(out.attention.max()) <= 1.0


@pytest.mark.parametrize("batch", [1, 4])
def test_sparnet_forward(batch):
    torch.manual_seed(0)
    with torch.no_grad():
        check_output(zoo.build("sparnet").eval()(torch.randn(batch, 3, 128, 128)), batch, 128)


def test_light3d_forward_and_3d_attention_width():
    model = zoo.build("sparnet-light3d").eval()
    with torch.no_grad():
        check_output(model(torch.randn(1, 3, 128, 128)), 1, 128)
        _, att = model.decoder[-1].forward_with_attention(torch.randn(1, 64, 64, 64))
    assert att.shape == (1, 32, 128, 128)  # one map per channel (3-D attention)


def test_hd_builder_at_512_and_real_hd_at_small_inputs():
    """One 512 forward with the lite HD model; the fully convolutional 86 M model on 128 (batch 1) and 64 (batch 4)."""
    with torch.no_grad():
        check_output(zoo.build("sparnethd-lite").eval()(torch.randn(1, 3, 512, 512)), 1, 512)
        hd = zoo.build("sparnethd").eval()
        check_output(hd(torch.randn(1, 3, 128, 128)), 1, 128)
        check_output(hd(torch.randn(4, 3, 64, 64)), 4, 64)


@pytest.mark.slow
def test_real_hd_forward_at_512():  # ~25 s on one CPU thread
    with torch.no_grad():
        check_output(zoo.build("sparnethd").eval()(torch.randn(1, 3, 512, 512)), 1, 512)


def test_variant_run_gives_image_and_attention_map():
    v = zoo.variant("sparnet")
    faces = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    with torch.no_grad():
        image, maps = v.run(v.build().eval(), v.to_input(faces))
    assert image.shape == (2, 3, 128, 128) and 0 <= float(image.min()) and float(image.max()) <= 1
    assert maps["attention"].shape == (2, 1, 128, 128)


# ----- spectral norm: official HD files -> plain convs ---------------------------------------------------------
def test_spectral_norm_checkpoint_loads_into_plain_model_with_identical_output(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    sn = add_legacy_spectral_norm(zoo.build("sparnethd-lite"))
    with torch.no_grad():
        for n, p in sn.named_parameters():  # non-trivial norm affines and biases (conv weights stay N(0, 0.02))
            if not n.endswith("weight_orig"):
                p.add_(0.1 * torch.randn_like(p))
        for _ in range(3):  # power iterations: u/v move off their random start, as in a trained file
            sn.train()(x)
        want = sn.eval()(x).image
    state = sn.state_dict()
    assert any(k.endswith(".conv2d.weight_orig") for k in state)
    assert not any(k.endswith(".conv2d.weight") for k in state)
    path = tmp_path / "lite_sn.pth"
    torch.save(state, path)
    plain = zoo.load_state_into(zoo.build("sparnethd-lite"), path).eval()
    with torch.no_grad():
        got = plain(x).image
    # zoo folds in float64, so not bit-exact (a float32 fold gives 0.0 here): ~2e-5 on outputs of magnitude ~5,
    # i.e. float32 rounding amplified by the instance norms. Judge it against the output range.
    assert float((got - want).abs().max()) <= 1e-5 * float(want.abs().max())


# ----- discriminator --------------------------------------------------------------------------------------------
def test_multiscale_discriminator():
    with torch.device("meta"):
        d = MultiScaleDiscriminator()
        assert zoo.parameter_count(d) == 11_750_403
        assert [zoo.parameter_count(n) for n in d.D_pool] == [3_916_801] * 3
        assert zoo.parameter_count(MultiScaleDiscriminator(spectral=True)) == 11_750_403
    torch.manual_seed(0)
    with torch.no_grad():
        results = MultiScaleDiscriminator().eval()(torch.randn(1, 3, 512, 512))
    assert [tuple(score.shape) for score, _ in results] == [(1, 1, 30, 30), (1, 1, 14, 14), (1, 1, 6, 6)]
    widths = [64, 128, 256, 512, 512]
    for (_, feats), side in zip(results, (512, 256, 128)):
        assert [tuple(f.shape) for f in feats] == [(1, c, side >> i, side >> i) for i, c in enumerate(widths)]
