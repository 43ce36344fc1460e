"""Per-face latency, peak memory and accuracy of every inference path of every model variant on this machine.

Paths are engine.runtime_choice's (PyTorch fp32 / channels_last / bf16 autocast, ONNX Runtime, OpenVINO f32/bf16,
int8 on either runtime, fp16 on CUDA). Each (variant, batch, path) runs in its own subprocess (this command with the
internal --one) so its peak resident memory is its own; the measuring and the tables are engine.bench. Per model and
batch the table marks the path `precision="auto"` would choose from these timings. Measure with nothing else running.

    fsr-studio bench --batches 1,8 --json bench_out/paths.json --markdown bench_out/paths_table.md
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from app.commands import self_command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="all", help="comma-separated variants (default: every variant)")
    parser.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    parser.add_argument("--modes", default="all",
                        help="comma-separated inference paths (default: every path of the device; see the output)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeat", type=int, default=5, help="timed forwards per configuration")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--max-seconds", type=float, default=120.0,
                        help="skip larger batches of a variant whose batch-1 forward already takes this long")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--markdown", type=Path, help="write the tables (machine line included) here")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure a single "name:batch:path"


def run_child(name: str, batch: int, mode: str, repeat: int, threads: int, device: str = "cpu") -> dict:
    """One configuration measured in a fresh process (`fsr-studio bench --one`), so its peak memory is its own."""
    cmd = [*self_command(), "bench", "--one", f"{name}:{batch}:{mode}", "--repeat", str(repeat),
           "--threads", str(threads), "--device", device]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"model": name, "batch": batch, "mode": mode, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> int:
    from engine import bench

    if args.one:
        name, batch, mode = args.one.split(":")
        print(json.dumps(bench.measure_one(name, int(batch), mode, args.repeat, args.threads, args.device)))
        return 0
    from engine import zoo

    names = zoo.names() if args.models == "all" else args.models.split(",")
    batches = sorted(int(b) for b in args.batches.split(","))
    try:
        modes = bench.path_names(args.modes, args.device)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    missing = bench.unavailable(modes)
    modes = [m for m in modes if m not in missing]
    info = bench.machine()
    print(f"CPU: {info['describe']}; {info['threads']} torch threads; torch {info['torch']}, onnxruntime "
          f"{info['onnxruntime']}, openvino {info['openvino']}", flush=True)
    for path, why in missing.items():
        print(f"path {path}: unavailable ({why})", flush=True)
    rows = _measure_all(names, batches, modes, args)
    chosen = bench.chosen_paths(rows)
    report = {"machine": info, "unavailable": missing, "rows": rows, "chosen": chosen}
    text = "\n\n".join([f"CPU: {info['describe']}, {info['threads']} threads", bench.format_table(rows, chosen),
                        bench.format_summary(chosen)])
    print(text)
    for c in chosen.values():
        print(f"  {c['model']} batch {c['batch']}: {c['reason']}")
    for target, data in ((args.json, json.dumps(report, indent=2)), (args.markdown, text + "\n")):
        if target:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(data)
    return 0


def _measure_all(names: list[str], batches: list[int], modes: list[str], args: argparse.Namespace) -> list[dict]:
    rows: list[dict] = []
    for name in names:
        too_slow = False
        for batch in batches:
            if too_slow:
                rows.append({"model": name, "batch": batch, "mode": "-", "error": "skipped (--max-seconds)"})
                continue
            for mode in modes:
                row = run_child(name, batch, mode, args.repeat, args.threads, args.device)
                rows.append(row)
                print(json.dumps(row), flush=True)
            fastest = min((r["ms_per_face"] * r["batch"] for r in rows[-len(modes):] if "error" not in r),
                          default=0)
            too_slow = fastest / 1000 * max(batches) / batch > args.max_seconds
    return rows
