"""Check a model's face-size benchmark rows against the real-photo goals, size by size.

The goals (README, "Where this stands against the goals"): PSNR-Y at least Lanczos + 1.0 dB at 24-128 px and
+ 0.5 dB at 12-16 and 192-256 px, never below Lanczos; identity cosine at least Lanczos's and landmark NRMSE at most
Lanczos's at every size, judged on the full validation splits (the README's table is this script's output):

    python scripts/goals.py docs/results/face_sizes_celeba_val128_full.json \\
        docs/results/face_sizes_ffhq256_val_full.json

``--model NAME`` checks another model than ``auto``; ``--markdown`` prints the checks as the README's table (which
scripts/readme_tables.py copies from the full-split reports). Exit status 0 whether or not the goals are met: it
reports.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path


def psnr_goal_db(size: int) -> float:
    """The gain over Lanczos that the goals ask for at a face size."""
    return 1.0 if 24 <= size <= 128 else 0.5


@dataclass(frozen=True)
class SizeCheck:
    size: int
    gain_db: float
    identity: float
    identity_lanczos: float
    nrmse: float
    nrmse_lanczos: float

    @property
    def psnr_met(self) -> bool:
        return self.gain_db >= psnr_goal_db(self.size)

    @property
    def identity_met(self) -> bool:
        return self.identity >= self.identity_lanczos

    @property
    def nrmse_met(self) -> bool:
        return self.nrmse <= self.nrmse_lanczos

    def line(self) -> str:
        def mark(ok: bool) -> str:
            return "met" if ok else "NOT met"
        return (f"{self.size:>4} px  PSNR-Y {self.gain_db:+.2f} dB (goal +{psnr_goal_db(self.size):.1f}: "
                f"{mark(self.psnr_met)})  identity {self.identity:.4f} vs {self.identity_lanczos:.4f} "
                f"({mark(self.identity_met)})  NRMSE {self.nrmse:.4f} vs {self.nrmse_lanczos:.4f} "
                f"({mark(self.nrmse_met)})")


def checks(report: dict, model: str) -> list[SizeCheck]:
    """One check per size of a face-size report (``fsr-studio eval --face-sizes --json``) that has the model."""
    out = []
    for size, row in sorted(report["sizes"].items(), key=lambda kv: int(kv[0])):
        if model not in row:
            continue
        m, lz = row[model], row["lanczos"]
        out.append(SizeCheck(int(size), m["psnr_y"] - lz["psnr_y"], m["identity"], lz["identity"],
                             m["nrmse"], lz["nrmse"]))
    return out


TABLE_HEADER = ("| data set | face size | PSNR-Y over Lanczos (goal) | identity cosine (Lanczos) "
                "| landmark NRMSE (Lanczos) | goals |")


def table_row(label: str, check: SizeCheck) -> str:
    """One size as a README table row: the model's figures with Lanczos's beside them, and the verdict."""
    missed = [name for name, ok in (("PSNR-Y", check.psnr_met), ("identity", check.identity_met),
                                    ("NRMSE", check.nrmse_met)) if not ok]
    verdict = "met" if not missed else "not met: " + ", ".join(missed)
    return (f"| {label} | {check.size} px | {check.gain_db:+.2f} dB (+{psnr_goal_db(check.size):.1f}) "
            f"| {check.identity:.4f} ({check.identity_lanczos:.4f}) | {check.nrmse:.4f} ({check.nrmse_lanczos:.4f}) "
            f"| {verdict} |")


def markdown_table(reports: list[tuple[str, dict]], model: str = "auto") -> str:
    """Every size of every (label, report) as one table, in the order given."""
    rows = [table_row(label, c) for label, report in reports for c in checks(report, model)]
    return "\n".join([TABLE_HEADER, "|---|---:|---:|---:|---:|---|", *rows]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path, help="face-size benchmark JSON reports")
    parser.add_argument("--model", default="auto")
    parser.add_argument("--markdown", action="store_true", help="print the checks as one markdown table")
    args = parser.parse_args(argv)
    reports = [(path, json.loads(path.read_text(encoding="utf-8"))) for path in args.reports]
    if args.markdown:
        labelled = [(f"{path.stem} ({report.get('n', '?')} faces)", report) for path, report in reports]
        print(markdown_table(labelled, args.model), end="")
        return 0
    for path, report in reports:
        rows = checks(report, args.model)
        print(f"{path} ({report.get('n', '?')} faces), {args.model}:")
        if not rows:
            print(f"  no rows for {args.model}")
        for row in rows:
            print("  " + row.line())
        below = [r.size for r in rows if r.gain_db < 0]
        print(f"  below Lanczos at: {', '.join(map(str, below)) or 'no size'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
