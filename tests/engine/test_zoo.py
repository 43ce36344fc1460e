"""Model zoo: weight discovery, safe loading of every checkpoint layout, and clear errors for bad files."""
import json
import os

import pytest
import torch
from torch import nn

from engine import zoo
from engine.models.fsrnet import FSRNetConfig


@pytest.fixture(scope="module")
def fsrnet():
    torch.manual_seed(0)
    return zoo.build("fsrnet").eval()


def same_params(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k].float(), sb[k].float()) for k in sa)


def test_names_and_build():
    assert {"fsrnet", "fsrgan"} <= set(zoo.names())
    assert set(zoo.names(task="restore")) <= set(zoo.names())
    with pytest.raises(KeyError, match="unknown model"):
        zoo.variant("nope")


def test_safetensors_round_trip_with_card(tmp_path, fsrnet):
    path = zoo.save_weights(fsrnet, tmp_path / "fsrnet.safetensors", "fsrnet", card={"steps": 3})
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["variant"] == "fsrnet" and card["steps"] == 3 and card["sha256"] == zoo.sha256_of(path)
    assert card["parameters"] == 3_295_396
    loaded = zoo.load("fsrnet", weights=path, device="cpu")
    assert not loaded.training
    for k, v in fsrnet.state_dict().items():  # stored in fp16
        assert torch.allclose(loaded.state_dict()[k].float(), v.half().float())


@pytest.mark.parametrize("layout", ["bare", "params", "params_ema", "module_prefix"])
def test_pth_layouts_round_trip(tmp_path, fsrnet, layout):
    state = fsrnet.state_dict()
    payload = {
        "bare": state,
        "params": {"params": state},
        "params_ema": {"params": {k: torch.zeros_like(v) for k, v in state.items()}, "params_ema": state},
        "module_prefix": {f"module.{k}": v for k, v in state.items()},
    }[layout]
    path = tmp_path / "w.pth"
    torch.save(payload, path)
    assert same_params(zoo.load("fsrnet", weights=path), fsrnet)


def test_discovery_order(tmp_path, monkeypatch, fsrnet):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    monkeypatch.setenv(zoo.ENV_BUNDLED, str(bundled))
    monkeypatch.setenv(zoo.ENV_MODELS, str(user))
    assert zoo.find_weights("fsrnet") is None
    with pytest.raises(zoo.WeightsNotFound, match=str(user)):
        zoo.load("fsrnet")
    zoo.save_weights(fsrnet, bundled / "fsrnet.safetensors", "fsrnet")
    assert zoo.find_weights("fsrnet") == bundled / "fsrnet.safetensors"
    bundled.joinpath("fsrnet.safetensors")
    user.mkdir()
    torch.save(fsrnet.state_dict(), user / "fsrnet.pth")
    assert zoo.find_weights("fsrnet") == user / "fsrnet.pth"  # the user folder wins over bundled weights


def test_card_config_overrides_are_applied(tmp_path):
    small = zoo.build("fsrnet", stacks=1)
    path = zoo.save_weights(small, tmp_path / "one_stack.safetensors", "fsrnet")
    assert len(zoo.load("fsrnet", weights=path).prior.stacks) == 1


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned_by_checkpoint",))


def _bad_files(tmp_path, fsrnet):
    good = tmp_path / "good.pth"
    torch.save(fsrnet.state_dict(), good)
    data = good.read_bytes()
    nan_state = {k: (torch.full_like(v, float("nan")) if v.is_floating_point() else v)
                 for k, v in fsrnet.state_dict().items()}
    files = {
        "empty": (b"", "empty"),
        "truncated": (data[: len(data) // 2], "not a readable checkpoint"),
        "text": (b"this is not a checkpoint\n" * 10, "not a readable checkpoint"),
    }
    out = {}
    for name, (content, msg) in files.items():
        p = tmp_path / f"{name}.pth"
        p.write_bytes(content)
        out[name] = (p, msg)
    p = tmp_path / "wrong_arch.pth"
    torch.save(zoo.build("fsrnet", stacks=1, landmarks=5).state_dict(), p)
    out["wrong_arch"] = (p, "missing keys")
    p = tmp_path / "nan.pth"
    torch.save(nan_state, p)
    out["nan"] = (p, "non-finite")
    p = tmp_path / "exploit.pth"
    torch.save({"params": {"x": _Exploit()}}, p)
    out["pickle_exploit"] = (p, "not a readable checkpoint")
    p = tmp_path / "not_tensors.pth"
    torch.save({"hello": 1}, p)
    out["not_tensors"] = (p, "does not hold a state_dict")
    p = tmp_path / "broken.safetensors"
    p.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json")
    out["bad_safetensors"] = (p, "not a readable checkpoint")
    return out


def test_each_bad_checkpoint_gives_one_clear_error_and_nothing_half_loaded(tmp_path, monkeypatch, fsrnet):
    monkeypatch.chdir(tmp_path)
    target = zoo.build("fsrnet")
    before = {k: v.clone() for k, v in target.state_dict().items()}
    for case, (path, message) in _bad_files(tmp_path, fsrnet).items():
        with pytest.raises(zoo.CheckpointError, match=message) as info:
            zoo.load_state_into(target, path)
        assert str(path) in str(info.value), case
        assert all(torch.equal(before[k], v) for k, v in target.state_dict().items()), case
    assert not (tmp_path / "pwned_by_checkpoint").exists()


def test_mismatch_report_lists_shapes(tmp_path):
    path = tmp_path / "helen.pth"
    torch.save(zoo.build("fsrnet", landmarks=194).state_dict(), path)
    with pytest.raises(zoo.CheckpointError, match=r"shape mismatches: .*landmark_head.weight: file \(194"):
        zoo.load("fsrnet", weights=path)


def test_fold_spectral_norm_equals_spectral_norm_forward(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(8, 4, 3))
    sn = nn.Sequential(*[nn.utils.spectral_norm(m) if isinstance(m, nn.Conv2d) else m for m in net])
    sn.train()
    x = torch.rand(2, 3, 16, 16)
    for _ in range(3):  # a few power iterations so u, v are not at their initial values
        sn(x)
    sn.eval()
    with torch.no_grad():
        ref = sn(x)
    plain = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(8, 4, 3))
    torch.save(sn.state_dict(), tmp_path / "sn.pth")
    zoo.load_state_into(plain, tmp_path / "sn.pth")
    with torch.no_grad():
        assert torch.equal(plain(x), ref)  # bit-exact, docs/models.md#sparnet-checkpoints


def test_resolve_device():
    assert zoo.resolve_device("cpu").type == "cpu"
    assert zoo.resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA was requested"):
            zoo.resolve_device("cuda")


# ----- model cards are untrusted input (issue 16) ------------------------------------------------------------------
TINY = {"width": 8, "prior_width": 16, "encoder_blocks": 1, "coarse_blocks": 1, "decoder_blocks": 1, "stacks": 1}


@pytest.fixture(scope="module")
def tiny_state():
    torch.manual_seed(0)
    return {k: v.contiguous() for k, v in zoo.build("fsrnet", **TINY).state_dict().items()}


def _with_card(tmp_path, state, card, name="w.safetensors"):
    from safetensors.torch import save_file

    path = tmp_path / name
    save_file(state, str(path))
    path.with_suffix(".json").write_text(card if isinstance(card, str) else json.dumps(card))
    return path


@pytest.mark.parametrize("card, message", [
    ([], r"must be a JSON object, got a list"),
    ("not json", r"unreadable"),
    ({"variant": 3}, r"'variant' must be a string, got a number"),
    ({"config": [1]}, r"'config' must be a JSON object, got a list"),
    ({"config": {"width": "abc"}}, r"config\.width must be an integer, got \"abc\" \(a string\)"),
    ({"config": {"width": True}}, r"config\.width must be an integer, got true"),
    ({"config": {"width": 8.5}}, r"config\.width must be an integer"),
    ({"config": {"width": -1}}, r"config\.width must be between 0 and 4096, got -1"),
    ({"config": {"width": 10 ** 30}}, r"config\.width must be between"),
    ({"config": {"decoder_input": "mystery"}}, r"config\.decoder_input must be one of priors, features"),
    ({"config": {"decoder_input": 7}}, r"config\.decoder_input must be a string"),
    ({"config": {"colour": 1}}, r"config\.colour is not a field of FSRNetConfig"),
    ({"config": {"width": 4096}}, r"config \(width=4096\) makes fsrnet a network of (more than )?[\d,]+ parameters"),
])
def test_hostile_cards_are_refused_naming_card_and_field(tmp_path, tiny_state, card, message):
    path = _with_card(tmp_path, tiny_state, card)
    for attempt in (lambda: zoo.load("fsrnet", weights=path), lambda: zoo.read_card(path, "fsrnet")):
        with pytest.raises(zoo.CheckpointError, match=message) as info:
            attempt()
        assert str(path) in str(info.value) and str(path.with_suffix(".json")) in str(info.value)


def test_card_of_the_wrong_json_type_is_refused_without_a_variant_too(tmp_path, tiny_state):
    """`enhance -w` reads the card before it knows the model (model_for_weights): the shape is checked already."""
    with pytest.raises(zoo.CheckpointError, match="must be a JSON object"):
        zoo.read_card(_with_card(tmp_path, tiny_state, []))
    with pytest.raises(zoo.CheckpointError, match="'config' must be a JSON object"):
        zoo.read_card(_with_card(tmp_path, tiny_state, {"config": "big"}))


@pytest.mark.parametrize("name, config, message", [
    ("selfsr", {"widths": [64, "x"]}, r"config\.widths item 1 must be an integer, got \"x\""),
    ("selfsr", {"widths": 64}, r"config\.widths must be a list of at most 16 items"),
    ("selfsr", {"widths": [8] * 17}, r"config\.widths must be a list of at most 16 items"),
    ("selfsr", {"gamma_init_std": float("nan")}, r"config\.gamma_init_std must be between"),
    ("selfsr", {"gamma_init_std": "0.1"}, r"config\.gamma_init_std must be a number"),
    ("selfsr", {"gamma_mode": "linear"}, r"config\.gamma_mode must be one of bias, one_plus, one_plus_tanh"),
    ("selfsr-degrader", {"noise_channel": 1}, r"config\.noise_channel must be true or false, got 1"),
    ("sparnet", {"norm": "batch"}, r"config\.norm must be one of bn, in, none"),
    ("sparnet", {"min_ch": 64, "max_ch": 32}, r"config rejected by SPARNetConfig: .*min_ch <= max_ch"),
])
def test_card_values_are_checked_against_the_field_types(tmp_path, name, config, message):
    with pytest.raises(zoo.CheckpointError, match=message):
        zoo.card_overrides({"config": config}, tmp_path / "w.safetensors", name)


def test_card_values_are_converted_to_the_field_types(tmp_path):
    where = tmp_path / "w.safetensors"
    got = zoo.card_overrides({"config": {"widths": [32, 16], "gamma_init_std": 1, "slope": 0.1}}, where, "selfsr")
    assert got == {"widths": (32, 16), "gamma_init_std": 1.0, "slope": 0.1}
    assert isinstance(got["gamma_init_std"], float)
    assert zoo.card_overrides({"config": None}, where, "fsrnet") == {}


def test_every_shipped_card_passes_the_validator():
    cards = sorted(zoo.BUNDLED_DIR.glob("*.json"))
    assert cards
    for card in cards:
        data = json.loads(card.read_text())
        zoo.validate_card(data, card.with_suffix(".safetensors"))
        zoo.card_overrides(data, card.with_suffix(".safetensors"), data["variant"])


def test_every_registered_variant_is_well_inside_the_card_limits():
    """The budget refuses hostile cards only: each variant (built on meta, as the validator does) uses under half."""
    for name in zoo.names():
        with torch.device("meta"):
            model = zoo.variant(name).build()
        assert sum(t.numel() for t in model.state_dict().values()) < zoo.MAX_CARD_PARAMETERS / 2, name
        assert sum(1 for _ in model.modules()) < zoo.MAX_CARD_MODULES / 2, name


def test_parameter_budget_refuses_before_any_real_allocation(tmp_path, tiny_state, monkeypatch):
    """A 6 G-parameter card would take 24 GB: it is refused from the meta build, and nothing is built for real."""
    path = _with_card(tmp_path, tiny_state, {"variant": "fsrnet", "config": {"width": 4096}})
    real_builds = []
    monkeypatch.setattr(zoo, "_paste_state", lambda model, p: real_builds.append(model))
    with pytest.raises(zoo.CheckpointError, match=r"over the limit|the limit\)"):
        zoo.load("fsrnet", weights=path)
    assert real_builds == []


def test_module_count_stops_a_slow_hostile_build_early(tmp_path, monkeypatch):
    """Thousands of tiny blocks stay under the parameter budget but would take minutes to build: capped by modules."""
    zoo._meta_parameter_count.cache_clear()
    monkeypatch.setattr(zoo, "MAX_CARD_MODULES", 200)
    try:
        with pytest.raises(zoo.CheckpointError, match=r"more than 200 modules"):
            zoo.card_overrides({"config": {**TINY, "encoder_blocks": 300}}, tmp_path / "w.safetensors", "fsrnet")
    finally:
        zoo._meta_parameter_count.cache_clear()


def test_card_of_a_registered_config_is_not_rebuilt(tmp_path):
    """Cards repeating the variant's own config (every exported card) cost no meta build."""
    zoo._meta_parameter_count.cache_clear()
    card = {"config": {"width": 64, "decoder_input": "priors"}}
    assert zoo.card_overrides(card, tmp_path / "w.safetensors", "fsrnet") == card["config"]
    assert zoo._meta_parameter_count.cache_info().currsize == 0


# ----- weights of the wrong dtype, folders, TorchScript, unknown wrappers (issue 16) ---------------------------------
@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_integer_or_boolean_weights_are_refused(tmp_path, tiny_state, dtype):
    from safetensors.torch import save_file

    path = tmp_path / "cast.safetensors"
    save_file({k: v.to(dtype) for k, v in tiny_state.items()}, str(path))
    target = zoo.build("fsrnet", **TINY)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    kind = str(dtype).removeprefix("torch.")
    message = rf"not floating point .*coarse\.0\.weight \({kind} vs model float32\)"
    with pytest.raises(zoo.CheckpointError, match=message):
        zoo.load_state_into(target, path)
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())


def test_integer_buffers_and_half_weights_still_load(tmp_path, tiny_state):
    """BatchNorm's num_batches_tracked is int64 in model and file; fp16 weights (exported) are floating point."""
    from safetensors.torch import save_file

    assert any(k.endswith("num_batches_tracked") for k in tiny_state)
    path = tmp_path / "half.safetensors"
    save_file({k: (v.half() if v.is_floating_point() else v) for k, v in tiny_state.items()}, str(path))
    zoo.load_state_into(zoo.build("fsrnet", **TINY), path)


def test_a_folder_is_named_as_a_folder(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    for attempt in (lambda: zoo.load("fsrnet", weights=folder), lambda: zoo.read_state_dict(folder),
                    lambda: zoo.read_card(folder), lambda: zoo.load("fsrnet", weights=".")):
        with pytest.raises(zoo.CheckpointError, match="is a folder, not a weight file"):
            attempt()


def test_torchscript_is_named_and_never_gets_the_unsafe_advice(tmp_path):
    import warnings

    path = tmp_path / "scripted.pth"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(nn.Conv2d(3, 3, 3)), str(path))
    with pytest.raises(zoo.CheckpointError, match=r"TorchScript archive .*only plain state dicts load") as info:
        zoo.load("fsrnet", weights=path)
    assert "weights_only" not in str(info.value)


def test_no_load_error_passes_on_the_weights_only_false_advice(tmp_path, fsrnet):
    """torch's refusal says how to run the file's code; only the refused object is kept."""
    target = zoo.build("fsrnet")
    for case, (path, _) in _bad_files(tmp_path, fsrnet).items():
        with pytest.raises(zoo.CheckpointError) as info:
            zoo.load_state_into(target, path)
        text = str(info.value)
        assert "weights_only" not in text and "trusted source" not in text and "\x1b" not in text, case
    with pytest.raises(zoo.CheckpointError, match=r"refused unread: .*GLOBAL (posix|os)\.system"):
        zoo.read_state_dict(tmp_path / "exploit.pth")


def test_describe_load_error_replaces_any_remaining_advice():
    exc = RuntimeError("Cannot use ``weights_only=True`` here; retry with `weights_only` set to `False`.")
    assert zoo.describe_load_error(exc) == "RuntimeError: refused by the safe loader"


def test_unknown_wrapper_lists_its_keys_and_the_recognised_ones(tmp_path, tiny_state):
    path = tmp_path / "wrapped.pth"
    torch.save({"generator": tiny_state, "step": 7}, path)
    with pytest.raises(zoo.CheckpointError, match=r"top-level keys: 'generator', 'step'; .*recognised key: "
                                                 r"params_ema, params, net_g, state_dict, model"):
        zoo.read_state_dict(path)
    torch.save([1, 2], path)
    with pytest.raises(zoo.CheckpointError, match=r"it holds a list"):
        zoo.read_state_dict(path)


def test_net_g_wrapper_is_recognised(tmp_path, tiny_state):
    path = tmp_path / "net_g.pth"
    torch.save({"net_g": tiny_state, "iter": 10}, path)
    assert set(zoo.read_state_dict(path)) == set(tiny_state)


def test_trainer_resume_message_is_safe_too(tmp_path):
    from trainer.checkpoint import CheckpointError, _load

    path = tmp_path / "1.state"
    torch.save({"x": _Exploit()}, path)
    with pytest.raises(CheckpointError, match=r"1\.state: not a readable checkpoint .*delete it") as info:
        _load(path)
    assert "weights_only" not in str(info.value)


def test_cards_are_strict_json_even_with_an_infinite_metric(tmp_path):
    """A face that comes through its degradation unchanged has an infinite PSNR; the card must still parse in
    readers that reject Infinity (browsers, jq)."""
    weights = tmp_path / "m.safetensors"
    zoo.write_card(weights, {"validation": {"psnr_y": 30.5, "bicubic": {"psnr_y": float("inf")}}, "runs": [float("nan")]})

    def reject(constant):
        raise ValueError(f"not strict JSON: {constant}")

    card = json.loads(zoo.card_path(weights).read_text(), parse_constant=reject)
    assert card == {"validation": {"psnr_y": 30.5, "bicubic": {"psnr_y": None}}, "runs": [None]}
