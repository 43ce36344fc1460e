"""Per-face latency, peak memory and accuracy of every inference path of every model variant on this machine.

Paths are engine.runtime_choice's: PyTorch fp32 / channels_last / bf16 autocast, ONNX Runtime, OpenVINO f32/bf16,
int8 on either runtime (engine.quantize; bench-only so far) and fp16 on CUDA. Each (variant, batch, path) runs in
its own subprocess so its peak resident memory is its own. Latency is the median of `--repeat` timed forwards after
one warm-up, divided by the batch size. Weights are the bundled or user ones when present (so the PSNR check means
something), random otherwise (speed does not depend on them). Each path's PSNR cost against fp32 PyTorch is
measured on the chooser's fixed faces, and per model and batch the table marks the path `precision="auto"` would
choose from these timings (the same rule: the fastest path within the PSNR tolerance, fp32 unless another is more
than 3% faster). The CPU's name and its AMX / AVX-512 BF16 / VNNI flags head the output and the JSON. Measure with
nothing else running.

This module measures and tabulates; the command that runs it is `fsr-studio bench` (app/commands/bench.py):

    fsr-studio bench --batches 1,8 --json bench_out/paths.json --markdown bench_out/paths_table.md
"""
from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Any

ALIASES = {"onnx": "onnxruntime"}  # the name `fsr-studio bench` used before the paths had names of their own


def _model(name: str) -> tuple[Any, str]:
    """The variant with its weights when the zoo finds them, else freshly initialised."""
    from engine import zoo

    if zoo.find_weights(name) is not None:
        try:
            model = zoo.load(name, device="cpu")
            return model, Path(model.weights_path).name
        except (zoo.WeightsNotFound, zoo.CheckpointError):
            pass
    return zoo.build(name).eval(), "random"


def _reference(name: str, model: Any) -> Any:
    """fp32 PyTorch on the chooser's check faces: what every path's output is compared with."""
    import torch

    from engine import runtime_choice as rc
    from engine import zoo

    v = zoo.variant(name)
    x = v.to_input(rc.check_faces(v.lr_size, rc.CHECK_FACES))
    return x, rc.forward(name, model, x, torch.device("cpu"), "fp32").numpy()


def measure_one(name: str, batch: int, path: str, repeat: int, threads: int, device_name: str = "cpu") -> dict:
    """Build `name`, check `path` against fp32 and time `repeat` forwards of a batch; runs inside the child."""
    import numpy as np
    import torch

    from engine import accel, zoo
    from engine import runtime_choice as rc

    if threads:
        torch.set_num_threads(threads)
    base_rss = peak_rss_mb()
    device = torch.device(device_name)
    v = zoo.variant(name)
    model, weights = _model(name)
    params = zoo.parameter_count(model)
    check_x, reference = _reference(name, model)
    p = rc.PATHS[path]
    if p.is_torch:  # in place, so the peak memory is that of one model
        runner = accel.prepare_model(model.to(device), p.torch_mode)
    else:
        runner = p.prepare(name, model, device)
    drop = rc.psnr_drop_db(reference, rc.forward(name, runner, check_x, device, p.torch_mode).numpy())
    validated = rc.int8_validated(model)
    faces = rc.check_faces(v.lr_size, rc.CHECK_FACES)
    x = v.to_input(np.resize(faces, (batch, *faces.shape[1:])))
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        rc.forward(name, runner, x, device, p.torch_mode)
        if i:  # the first forward is a warm-up (allocator, oneDNN primitive caches, per-shape compilation)
            times.append(time.perf_counter() - t0)
    return {"model": name, "batch": batch, "mode": path, "ms_per_face": 1000 * statistics.median(times) / batch,
            "psnr_drop_db": round(drop, 4) if drop != float("inf") else None,
            "accurate": drop < rc.gate_limit(path, validated), "offered": p.auto or path in validated,
            "weights": weights,
            "peak_rss_mb": peak_rss_mb(), "model_rss_mb": peak_rss_mb() - base_rss,
            "parameters": params, "threads": torch.get_num_threads()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def path_results(rows: list[dict]) -> list[Any]:
    """Bench rows as the chooser's PathResults, so `pick` decides exactly as `precision="auto"` does."""
    from engine import runtime_choice as rc

    out = []
    for r in rows:
        if "error" in r:
            out.append(rc.PathResult(r["mode"], status="error", note=str(r["error"])))
        else:
            status = "ok" if r.get("accurate", True) else "inaccurate"
            out.append(rc.PathResult(r["mode"], r["ms_per_face"], r.get("psnr_drop_db"), status, batch=r["batch"]))
    return out


def chosen_paths(rows: list[dict]) -> dict[str, dict]:
    """Per "model@batch": the path auto picks from these rows, why, and its speed-up over fp32 eager. Only paths auto
    measures take part (int8 only for weights whose card records a validation on real faces)."""
    from engine import runtime_choice as rc

    out: dict[str, dict] = {}
    for name, batch in dict.fromkeys((r["model"], r["batch"]) for r in rows if r["mode"] != "-"):
        mine = [r for r in rows if r["model"] == name and r["batch"] == batch
                and r.get("offered", r["mode"] not in rc.PATHS or rc.PATHS[r["mode"]].auto)]
        path, reason = rc.pick(path_results(mine))
        ms = {r["mode"]: r["ms_per_face"] for r in mine if "error" not in r}
        speedup = ms["fp32"] / ms[path] if "fp32" in ms and path in ms else None
        out[f"{name}@{batch}"] = {"model": name, "batch": batch, "path": path, "reason": reason,
                                  "ms_per_face": ms.get(path), "speedup_vs_fp32": speedup}
    return out


def machine() -> dict[str, Any]:
    import torch

    from engine import runtime_choice as rc

    cpu = rc.cpu_info()
    return {"cpu": cpu.name, "amx": cpu.amx, "avx512_bf16": cpu.avx512_bf16, "vnni": cpu.vnni,
            "flags": list(cpu.flags), "describe": cpu.describe(), "cores": os.cpu_count(),
            "threads": torch.get_num_threads(), "python": platform.python_version(), **rc.library_versions()}


def format_table(rows: list[dict], chosen: dict[str, dict] | None = None) -> str:
    """Every path of every model and batch; the chosen one in bold."""
    chosen = chosen or {}
    lines = ["| model | batch | path | ms / face | x fp32 | PSNR cost (dB) | peak RSS (MB) | auto |",
             "|---|---:|---|---:|---:|---:|---:|---|"]
    fp32 = {(r["model"], r["batch"]): r["ms_per_face"] for r in rows if r["mode"] == "fp32" and "error" not in r}
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['batch']} | {r['mode']} | error: {r['error']} | | | | |")
            continue
        base = fp32.get((r["model"], r["batch"]))
        speed = f"{base / r['ms_per_face']:.2f}x" if base else ""
        drop = "" if r.get("psnr_drop_db") is None else f"{r['psnr_drop_db']:.3f}"
        drop += "" if r.get("accurate", True) else " (fails)"
        drop += "" if r.get("offered", True) else " (not offered: not validated)"
        pick = chosen.get(f"{r['model']}@{r['batch']}", {}).get("path") == r["mode"]
        lines.append(f"| {r['model']} | {r['batch']} | {r['mode']} | {r['ms_per_face']:.1f} | {speed} | {drop} | "
                     f"{r['peak_rss_mb']:.0f} | {'**chosen**' if pick else ''} |")
    return "\n".join(lines)


def format_summary(chosen: dict[str, dict]) -> str:
    lines = ["| model | batch | auto's path | ms / face | x fp32 eager |", "|---|---:|---|---:|---:|"]
    for c in chosen.values():
        ms = "" if c["ms_per_face"] is None else f"{c['ms_per_face']:.1f}"
        speed = "" if c["speedup_vs_fp32"] is None else f"{c['speedup_vs_fp32']:.2f}x"
        lines.append(f"| {c['model']} | {c['batch']} | {c['path']} | {ms} | {speed} |")
    return "\n".join(lines)


def path_names(modes: str, device: str) -> list[str]:
    """The paths to measure: every one the device offers for "all", else the listed ones (old names accepted)."""
    import torch

    from engine import runtime_choice as rc

    if modes == "all":  # the opt-in paths (int8) included
        return [p.name for p in rc.candidates(torch.device(device), list(rc.PATHS))]
    names = [ALIASES.get(m, m) for m in modes.split(",")]
    unknown = [m for m in names if m not in rc.PATHS]
    if unknown:
        raise ValueError(f"unknown path(s) {', '.join(unknown)}; choose from {', '.join(rc.PATHS)}")
    return names


def unavailable(names: list[str]) -> dict[str, str]:
    """The paths among `names` this installation cannot run, with the reason (a missing optional package)."""
    from engine import runtime_choice as rc

    return {n: why for n in names if (why := rc.PATHS[n].missing())}
