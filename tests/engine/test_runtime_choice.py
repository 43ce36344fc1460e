"""engine.runtime_choice: the fastest accurate path wins on fake timings, an inaccurate path never does, verdicts are
cached under a key that changes with the CPU and the library versions, and OpenVINO matches fp32 PyTorch."""
import json

import numpy as np
import pytest
import torch

from engine import runtime_choice as rc
from engine import zoo
from engine.infer import infer_faces

CPU = torch.device("cpu")
TINY = "selfsr-degrader"  # the smallest network: real forwards in these tests take milliseconds


@pytest.fixture(autouse=True)
def _measuring(monkeypatch):
    """These tests exercise the measuring chooser itself (conftest pins "auto" to the CPU-flag guess elsewhere)."""
    monkeypatch.delenv(rc.ENV_FORCE, raising=False)
    monkeypatch.setattr(rc, "_VERDICTS", {})
    monkeypatch.setattr(rc, "_RUNTIMES", {})


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return zoo.build(TINY).eval()


def ok(path, ms, drop=0.0):
    return rc.PathResult(path, ms_per_face=ms, psnr_drop_db=drop)


def test_pick_takes_the_fastest_of_fake_timings():
    results = [ok("fp32", 77.2), ok("bf16", 95.4), ok("onnxruntime", 64.8), ok("openvino", 50.5),
               ok("openvino-bf16", 133.6)]
    path, reason = rc.pick(results)
    assert path == "openvino" and "1.53x fp32" in reason


def test_pick_keeps_fp32_when_nothing_is_clearly_faster():
    path, reason = rc.pick([ok("fp32", 100.0), ok("bf16", 99.0), ok("onnxruntime", 120.0)])
    assert path == "fp32" and "faster" in reason


def test_pick_ignores_inaccurate_unavailable_and_failed_paths():
    results = [ok("fp32", 100.0), rc.PathResult("bf16", 10.0, 0.3, "inaccurate"),
               rc.PathResult("openvino", None, None, "unavailable", "not installed"),
               rc.PathResult("onnxruntime", 5.0, None, "error"), ok("channels_last", 80.0)]
    assert rc.pick(results)[0] == "channels_last"


def test_psnr_drop_is_zero_for_identical_output_and_large_for_noise():
    ref = np.random.default_rng(0).random((2, 3, 32, 32))
    assert rc.psnr_drop_db(ref, ref) == 0.0
    noisy = ref + np.random.default_rng(1).normal(0, 0.01, ref.shape)  # 40 dB from the reference
    assert rc.psnr_drop_db(ref, noisy) > rc.TOLERANCE_DB
    assert rc.psnr_drop_db(ref, ref + 1e-4) < rc.TOLERANCE_DB
    assert rc.psnr_drop_db(ref, ref * np.nan) == float("inf")
    truth = ref + 0.05
    assert rc.psnr_drop_db(ref, truth, truth=truth) < 0  # closer to the truth than fp32: no drop


class _Wrong:
    """A runtime model that is fast and wrong: it answers every batch with a brighter image."""

    def __init__(self, model):
        self.model = model

    def run_extracted(self, x):
        image, maps = zoo.variant(TINY).extract(self.model(x))
        return image + 0.2, maps


def _fake_paths(monkeypatch, fake_ms):
    """Registry of fp32, a wrong path and an unavailable one; timings replaced by `fake_ms` (seconds per forward)."""
    paths = {"fp32": rc.PATHS["fp32"],
             "wrong": rc.InferencePath("wrong", "fp32", ("cpu",), lambda name, model, device: _Wrong(model)),
             "absent": rc.InferencePath("absent", "fp32", ("cpu",), lambda *a: None, lambda: "not installed here")}
    monkeypatch.setattr(rc, "PATHS", paths)
    monkeypatch.setattr(rc, "_rounds", lambda name, runners, *a, **k: {p: [fake_ms[p]] for p in runners})


def test_measure_never_keeps_a_path_that_fails_the_accuracy_check(monkeypatch, tiny):
    _fake_paths(monkeypatch, {"fp32": 1.0, "wrong": 0.001})
    results = {r.path: r for r in rc.measure(TINY, tiny, CPU, 2)}
    assert results["wrong"].status == "inaccurate" and results["wrong"].ms_per_face is None
    assert results["absent"].status == "unavailable" and "not installed" in results["absent"].note
    assert results["fp32"].status == "ok" and results["fp32"].psnr_drop_db == 0.0
    assert rc.pick(list(results.values()))[0] == "fp32"


def test_auto_skips_a_hopeless_path_but_an_explicit_request_measures_it(monkeypatch, tiny):
    _fake_paths(monkeypatch, {"fp32": 1.0, "slow": 2.0})
    rc.PATHS["slow"] = rc.InferencePath("slow", "channels_last", ("cpu",), rc._torch_prepare("channels_last"),
                                        hopeless=lambda: "emulated here")
    auto = {r.path: r for r in rc.measure(TINY, tiny, CPU, 2)}
    assert auto["slow"].status == "unavailable" and auto["slow"].note == "emulated here"
    asked = {r.path: r for r in rc.measure(TINY, tiny, CPU, 2, paths=["slow"])}
    assert asked["slow"].status == "ok" and asked["slow"].ms_per_face is not None


def test_choose_caches_and_remeasures_on_a_new_library_or_cpu(monkeypatch, tiny):
    calls = []

    def fake_measure(name, model, device, batch, **kw):
        calls.append(batch)
        return [ok("fp32", 10.0), ok("channels_last", 5.0)]

    monkeypatch.setattr(rc, "measure", fake_measure)
    first = rc.choose(TINY, tiny, CPU, 4)
    assert first.path == "channels_last" and first.measured_s is not None and len(calls) == 1
    again = rc.choose(TINY, tiny, CPU, 4)
    assert again.path == "channels_last" and again.measured_s is None and len(calls) == 1
    monkeypatch.setattr(rc, "_VERDICTS", {})  # a new process: the verdict comes from the cache file
    assert rc.choose(TINY, tiny, CPU, 4).path == "channels_last" and len(calls) == 1
    assert rc.verdicts_file().is_file()
    rc.choose(TINY, tiny, CPU, 8)  # another batch size
    assert calls == [4, 8]
    versions = rc.library_versions()
    monkeypatch.setattr(rc, "library_versions", lambda: {**versions, "openvino": "9999.0"})
    rc.choose(TINY, tiny, CPU, 4)
    assert calls == [4, 8, 4]
    monkeypatch.setattr(rc, "cpu_info", lambda: rc.CpuInfo("Other CPU", ("avx512_bf16", "avx512_vnni")))
    rc.choose(TINY, tiny, CPU, 4)
    assert calls == [4, 8, 4, 4]
    other = torch.nn.Conv2d(1, 1, 1)
    assert rc.fingerprint(other) != rc.fingerprint(tiny)  # other weights: another key


def test_cpu_description_names_the_flags_that_matter():
    text = rc.CpuInfo("Xeon X", ("avx512_bf16", "avx512_vnni")).describe()
    assert text == "Xeon X (AMX: no, AVX-512 BF16: yes, VNNI: yes)"


def test_forced_path_and_flags(monkeypatch, tiny):
    monkeypatch.setenv(rc.ENV_FORCE, "channels_last")
    assert rc.choose(TINY, tiny, CPU, 1).path == "channels_last"
    monkeypatch.setenv(rc.ENV_FORCE, "fp16")  # a CUDA path on the CPU: plain fp32
    assert rc.choose(TINY, tiny, CPU, 1).path == "fp32"
    monkeypatch.setenv(rc.ENV_FORCE, "warp-drive")
    with pytest.raises(ValueError, match="not a path"):
        rc.choose(TINY, tiny, CPU, 1)


def test_auto_in_infer_faces_runs_the_chosen_runtime(monkeypatch, tiny):
    monkeypatch.setenv(rc.ENV_FORCE, "onnxruntime")
    v = zoo.variant(TINY)
    faces = rc.check_faces(v.lr_size, 3)
    auto = infer_faces(TINY, tiny, faces, device="cpu", batch_size=2)
    fp32 = infer_faces(TINY, tiny, faces, mode="fp32", device="cpu")
    assert auto.mode == "onnxruntime"
    assert np.abs(auto.images.astype(int) - fp32.images).max() <= 1
    assert set(auto.maps) == set(fp32.maps)


def test_auto_in_infer_faces_notes_the_one_time_measurement(monkeypatch, tiny):
    monkeypatch.setattr(rc, "measure", lambda *a, **k: [ok("fp32", 10.0), ok("channels_last", 20.0)])
    faces = rc.check_faces(zoo.variant(TINY).lr_size, 1)
    first = infer_faces(TINY, tiny, faces, device="cpu")
    assert first.mode == "fp32" and any("measured the inference paths once" in n for n in first.notes)
    assert not infer_faces(TINY, tiny, faces, device="cpu").notes


@pytest.mark.parametrize("name", [TINY, "sparnet-light3d"])
def test_openvino_matches_fp32_pytorch(tmp_path, name):
    pytest.importorskip("openvino")
    from engine.onnx_runtime import export_onnx
    from engine.openvino_runtime import OpenVinoModel

    torch.manual_seed(0)
    model = zoo.build(name).eval()
    v = zoo.variant(name)
    x = v.to_input(rc.check_faces(v.lr_size, 2))
    with torch.inference_mode():
        ref, ref_maps = v.run(model, x)
    got, got_maps = v.run(OpenVinoModel(export_onnx(name, model, tmp_path / f"{name}.onnx"), "f32", threads=1), x)
    assert rc.psnr_drop_db(ref.numpy(), got.numpy()) < rc.TOLERANCE_DB
    assert float((got - ref).abs().max()) < 1e-3
    assert set(got_maps) == set(ref_maps)


def test_openvino_runs_a_smaller_batch_padded_and_caches_compiled_models(tmp_path):
    pytest.importorskip("openvino")
    from engine.onnx_runtime import export_onnx
    from engine.openvino_runtime import OpenVinoModel

    torch.manual_seed(0)
    model = zoo.build(TINY).eval()
    v = zoo.variant(TINY)
    x = v.to_input(rc.check_faces(v.lr_size, 4))
    ov = OpenVinoModel(export_onnx(TINY, model, tmp_path / "t.onnx"), "f32", threads=1, cache_dir=tmp_path / "ov")
    full, _ = v.run(ov, x)
    part, _ = v.run(ov, x[:3])
    assert list(ov._compiled) == [tuple(x.shape)]  # the batch of 3 ran in the compiled batch of 4
    assert part.shape[0] == 3 and float((part - full[:3]).abs().max()) < 1e-5
    assert any((tmp_path / "ov").iterdir())  # OpenVINO's model cache holds the compiled model
    sidecar = tmp_path / "t.onnx.meta.json"
    assert json.loads(sidecar.read_text())["fsr_studio.variant"] == TINY  # next time, no onnx import
    assert OpenVinoModel(tmp_path / "t.onnx", "f32", threads=1).variant_name == TINY


def test_openvino_missing_is_a_reason_not_an_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name == "openvino" or name.startswith("openvino."):
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    from engine.openvino_runtime import missing_reason

    assert "pip install openvino" in missing_reason()


@pytest.mark.parametrize("native", [True, False])
def test_bf16_is_measured_only_where_the_cpu_runs_it_natively(monkeypatch, native):
    from engine import accel

    monkeypatch.setattr(accel, "cpu_has_fast_bf16", lambda: native)
    why = rc.PATHS["bf16"].hopeless()
    assert (why is None) if native else ("emulated" in why)
    assert rc.PATHS["bf16"].missing() is None  # fsr-studio bench still measures it
    if not native:
        assert "emulated" in rc.PATHS["openvino-bf16"].hopeless()


def test_int8_paths_are_opt_in():
    auto = {p.name for p in rc.candidates(CPU)}
    assert {"fp32", "bf16", "onnxruntime"} <= auto and not {"openvino-int8", "onnxruntime-int8"} & auto
    assert [p.name for p in rc.candidates(CPU, ["onnxruntime-int8"])] == ["onnxruntime-int8"]


def _tiny_with_card(tmp_path, tiny, int8):
    """`tiny` saved as bundled-style weights with a card holding `int8` (None: no record), loaded back."""
    weights = tmp_path / f"{TINY}.safetensors"
    zoo.save_weights(tiny, weights, TINY)
    card = zoo.card_path(weights)
    data = json.loads(card.read_text())
    if int8 is not None:
        data["int8"] = int8(zoo.sha256_of(weights))
    card.write_text(json.dumps(data))
    return zoo.load(TINY, weights)


def _record(paths, ort=None, drops=None):
    return lambda sha: {"accepted_paths": paths, "weights_sha256": sha, "check_drop_db": drops or {"openvino-int8": 0.1},
                        "onnxruntime": ort or rc.library_versions().get("onnxruntime")}


def test_int8_is_offered_to_auto_only_for_weights_validated_on_real_faces(tmp_path, tiny):
    validated = _tiny_with_card(tmp_path, tiny, _record(["openvino-int8"]))
    assert rc.int8_validated(validated) == {"openvino-int8": 0.1}
    auto = {p.name for p in rc.candidates(CPU, None, list(rc.int8_validated(validated)))}
    assert "openvino-int8" in auto and "onnxruntime-int8" not in auto
    assert rc.cache_key(TINY, validated, CPU, 8)["int8_validated"] == {"openvino-int8": 0.1}


def test_a_validated_path_is_held_to_its_recorded_estimate():
    validated = {"openvino-int8": 0.1}
    assert rc.gate_limit("openvino-int8", validated) == pytest.approx(0.1 + rc.INT8_SLACK_DB)
    assert rc.gate_limit("onnxruntime-int8", validated) == rc.TOLERANCE_DB
    assert rc.gate_limit("openvino-int8", {"openvino-int8": 0.001}) == rc.TOLERANCE_DB  # never below the tolerance


@pytest.mark.parametrize("record", [None, lambda sha: "yes",
                                    lambda sha: _record(["openvino-int8"])("0" * 64),  # other weights
                                    _record(["openvino-int8"], ort="0.1.0"),  # another quantiser
                                    _record("openvino-int8"), _record(["no-such-path"]),
                                    _record(["openvino-int8"], drops={"onnxruntime-int8": 0.1}),  # no estimate
                                    _record(["openvino-int8"], drops={"openvino-int8": "low"})])
def test_int8_is_not_offered_without_a_matching_validation(tmp_path, tiny, record):
    model = _tiny_with_card(tmp_path, tiny, record)
    assert rc.int8_validated(model) == {}
    assert rc.int8_validated(tiny) == {}  # built in memory: no card at all


@pytest.mark.parametrize("path", ["onnxruntime-int8", "openvino-int8"])
def test_int8_runs_close_to_fp32_and_is_judged_by_the_gate(tmp_path, monkeypatch, tiny, path):
    """int8 is near fp32 (> 35 dB on the check faces); whether it is near enough is the gate's call, as for any path."""
    if path.startswith("openvino"):
        pytest.importorskip("openvino")
    monkeypatch.setattr(rc, "_rounds", lambda name, runners, *a, **k: {p: [1.0] for p in runners})
    results = {r.path: r for r in rc.measure(TINY, tiny, CPU, 2, paths=[path])}
    r = results[path]
    assert r.psnr_drop_db is not None and r.psnr_drop_db < 1.0  # 1 dB under the assumed 30 dB: > 36 dB from fp32
    assert r.status == ("ok" if r.psnr_drop_db < rc.TOLERANCE_DB else "inaccurate")
    assert (rc.cache_dir() / "onnx").glob("*-int8.onnx")
