"""Copy a model's face-size benchmark rows (and Lanczos's, bicubic's beside them) into its weight card.

The card then carries the numbers of the README's benchmark tables, from the same JSON reports:

    python scripts/card_benchmark.py resources/weights/sparnet-blind-u.json \
        docs/results/face_sizes_celeba_val128.json docs/results/face_sizes_ffhq256_val.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import zoo  # noqa: E402


def rows_for(report: dict, model: str) -> dict:
    out = {}
    for size, row in report["sizes"].items():
        if model in row:
            out[size] = {"model": row[model], "lanczos": row["lanczos"], "bicubic": row["bicubic"],
                         "gain_over_lanczos_db": row[model]["psnr_y"] - row["lanczos"]["psnr_y"]}
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    card_path = Path(argv[0])
    card = json.loads(card_path.read_text(encoding="utf-8"))
    model = card["variant"]
    bench = {}
    for path in argv[1:]:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        rows = rows_for(report, model)
        if rows:
            bench[Path(report["dataset"]).name] = {"report": str(path), "faces": report["n"],
                                                   "no_harm_check": report.get("no_harm_check", True),
                                                   "sizes": rows}
    card["face_size_benchmark"] = bench
    zoo.write_card(card_path.with_suffix(".safetensors"), card)
    print(f"{card_path}: face-size benchmark rows for {model} from {', '.join(bench) or 'no report'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
