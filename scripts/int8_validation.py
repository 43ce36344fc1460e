"""Validate the int8 inference paths of bundled weights on real validation faces, and record the verdict in the card.

Why: the runtime accuracy gate (engine.runtime_choice) can only check synthetic face-like inputs, because a user's
machine has no validation faces. int8 changes outputs more than float paths do, so it is offered to `auto` only for
weights whose int8 version was checked here on real faces: the face-size benchmark (the same photos, alignment,
no-harm check and composition as a real photo) run once through PyTorch fp32 and once through each int8 path. The
weights pass when no size loses `TOLERANCE_DB` of PSNR-Y or more and the mean over sizes loses less than that.
Weights trained on the papers' x8 protocol (a clean face shrunk to 16 px) must also pass on that protocol's own
input, the data's LR_x8 faces (`--x8-limit` of them): in the face-size benchmark every face is shrunk to their 16 px
input and the no-harm check often keeps the photo's pixels under both paths, which hid a 0.11 dB int8 loss of
sparnet-light3d on 100 faces of the x8 protocol behind a 0.04 dB drop on the benchmark.

    python scripts/int8_validation.py -m sparnet-blind --data ../shared/data/celeba_val128 --limit 40 \\
        --sizes 16,24,32,48,64,96 --json docs/results/int8_validation.json --write-card

The verdict is stored in the card as "int8": {accepted paths, weights sha256, onnxruntime version, worst drops, and
each path's cost estimate on the runtime gate's synthetic check faces}; engine.runtime_choice reads it
(`int8_validated`), so new weights or a new quantiser need a new validation, and a machine whose int8 output strays
from the validated one is caught by the gate. A JSON that already holds a model's benchmark for the same weights,
faces, sizes and paths is reused (only the gate estimates are recomputed).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import evaluate, face_bench, runtime_choice as rc, zoo  # noqa: E402
from engine.util import atomic_write  # noqa: E402

INT8_PATHS = ("openvino-int8", "onnxruntime-int8")
METRICS = ("psnr_y", "ssim_y", "identity", "nrmse")


@contextmanager
def forced(path: str):
    """Every network run inside this block takes inference path `path`."""
    before = os.environ.get(rc.ENV_FORCE)
    os.environ[rc.ENV_FORCE] = path
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(rc.ENV_FORCE, None)
        else:
            os.environ[rc.ENV_FORCE] = before


def bench_path(path: str, faces: face_bench.BenchFaces, model: str, sizes: list[int]) -> dict[str, Any]:
    """The face-size report of `model` with every network run on inference path `path`."""
    with forced(path):
        return face_bench.run(faces, [model], sizes, judge=True, log=lambda s: print(f"  [{path}] {s}", flush=True))


def x8_protocol(model: str, data: str | Path, limit: int, paths: list[str]) -> dict[str, Any] | None:
    """For x8-protocol weights: mean PSNR-Y on `limit` LR_x8 faces of `data` under fp32 and each path, and each
    path's drop (None for other weights: their input is a face at its real size, which the benchmark covers)."""
    if zoo.variant(model).scale != 8:
        return None
    faces = evaluate.load_eval_set(data, limit=limit)
    psnr = {}
    for path in ["fp32", *paths]:
        with forced(path):
            psnr[path] = evaluate.evaluate([model], faces, judge=False)[model]["psnr_y"]
        print(f"  [{path}] x8 protocol, {len(faces.names)} faces: {psnr[path]:.4f} dB", flush=True)
    return {"faces": len(faces.names), "lr_synthesised": faces.lr_synthesised,
            "psnr_y": {k: round(v, 4) for k, v in psnr.items()},
            "psnr_drop_db": {p: round(psnr["fp32"] - psnr[p], 4) for p in paths}}


def accept_x8(result: dict[str, Any]) -> None:
    """A path passes when it loses less than TOLERANCE_DB at every benchmark size and, where measured, on the x8
    protocol."""
    protocol = result.get("x8_protocol")
    for path, row in result["paths"].items():
        row["accepted"] = bool(row["max_psnr_drop_db"] < rc.TOLERANCE_DB)
        if protocol:
            row["x8_psnr_drop_db"] = protocol["psnr_drop_db"][path]
            row["accepted"] = bool(row["accepted"] and row["x8_psnr_drop_db"] < rc.TOLERANCE_DB)


def compare(reference: dict[str, Any], other: dict[str, Any], model: str) -> dict[str, Any]:
    """Per size: each metric under fp32 and under the int8 path, and the PSNR-Y drop."""
    rows = {}
    for size, by_model in reference["sizes"].items():
        ref, got = by_model[model], other["sizes"][size][model]
        rows[size] = {"fp32": {k: round(ref[k], 4) for k in METRICS if k in ref},
                      "int8": {k: round(got[k], 4) for k in METRICS if k in got},
                      "psnr_drop_db": round(ref["psnr_y"] - got["psnr_y"], 4)}
    drops = [r["psnr_drop_db"] for r in rows.values()]
    return {"sizes": rows, "max_psnr_drop_db": max(drops), "mean_psnr_drop_db": round(sum(drops) / len(drops), 4),
            "accepted": max(drops) < rc.TOLERANCE_DB}


def check_drops(model: str, paths: list[str]) -> dict[str, float]:
    """Each path's PSNR-cost estimate on the runtime gate's synthetic check faces, as engine.runtime_choice computes
    it on a user's machine: there a validated path must not stray beyond this (plus `INT8_SLACK_DB`)."""
    import torch

    net = zoo.load(model, device="cpu")
    device = torch.device("cpu")
    v = zoo.variant(model)
    x = v.to_input(rc.check_faces(v.lr_size, rc.CHECK_FACES))
    reference = rc.forward(model, net, x, device, "fp32").numpy()
    drops = {}
    for path in paths:
        runner = rc.PATHS[path].prepare(model, net, device)
        drops[path] = round(rc.psnr_drop_db(reference, rc.forward(model, runner, x, device, "fp32").numpy()), 4)
    return drops


def reusable(previous: Any, weights_sha: str, faces: face_bench.BenchFaces, sizes: list[int],
             paths: list[str]) -> bool:
    """A result in the JSON already measured on these weights, faces, sizes and paths (the benchmark is the slow part)."""
    return (isinstance(previous, dict) and previous.get("weights_sha256") == weights_sha
            and previous.get("faces") == len(faces.names) and previous.get("sizes") == sizes
            and set(paths) <= set(previous.get("paths", {})) and previous.get("data") == str(faces.root))


def validate(model: str, faces: face_bench.BenchFaces, sizes: list[int], paths: list[str],
             previous: Any = None, x8_limit: int = 200) -> dict[str, Any]:
    result = validate_face_sizes(model, faces, sizes, paths, previous)
    protocol = result.get("x8_protocol")
    if zoo.variant(model).scale == 8 and not (protocol and protocol.get("faces") == x8_limit
                                              and set(paths) <= set(protocol.get("psnr_drop_db", {}))):
        print(f"{model}: x8 protocol", flush=True)
        result["x8_protocol"] = x8_protocol(model, faces.root, x8_limit, paths)
    accept_x8(result)
    return result


def validate_face_sizes(model: str, faces: face_bench.BenchFaces, sizes: list[int], paths: list[str],
                        previous: Any = None) -> dict[str, Any]:
    weights = zoo.find_weights(model)
    if weights is None:
        raise SystemExit(zoo.missing_weights_message(model))
    if reusable(previous, zoo.sha256_of(weights), faces, sizes, paths):
        print(f"{model}: face-size benchmark already in the JSON for these weights; gate estimates only", flush=True)
        previous["check_drop_db"] = check_drops(model, paths)
        return previous
    print(f"{model}: fp32 reference", flush=True)
    reference = bench_path("fp32", faces, model, sizes)
    result: dict[str, Any] = {"weights_sha256": zoo.sha256_of(weights), "versions": rc.library_versions(),
                              "data": str(faces.root), "faces": len(faces.names), "sizes": sizes,
                              "tolerance_db": rc.TOLERANCE_DB, "paths": {}}
    for path in paths:
        print(f"{model}: {path}", flush=True)
        result["paths"][path] = compare(reference, bench_path(path, faces, model, sizes), model)
        print(f"  {path}: max drop {result['paths'][path]['max_psnr_drop_db']:+.3f} dB, "
              f"accepted {result['paths'][path]['accepted']}", flush=True)
    result["check_drop_db"] = check_drops(model, paths)
    return result


def write_card(model: str, result: dict[str, Any], command: str) -> None:
    weights = zoo.find_weights(model)
    card_file = zoo.card_path(weights)  # type: ignore[arg-type]
    card = json.loads(card_file.read_text(encoding="utf-8"))
    card["int8"] = {"accepted_paths": [p for p, r in result["paths"].items() if r["accepted"]],
                    "weights_sha256": result["weights_sha256"],
                    "onnxruntime": result["versions"].get("onnxruntime"),
                    "max_psnr_drop_db": {p: r["max_psnr_drop_db"] for p, r in result["paths"].items()},
                    "check_drop_db": result["check_drop_db"],
                    "data": f"{result['data']} (first {result['faces']} faces), face-size benchmark at "
                            f"{','.join(map(str, result['sizes']))} px" + x8_words(result),
                    "measured_by": command}
    zoo.write_card(weights, card)  # type: ignore[arg-type]


def x8_words(result: dict[str, Any]) -> str:
    """"; x8 protocol on the first 200 faces (drops ...)" for the card, or nothing."""
    protocol = result.get("x8_protocol")
    if not protocol:
        return ""
    drops = ", ".join(f"{p} {d:+.3f} dB" for p, d in protocol["psnr_drop_db"].items())
    return f"; x8 protocol on the first {protocol['faces']} LR_x8 faces (PSNR-Y drop {drops})"


def readme_table(results: dict[str, Any]) -> str:
    """The README's table of verdicts, one row per validated weight file (tests/test_docs.py compares the two)."""
    lines = ["| weights | worst PSNR-Y drop on the face-size benchmark, OpenVINO int8 | ONNX Runtime int8 | "
             "drop on the x8 protocol, OpenVINO int8 | ONNX Runtime int8 | offered to auto |",
             "|---|---:|---:|---:|---:|---|"]
    for model, result in results.items():
        rows = [result["paths"][p] for p in INT8_PATHS]
        x8 = [f"{r['x8_psnr_drop_db']:.4f} dB" if "x8_psnr_drop_db" in r else "-" for r in rows]
        offered = "yes" if all(r["accepted"] for r in rows) else (
            "no" if not any(r["accepted"] for r in rows) else "partly")
        lines.append(f"| `{model}` | {rows[0]['max_psnr_drop_db']:.4f} dB | {rows[1]['max_psnr_drop_db']:.4f} dB | "
                     f"{x8[0]} | {x8[1]} | {offered} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-m", "--models", required=True, help="comma-separated variants with bundled weights")
    p.add_argument("--data", required=True)
    p.add_argument("--limit", type=int, default=40)
    p.add_argument("--tail", type=int, default=None)
    p.add_argument("--sizes", default="16,24,32,48,64,96")
    p.add_argument("--paths", default=",".join(INT8_PATHS))
    p.add_argument("--x8-limit", type=int, default=200, help="faces for the x8-protocol check of x8 weights")
    p.add_argument("--json", required=True)
    p.add_argument("--write-card", action="store_true", help="record the verdict in each model's card")
    args = p.parse_args(argv)
    faces = face_bench.load_faces(args.data, limit=args.limit, tail=args.tail)
    sizes = [int(s) for s in args.sizes.split(",")]
    out = json.loads(Path(args.json).read_text()) if Path(args.json).is_file() else {}
    command = "python scripts/int8_validation.py " + " ".join(argv if argv is not None else sys.argv[1:])
    for model in args.models.split(","):
        t0 = time.perf_counter()
        out[model] = validate(model, faces, sizes, args.paths.split(","), out.get(model), args.x8_limit)
        out[model]["seconds"] = round(time.perf_counter() - t0, 1)
        atomic_write(Path(args.json), (json.dumps(out, indent=1) + "\n").encode())
        if args.write_card:
            write_card(model, out[model], command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
