"""scripts/int8_validation.py: an int8 path is accepted only when it keeps the PSNR of fp32 on the face-size
benchmark and, for x8-protocol weights, on that protocol's own inputs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import runtime_choice as rc
from scripts import int8_validation as iv

REPO = Path(__file__).resolve().parents[2]
CELEBA = REPO.parent / "shared" / "data" / "celeba_val128"
BUNDLED = REPO / "resources" / "weights"


def _result(benchmark_drop: float, x8_drop: float | None) -> dict:
    result = {"paths": {"onnxruntime-int8": {"max_psnr_drop_db": benchmark_drop, "accepted": True}}}
    if x8_drop is not None:
        result["x8_protocol"] = {"faces": 200, "psnr_drop_db": {"onnxruntime-int8": x8_drop}}
    return result


@pytest.mark.parametrize("benchmark_drop, x8_drop, accepted", [
    (0.04, 0.11, False),  # sparnet-light3d's case: fine on the benchmark, not on its own protocol
    (0.04, 0.02, True),
    (0.06, 0.02, False),
    (0.02, None, True),  # a blind restorer: no x8 protocol to check
])
def test_a_path_must_pass_the_benchmark_and_the_x8_protocol(benchmark_drop, x8_drop, accepted):
    result = _result(benchmark_drop, x8_drop)
    iv.accept_x8(result)
    assert result["paths"]["onnxruntime-int8"]["accepted"] is accepted


def test_a_rejection_on_the_x8_protocol_is_not_remembered_as_a_benchmark_rejection():
    """Reused results are judged again from their drops, not from a previous verdict."""
    result = _result(0.02, None)
    result["paths"]["onnxruntime-int8"]["accepted"] = False
    iv.accept_x8(result)
    assert result["paths"]["onnxruntime-int8"]["accepted"] is True


def test_the_card_says_where_the_x8_protocol_was_checked():
    assert iv.x8_words(_result(0.02, None)) == ""
    assert "x8 protocol on the first 200 LR_x8 faces" in iv.x8_words(_result(0.02, 0.107))
    assert "+0.107 dB" in iv.x8_words(_result(0.02, 0.107))


@pytest.mark.skipif(not CELEBA.is_dir(), reason="needs ../shared/data/celeba_val128 (validation faces)")
def test_the_x8_protocol_is_measured_for_x8_weights_only(monkeypatch):
    monkeypatch.setenv("FSR_STUDIO_BUNDLED", str(BUNDLED))
    monkeypatch.setenv(rc.ENV_FORCE, "flags")
    assert iv.x8_protocol("sparnet-blind", CELEBA, 2, ["bf16"]) is None
    protocol = iv.x8_protocol("sparnet-light3d", CELEBA, 2, ["bf16"])
    assert protocol["faces"] == 2 and set(protocol["psnr_y"]) == {"fp32", "bf16"}
    assert abs(protocol["psnr_drop_db"]["bf16"]) < 0.5
    assert os.environ[rc.ENV_FORCE] == "flags"  # the forced path ends with the measurement
