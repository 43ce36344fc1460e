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
        assert torch.equal(plain(x), ref)  # bit-exact, MODELS.md 3.6 (b)


def test_resolve_device():
    assert zoo.resolve_device("cpu").type == "cpu"
    assert zoo.resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA was requested"):
            zoo.resolve_device("cuda")


def test_models_command_lists_every_variant(capsys):
    from app.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in zoo.names():
        assert name in out
    assert "3,295,396" in out
