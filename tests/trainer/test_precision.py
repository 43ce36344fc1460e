"""trainer.precision.measured_fast: the training precision follows a measurement (cached per CPU, libraries and
variant), never a CPU flag alone; CUDA takes fp16 AMP; the environment variable pins it."""
import pytest
import torch

from trainer import precision as tp

CPU = torch.device("cpu")
TINY = "selfsr-degrader"


@pytest.fixture(autouse=True)
def _measuring(monkeypatch):
    monkeypatch.delenv(tp.ENV_FORCE, raising=False)


def _fake_probe(monkeypatch, fp32, bf16, calls):
    def probe(model, x, device, fast):
        calls.append(fast)
        return bf16 if fast else fp32

    monkeypatch.setattr(tp, "probe_seconds", probe)


@pytest.mark.parametrize("fp32,bf16,expected", [(1.0, 0.5, True), (1.0, 2.0, False), (1.0, 0.99, False)])
def test_the_faster_precision_wins_by_a_margin(monkeypatch, fp32, bf16, expected):
    calls = []
    _fake_probe(monkeypatch, fp32, bf16, calls)
    fast, why = tp.measured_fast(TINY, CPU)
    assert fast is expected and "measured" in why and sorted(calls) == [False, True]


def test_the_verdict_is_cached_and_remeasured_on_a_new_library(monkeypatch):
    calls = []
    _fake_probe(monkeypatch, 1.0, 0.5, calls)
    assert tp.measured_fast(TINY, CPU)[0] and tp.measured_fast(TINY, CPU)[0]
    assert len(calls) == 2  # measured once
    from engine import runtime_choice as rc

    monkeypatch.setattr(rc, "library_versions", lambda: {"torch": "99.0"})
    _fake_probe(monkeypatch, 1.0, 2.0, calls)
    assert tp.measured_fast(TINY, CPU)[0] is False and len(calls) == 4


def test_environment_pins_and_rejects_nonsense(monkeypatch):
    monkeypatch.setattr(tp, "probe_seconds", lambda *a: pytest.fail("pinned: must not measure"))
    monkeypatch.setenv(tp.ENV_FORCE, "fp32")
    assert tp.measured_fast(TINY, CPU)[0] is False
    monkeypatch.setenv(tp.ENV_FORCE, "bf16")
    assert tp.measured_fast(TINY, CPU)[0] is True
    monkeypatch.setenv(tp.ENV_FORCE, "fast please")
    with pytest.raises(ValueError, match="fp32, bf16 or flags"):
        tp.measured_fast(TINY, CPU)


def test_cuda_takes_fp16_without_measuring(monkeypatch):
    monkeypatch.setattr(tp, "probe_seconds", lambda *a: pytest.fail("must not measure"))
    assert tp.measured_fast(TINY, torch.device("cuda")) == (True, "fp16 autocast on CUDA")


def test_the_real_probe_times_both_precisions():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 1))
    x = torch.randn(2, 3, 16, 16)
    for fast in (False, True):
        seconds = tp.probe_seconds(model, x, CPU, fast)
        assert 0 < seconds < 10
    assert all(p.grad is None for p in model.parameters())  # the probe trains a copy
