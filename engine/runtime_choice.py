"""Which inference path `precision="auto"` runs, chosen by measurement on this machine rather than by a CPU flag.

Why: bf16 autocast is 2-3x faster than fp32 on a CPU with AMX, but slower than plain fp32 on a Xeon with only
AVX-512 BF16/VNNI, where ONNX Runtime or OpenVINO in f32 win instead. What is fast depends on the CPU, the library
versions, the network and the batch size, so it is measured once per such combination (a second or two, plus a
one-time ONNX export for the runtime paths) and the verdict is cached in the user cache folder.

A path is a way to run a network: PyTorch fp32 / channels_last / bf16 autocast, ONNX Runtime, OpenVINO f32/bf16 on
the CPU, fp16 autocast on CUDA. Each is checked against fp32 PyTorch on fixed inputs first: a path whose output
would cost more than `TOLERANCE_DB` of PSNR is never chosen, however fast. fp32 PyTorch is the reference and the
fallback; another path is taken only when it is faster than fp32 by more than `NOISE_MARGIN`. int8 paths are offered
only to weights validated on real faces (:func:`int8_validated`), and held to the estimate recorded then.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import os
import statistics
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import accel, zoo
from .accel import CPU_FLAGS, CpuInfo, cpu_info  # noqa: F401 (re-exported: the machine's description)

TOLERANCE_DB = 0.05  # largest PSNR drop against fp32 PyTorch a path may cost
INT8_SLACK_DB = 0.02  # how far a validated int8 path's estimate may stray from the one recorded at validation
# The PSNR-Y the fp32 model is assumed to reach on real faces when no ground truth is given. Every model here scores
# below it (25-28 dB on the validation sets), and a higher assumed quality makes the drop estimate larger, so the
# gate is stricter than a measurement on real faces would be.
ASSUMED_MODEL_PSNR_DB = 30.0
NOISE_MARGIN = 0.03  # another path must beat fp32 by this fraction, so timing noise never makes auto slower
BUDGET_S = 2.0  # timed rounds stop once this much time has gone on them (at least one round is always timed)
MAX_ROUNDS = 5
SLOW_MODEL_S = 5.0  # an fp32 warm-up longer than this (seconds) is timing enough: no extra rounds
CHECK_FACES = 2  # fixed faces the accuracy check and the warm-up run on (timing batches repeat them)
SCHEMA = 1  # bump when the measurement changes, so old verdicts are measured again
ENV_CACHE = "FSR_STUDIO_CACHE"  # a folder; tests point it at a temporary one
ENV_FORCE = "FSR_STUDIO_AUTO_PATH"  # a path name: auto uses it without measuring (tests, or a user pinning one)


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "absent"


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    return (("torch", torch.__version__), ("onnxruntime", _version("onnxruntime")), ("openvino", _version("openvino")))


def library_versions() -> dict[str, str]:
    """The versions that change kernels: a new one means the verdict is measured again (read once per process)."""
    return dict(_versions())


# ----- the paths ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InferencePath:
    """One way to run a network: `prepare(name, model, device)` returns an object `Variant.run` accepts (a module
    or a runtime model with `run_extracted`), run under the accel precision `torch_mode`."""

    name: str
    torch_mode: str
    devices: tuple[str, ...]
    prepare: Callable[[str, nn.Module, torch.device], Any]
    missing: Callable[[], str | None] = lambda: None
    description: str = ""
    auto: bool = True  # measured by precision "auto"; False: only when asked for (bench --modes)
    hopeless: Callable[[], str | None] = lambda: None  # why auto need not measure it on this machine (None: measure)

    @property
    def is_torch(self) -> bool:
        return self.name in accel.MODES


PATHS: dict[str, InferencePath] = {}


def register_path(path: InferencePath) -> InferencePath:
    PATHS[path.name] = path
    return path


def _torch_prepare(mode: str) -> Callable[[str, nn.Module, torch.device], nn.Module]:
    """A private copy in the memory format `mode` wants, so measuring one path never changes the caller's model."""

    def prepare(name: str, model: nn.Module, device: torch.device) -> nn.Module:
        return accel.prepare_model(copy.deepcopy(model).eval().to(device), mode)

    return prepare


def _onnxruntime_missing() -> str | None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "the onnxruntime package is not installed (pip install onnxruntime)"
    return None


def _openvino_missing() -> str | None:
    from .openvino_runtime import missing_reason

    return missing_reason()


def _emulated_bf16() -> str | None:
    """bf16 paths are not worth auto's measuring where the CPU only emulates bf16 (no AMX, no AVX-512 BF16): there
    they ran at 0.4-0.6x fp32 for every model (README, the no-AMX bench), and measuring them costs seconds of first
    use. `fsr-studio bench` still measures them."""
    if accel.cpu_has_fast_bf16():
        return None
    return "no native bf16 on this CPU (AMX or AVX-512 BF16): emulated bf16 runs slower than fp32; not measured"


def _int8_missing(runtime: str) -> Callable[[], str | None]:
    def missing() -> str | None:
        from .quantize import missing_reason

        return missing_reason() or (_openvino_missing() if runtime == "openvino" else None)

    return missing


def _runtime_prepare(kind: str) -> Callable[[str, nn.Module, torch.device], Any]:
    def prepare(name: str, model: nn.Module, device: torch.device) -> Any:
        path = onnx_file(name, model)
        threads = torch.get_num_threads()
        if kind.endswith("-int8"):
            from .quantize import int8_runner

            return int8_runner(name, path, kind.split("-")[0], threads)
        if kind == "onnxruntime":
            from .onnx_runtime import OnnxModel

            return OnnxModel(path, "cpu", threads=threads)
        from .openvino_runtime import OpenVinoModel

        return OpenVinoModel(path, precision=kind.split("-")[1], threads=threads, cache_dir=cache_dir() / "openvino")

    return prepare


register_path(InferencePath("fp32", "fp32", ("cpu", "cuda"), _torch_prepare("fp32"), description="PyTorch fp32 eager"))
register_path(InferencePath("channels_last", "channels_last", ("cpu",), _torch_prepare("channels_last"),
                            description="PyTorch fp32, channels-last memory format"))
register_path(InferencePath("bf16", "bf16", ("cpu",), _torch_prepare("bf16"),
                            description="PyTorch bf16 autocast + channels-last", hopeless=_emulated_bf16))
register_path(InferencePath("fp16", "fp16", ("cuda",), _torch_prepare("fp16"), description="PyTorch fp16 autocast"))
register_path(InferencePath("onnxruntime", "fp32", ("cpu",), _runtime_prepare("onnxruntime"), _onnxruntime_missing,
                            "ONNX Runtime, CPU execution provider, fp32"))
register_path(InferencePath("openvino", "fp32", ("cpu",), _runtime_prepare("openvino-f32"), _openvino_missing,
                            "OpenVINO CPU, f32 inference precision"))
register_path(InferencePath("openvino-bf16", "fp32", ("cpu",), _runtime_prepare("openvino-bf16"), _openvino_missing,
                            "OpenVINO CPU, bf16 inference precision", hopeless=_emulated_bf16))
# int8 (static post-training quantisation, engine.quantize): auto measures it only for weights whose card records a
# validation on real faces (int8_validated): on the bundled x8 weights it costs 0.1-1 dB, and auto would pay for a
# quantisation it then rejects. Otherwise only when asked for (bench --modes).
register_path(InferencePath("openvino-int8", "fp32", ("cpu",), _runtime_prepare("openvino-int8"),
                            _int8_missing("openvino"), "OpenVINO CPU, int8 post-training quantisation", auto=False))
register_path(InferencePath("onnxruntime-int8", "fp32", ("cpu",), _runtime_prepare("onnxruntime-int8"),
                            _int8_missing("onnxruntime"), "ONNX Runtime, int8 post-training quantisation",
                            auto=False))


# ----- fingerprints, files and the cache -----------------------------------------------------------------------
def cache_dir() -> Path:
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("fsr-studio", appauthor=False))


def verdicts_file() -> Path:
    return cache_dir() / "inference_paths.json"


def fingerprint(model: nn.Module) -> str:
    """The weights' identity: the file's sha256 when the model came from one, else a hash of its tensors."""
    path = getattr(model, "weights_path", "")
    sha = zoo.sha256_cached(path) if path else None
    if sha:
        return "sha256:" + sha
    h = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        h.update(key.encode())
        h.update(tensor.detach().float().contiguous().cpu().numpy().tobytes())
    return "tensors:" + h.hexdigest()


def onnx_file(name: str, model: nn.Module) -> Path:
    """The ONNX export of these weights, made once and kept in the cache folder for the runtime paths."""
    from .onnx_runtime import export_onnx

    path = cache_dir() / "onnx" / f"{name}-{fingerprint(model).split(':')[1][:16]}.onnx"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # the tracer's warnings concern the exporter, not the user
            warnings.simplefilter("ignore")
            export_onnx(name, copy.deepcopy(model).float().cpu().to(memory_format=torch.contiguous_format), path)
    return path


def cache_key(name: str, model: nn.Module, device: torch.device, batch: int) -> dict[str, Any]:
    """Everything a verdict depends on; a change in any of it means measuring again."""
    cpu = cpu_info()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {"schema": SCHEMA, "cpu": cpu.name, "flags": list(cpu.flags), "gpu": gpu, "device": device.type,
            "threads": torch.get_num_threads(), "versions": library_versions(), "variant": name,
            "weights": fingerprint(model), "int8_validated": int8_validated(model), "batch": int(batch)}


def key_id(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def read_cached(path: Path) -> dict[str, Any]:
    """A JSON object of measured verdicts by key id ({} when missing or unreadable: it is measured again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_cached(path: Path, kid: str, value: Any) -> None:
    """Add one verdict to a cache file; a cache that cannot be written only costs a new measurement next time."""
    from .util import atomic_write

    data = read_cached(path)
    data[kid] = value
    try:
        atomic_write(path, (json.dumps(data, indent=1) + "\n").encode())
    except OSError:
        pass


def read_verdicts() -> dict[str, Any]:
    return read_cached(verdicts_file())


def write_verdict(verdict: "Verdict") -> None:
    write_cached(verdicts_file(), key_id(verdict.key), verdict.to_json())


# ----- results, the accuracy gate and the pick -----------------------------------------------------------------
@dataclass
class PathResult:
    """One path's measurement: ms per face, the estimated PSNR cost against fp32, and its status with a note."""

    path: str
    ms_per_face: float | None = None
    psnr_drop_db: float | None = None
    status: str = "ok"  # ok | unavailable | inaccurate | error
    note: str = ""
    batch: int | None = None  # the batch it was timed at


@dataclass
class Verdict:
    """The chosen path, why, every path's result, and the key it was measured under."""

    path: str
    reason: str
    results: list[PathResult] = field(default_factory=list)
    key: dict[str, Any] = field(default_factory=dict)
    measured_at: str = ""
    measured_s: float | None = None  # set only on the call that measured (not on one read from the cache)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Verdict":
        known = {f.name for f in dataclasses.fields(PathResult)}
        results = [PathResult(**{k: v for k, v in r.items() if k in known}) for r in data.get("results", [])]
        return cls(data["path"], data.get("reason", ""), results, data.get("key", {}), data.get("measured_at", ""))

    def fresh(self) -> "Verdict":
        """A copy for later calls: only the call that measured reports the measurement's seconds."""
        return dataclasses.replace(self, measured_s=None)


def psnr_drop_db(reference: np.ndarray, output: np.ndarray, truth: np.ndarray | None = None,
                 assumed_psnr_db: float = ASSUMED_MODEL_PSNR_DB) -> float:
    """How much PSNR `output` loses against `reference` (images in [0, 1]).

    With ground truth it is measured. Without, the path's difference from fp32 is added, as independent noise, to an
    fp32 error of `assumed_psnr_db`: drop = 10 log10(1 + mse(out, ref) / mse_fp32).
    """
    ref, out = np.asarray(reference, np.float64), np.asarray(output, np.float64)
    if not np.isfinite(out).all():
        return math.inf
    if truth is not None:
        gt = np.asarray(truth, np.float64)
        return _psnr(ref, gt) - _psnr(out, gt)
    mse_fp32 = 10 ** (-assumed_psnr_db / 10)
    return 10 * math.log10(1 + float(np.mean((out - ref) ** 2)) / mse_fp32)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * math.log10(1 / max(float(np.mean((a - b) ** 2)), 1e-12))


def pick(results: Sequence[PathResult], baseline: str = "fp32", margin: float = NOISE_MARGIN) -> tuple[str, str]:
    """The fastest accurate path and the reason; the baseline unless another beats it by more than `margin`."""
    usable = [r for r in results if r.status == "ok" and r.ms_per_face is not None]
    base = next((r for r in usable if r.path == baseline), None)
    if not usable:
        return baseline, "nothing could be measured; plain fp32"
    best = min(usable, key=lambda r: r.ms_per_face)  # type: ignore[arg-type, return-value]
    if base is None:
        return best.path, f"{best.path}: {best.ms_per_face:.1f} ms/face, the fastest ({baseline} failed)"
    if best is base or best.ms_per_face > base.ms_per_face * (1 - margin):  # type: ignore[operator]
        return baseline, (f"{baseline}: {base.ms_per_face:.1f} ms/face; no accurate path is more than "
                          f"{margin:.0%} faster")
    speed = base.ms_per_face / best.ms_per_face  # type: ignore[operator]
    return best.path, (f"{best.path}: {best.ms_per_face:.1f} ms/face, {speed:.2f}x {baseline} "
                       f"({base.ms_per_face:.1f}); PSNR cost {best.psnr_drop_db or 0.0:.3f} dB")


# ----- measuring -----------------------------------------------------------------------------------------------
def check_faces(size: int, n: int, seed: int = 0) -> np.ndarray:
    """Fixed face-like inputs: smooth shading and features plus a little texture, the same on every machine."""
    import cv2

    rng = np.random.default_rng(seed)
    faces = []
    for _ in range(n):
        coarse = rng.uniform(40, 220, (4, 4, 3)).astype(np.float32)
        face = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        face += rng.normal(0, 12, (size, size, 3)).astype(np.float32)
        faces.append(np.clip(face, 0, 255).astype(np.uint8))
    return np.stack(faces)


def forward(name: str, runner: Any, x: torch.Tensor, device: torch.device, mode: str) -> torch.Tensor:
    """One batch through `runner` under accel `mode`, synchronised, as a float CPU tensor (timing and checks)."""
    v = zoo.variant(name)
    with accel.inference(device, mode):
        image, _ = v.run(runner, accel.prepare_input(x.to(device), mode))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return image.float().cpu()


def candidates(device: torch.device, names: Sequence[str] | None = None,
               validated: Sequence[str] = ()) -> list[InferencePath]:
    """The paths this device offers: the listed ones, or (`names` None) those auto measures plus the opt-in paths
    `validated` for these weights (see :func:`int8_validated`)."""
    return [p for p in PATHS.values()
            if device.type in p.devices and (p.name in names if names is not None else p.auto or p.name in validated)]


def _minor(version: str | None) -> str:
    return ".".join(str(version or "").split(".")[:2])


def int8_validated(model: nn.Module) -> dict[str, float]:
    """The int8 paths the weights' card says were checked on real faces (scripts/int8_validation.py), each with the
    cost the gate estimated for it on its synthetic check faces then; none unless the card is about these very
    weights and was made with this quantiser (onnxruntime major.minor).

    Why: the gate only sees synthetic faces, where int8 looks worse than on real ones (sparnet-light3d: 0.10 dB
    estimated, 0.04 dB measured on faces). A validated path is held to what was validated instead: its estimate
    here may exceed the recorded one by at most `INT8_SLACK_DB` (another CPU's int8 kernels must match).
    """
    path = getattr(model, "weights_path", "")
    if not path or not Path(path).is_file():
        return {}
    try:
        record = zoo.read_card(path).get("int8")
    except (zoo.CheckpointError, OSError):
        return {}
    if not isinstance(record, dict) or f"sha256:{record.get('weights_sha256')}" != fingerprint(model):
        return {}
    if _minor(record.get("onnxruntime")) != _minor(library_versions().get("onnxruntime")):
        return {}
    accepted, drops = record.get("accepted_paths"), record.get("check_drop_db")
    if not isinstance(accepted, list) or not isinstance(drops, dict):
        return {}
    return {p: float(drops[p]) for p in accepted
            if p in PATHS and isinstance(drops.get(p), (int, float)) and math.isfinite(drops[p])}


def gate_limit(path: str, validated: dict[str, float]) -> float:
    """The largest estimated PSNR cost `path` may have: the tolerance, or for a validated int8 path what was
    estimated when it was validated, plus a little slack."""
    return max(TOLERANCE_DB, validated[path] + INT8_SLACK_DB) if path in validated else TOLERANCE_DB


def _prepare_all(name: str, model: nn.Module, device: torch.device, paths: Sequence[InferencePath],
                 results: dict[str, PathResult], skip_hopeless: bool = True) -> dict[str, Any]:
    """Each available path's runner; the others get a result saying why they are out."""
    prepared = {}
    for p in paths:
        why = p.missing() or (p.hopeless() if skip_hopeless and p.name != "fp32" else None)
        if why:
            results[p.name] = PathResult(p.name, status="unavailable", note=why)
            continue
        try:
            prepared[p.name] = p.prepare(name, model, device)
        except Exception as exc:
            results[p.name] = PathResult(p.name, status="error", note=f"prepare failed: {exc}"[:300])
    return prepared


def _gate(name: str, prepared: dict[str, Any], x: torch.Tensor, device: torch.device,
          results: dict[str, PathResult], validated: dict[str, float] | None = None) -> dict[str, float]:
    """Warm every path up on the check faces; those within their PSNR limit (:func:`gate_limit`) get their warm-up
    seconds."""
    reference = forward(name, prepared["fp32"], x, device, "fp32").numpy()
    kept = {}
    for path, runner in prepared.items():
        try:
            t0 = time.perf_counter()
            out = forward(name, runner, x, device, PATHS[path].torch_mode).numpy()
            seconds = time.perf_counter() - t0
        except Exception as exc:
            results[path] = PathResult(path, status="error", note=f"run failed: {exc}"[:300])
            continue
        drop = psnr_drop_db(reference, out)
        results[path] = PathResult(path, psnr_drop_db=round(drop, 4) if math.isfinite(drop) else None)
        limit = gate_limit(path, validated or {})
        if drop >= limit:
            results[path].status, results[path].note = "inaccurate", f"PSNR cost {drop:.3f} dB >= {limit:.3f} dB"
        else:
            kept[path] = seconds
    return kept


def _rounds(name: str, runners: dict[str, Any], x: torch.Tensor, device: torch.device, budget_s: float,
            max_rounds: int = MAX_ROUNDS) -> dict[str, list[float]]:
    """Round-robin timed forwards (a change in load hits every path alike) until the budget is spent; >= 1 round."""
    times: dict[str, list[float]] = {p: [] for p in runners}
    start = time.perf_counter()
    for _ in range(max_rounds):
        for path, runner in runners.items():
            t0 = time.perf_counter()
            forward(name, runner, x, device, PATHS[path].torch_mode)
            times[path].append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return times


def _record(results: dict[str, PathResult], times: dict[str, list[float]], batch: int, note: str = "") -> None:
    for path, ts in times.items():
        results[path].ms_per_face = round(1000 * statistics.median(ts) / batch, 3)
        results[path].batch = batch
        results[path].note = note or results[path].note


def _timings(name: str, runners: dict[str, Any], warm: dict[str, float], faces: np.ndarray, batch: int,
             device: torch.device, budget_s: float, results: dict[str, PathResult]) -> None:
    """Time every kept path: at `batch` when a warm-up and a timed round of it fit the budget, else at the check
    batch; a slow model (fp32 warm-up over SLOW_MODEL_S) is timed by its warm-up, so the one-time cost stays small."""
    v = zoo.variant(name)
    if warm["fp32"] > SLOW_MODEL_S:
        _record(results, {p: [s] for p, s in warm.items()}, len(faces), "timed by its warm-up (slow model)")
        return
    small = v.to_input(faces)
    probe = _rounds(name, runners, small, device, 0.0, max_rounds=1)
    round_s = sum(ts[0] for ts in probe.values())
    if batch > len(faces) and 2 * round_s * batch / len(faces) <= budget_s:
        x = v.to_input(np.resize(faces, (batch, *faces.shape[1:])))
        _rounds(name, runners, x, device, 0.0, max_rounds=1)  # warm-up at this shape (runtimes compile per shape)
        _record(results, _rounds(name, runners, x, device, budget_s - 2 * round_s * batch / len(faces)), batch)
        return
    more = _rounds(name, runners, small, device, budget_s - round_s, max_rounds=MAX_ROUNDS - 1)
    _record(results, {p: probe[p] + more[p] for p in runners}, len(faces))


def measure(name: str, model: nn.Module, device: torch.device, batch: int, *, paths: Sequence[str] | None = None,
            budget_s: float = BUDGET_S, keep: dict[str, Any] | None = None) -> list[PathResult]:
    """Every path for this model and batch size: available?, accurate?, how fast? fp32 is always measured.

    Paths are warmed up and checked on `CHECK_FACES` fixed faces, then timed (see `_timings`). `keep` receives the
    prepared runners, so the chosen one is not built twice.
    """
    v = zoo.variant(name)
    validated = int8_validated(model)
    chosen = candidates(device, None if paths is None else ["fp32", *paths], list(validated))
    results: dict[str, PathResult] = {}
    prepared = _prepare_all(name, model, device, chosen, results, skip_hopeless=paths is None)
    if "fp32" not in prepared:
        return [results.get(p.name, PathResult(p.name, status="error")) for p in chosen]
    faces = check_faces(v.lr_size, CHECK_FACES)
    warm = _gate(name, prepared, v.to_input(faces), device, results, validated)
    if "fp32" in warm:
        _timings(name, {p: prepared[p] for p in warm}, warm, faces, batch, device, budget_s, results)
    if keep is not None:
        keep.update(prepared)
    return [results[p.name] for p in chosen if p.name in results]


# ----- the verdict -----------------------------------------------------------------------------------------------
_VERDICTS: dict[str, Verdict] = {}
_RUNTIMES: dict[tuple[str, str, str], Any] = {}


def forced_path(device: torch.device) -> str | None:
    """The path `ENV_FORCE` pins, if any: a path name, or "flags" for the old guess from CPU flags (the test suite
    uses it, so every test does not pay for a measurement). A path this device lacks falls back to fp32."""
    value = os.environ.get(ENV_FORCE, "").strip()
    if not value:
        return None
    if value == "flags":
        return accel.resolve_mode("auto", device)
    if value not in PATHS:
        raise ValueError(f"{ENV_FORCE}={value!r} is not a path; choose from flags, {', '.join(PATHS)}")
    return value if device.type in PATHS[value].devices else "fp32"


def choose(name: str, model: nn.Module, device: torch.device, batch: int, *, refresh: bool = False) -> Verdict:
    """The cached verdict for this machine, libraries, model and batch size, measured now if there is none."""
    forced = forced_path(device)
    if forced:
        return Verdict(forced, f"set by {ENV_FORCE}")
    key = cache_key(name, model, device, batch)
    kid = key_id(key)
    if not refresh:
        if kid in _VERDICTS:
            return _VERDICTS[kid].fresh()
        stored = read_verdicts().get(kid)
        if isinstance(stored, dict):
            try:
                _VERDICTS[kid] = Verdict.from_json(stored)
                return _VERDICTS[kid]
            except (KeyError, TypeError):
                pass
    prepared: dict[str, Any] = {}
    t0 = time.perf_counter()
    results = measure(name, model, device, batch, keep=prepared)
    path, reason = pick(results)
    verdict = Verdict(path, reason, results, key, time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                      round(time.perf_counter() - t0, 2))
    if not PATHS[path].is_torch:
        _RUNTIMES[(path, name, key["weights"])] = prepared[path]
    _VERDICTS[kid] = verdict
    write_verdict(verdict.fresh())
    return verdict


def runner_for(path: str, name: str, model: nn.Module, device: torch.device) -> tuple[Any, str]:
    """What `Variant.run` should be given for `path`, and the accel mode to run it under.

    PyTorch paths use the caller's model (infer prepares its memory format); runtime paths reuse one session per
    weights, made on first use.
    """
    p = PATHS[path]
    if p.is_torch:
        return model, p.torch_mode
    key = (path, name, fingerprint(model))
    if key not in _RUNTIMES:
        _RUNTIMES[key] = p.prepare(name, model, device)
    return _RUNTIMES[key], p.torch_mode


def current_verdicts() -> list[Verdict]:
    """The cached verdicts that still hold on this machine (same CPU and library versions), for display."""
    cpu, versions = cpu_info(), library_versions()
    out = []
    for data in read_verdicts().values():
        key = data.get("key", {}) if isinstance(data, dict) else {}
        if key.get("cpu") == cpu.name and key.get("flags") == list(cpu.flags) and key.get("versions") == versions:
            try:
                out.append(Verdict.from_json(data))
            except (KeyError, TypeError):
                continue
    return sorted(out, key=lambda v: (str(v.key.get("variant")), int(v.key.get("batch", 0))))
