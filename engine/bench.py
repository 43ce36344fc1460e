"""Per-face forward latency and peak memory of every model variant on this machine (a benchmark, not a test).

Each (variant, batch, mode) runs in its own subprocess so its peak resident memory is its own. Latency is the median
of `--repeat` timed forwards after one warm-up, divided by the batch size. Weights are random (speed does not depend
on them). Prints a table and writes JSON with `--json`.

    python -m engine.bench --batches 1,8 --json bench_out/models.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="all", help="comma-separated variants (default: every variant)")
    parser.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    parser.add_argument("--modes", default="fp32,channels_last,bf16,onnx",
                        help="precision/layout modes to compare (onnx: ONNX Runtime)")
    parser.add_argument("--repeat", type=int, default=5, help="timed forwards per configuration")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--max-seconds", type=float, default=120.0,
                        help="skip larger batches of a variant whose batch-1 forward already takes this long")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure a single "name:batch:mode"


def measure_one(name: str, batch: int, mode: str, repeat: int, threads: int) -> dict:
    """Build `name`, time `repeat` forwards of a random batch in `mode`; runs inside the child process."""
    import numpy as np
    import torch

    from engine import accel, zoo

    if threads:
        torch.set_num_threads(threads)
    base_rss = _peak_rss_mb()
    v = zoo.variant(name)
    device = torch.device("cpu")
    model = v.build().eval()
    params = zoo.parameter_count(model)
    if mode == "onnx":  # ONNX Runtime (CPU provider here) behind the same Variant.run interface
        import tempfile

        from engine.onnx_runtime import OnnxModel, export_onnx

        path = Path(tempfile.mkdtemp()) / f"{name}.onnx"
        model = OnnxModel(export_onnx(name, model, path))
        mode_for_torch = "fp32"
    else:
        model = accel.prepare_model(model, mode)
        mode_for_torch = mode
    faces = np.random.default_rng(0).integers(0, 256, (batch, v.lr_size, v.lr_size, 3), dtype=np.uint8)
    x = accel.prepare_input(v.to_input(faces), mode_for_torch)
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        with accel.inference(device, mode_for_torch):
            image, _ = v.run(model, x)
        if i:  # the first forward is a warm-up (allocator, oneDNN primitive caches)
            times.append(time.perf_counter() - t0)
    return {"model": name, "batch": batch, "mode": mode, "ms_per_face": 1000 * statistics.median(times) / batch,
            "peak_rss_mb": _peak_rss_mb(), "model_rss_mb": _peak_rss_mb() - base_rss,
            "parameters": params, "threads": torch.get_num_threads()}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def run_child(name: str, batch: int, mode: str, repeat: int, threads: int) -> dict:
    cmd = [sys.executable, "-m", "engine.bench", "--one", f"{name}:{batch}:{mode}", "--repeat", str(repeat),
           "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"model": name, "batch": batch, "mode": mode, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_modes(rows: list[dict]) -> dict[str, dict]:
    """Per variant, the fastest mode at batch 1 and its speed-up over plain fp32."""
    out: dict[str, dict] = {}
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name and r["batch"] == min(x["batch"] for x in rows) and "error" not in r]
        if not mine:
            continue
        fp32 = next((r["ms_per_face"] for r in mine if r["mode"] == "fp32"), None)
        best = min(mine, key=lambda r: r["ms_per_face"])
        out[name] = {"mode": best["mode"], "ms_per_face": best["ms_per_face"],
                     "speedup_vs_fp32": (fp32 / best["ms_per_face"]) if fp32 else None}
    return out


def format_table(rows: list[dict]) -> str:
    lines = ["| model | batch | mode | ms / face | peak RSS (MB) |", "|---|---:|---|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['batch']} | {r['mode']} | error: {r['error']} | |")
        else:
            lines.append(f"| {r['model']} | {r['batch']} | {r['mode']} | {r['ms_per_face']:.1f} | "
                         f"{r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.one:
        name, batch, mode = args.one.split(":")
        print(json.dumps(measure_one(name, int(batch), mode, args.repeat, args.threads)))
        return 0
    from engine import zoo

    names = zoo.names() if args.models == "all" else args.models.split(",")
    batches = sorted(int(b) for b in args.batches.split(","))
    modes = args.modes.split(",")
    rows: list[dict] = []
    for name in names:
        too_slow = False
        for batch in batches:
            if too_slow:
                rows.append({"model": name, "batch": batch, "mode": "-", "error": "skipped (--max-seconds)"})
                continue
            for mode in modes:
                row = run_child(name, batch, mode, args.repeat, args.threads)
                rows.append(row)
                print(json.dumps(row), flush=True)
            fastest = min((r["ms_per_face"] * r["batch"] for r in rows[-len(modes):] if "error" not in r),
                          default=0)
            too_slow = fastest / 1000 * max(batches) / batch > args.max_seconds
    report = {"machine": {"cpu": _cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()},
              "rows": rows, "best": best_modes(rows)}
    print(format_table(rows))
    print("\nbest mode per model (batch %d):" % batches[0])
    for name, b in report["best"].items():
        speed = f"{b['speedup_vs_fp32']:.2f}x fp32" if b["speedup_vs_fp32"] else ""
        print(f"  {name:<18} {b['mode']:<14} {b['ms_per_face']:.1f} ms/face {speed}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def _cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="ascii", errors="ignore"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
