"""Copy the measured tables into the README: the face-size benchmark's (PSNR-Y, identity, landmark NRMSE) from its
markdown reports, auto against the goals on the full validation splits (scripts/goals.py), and the int8 verdicts
from docs/results/int8_validation.json.

    python scripts/readme_tables.py      # after the README's `fsr-studio eval --face-sizes` or int8 commands

The README's copies are checked against the reports by tests/test_docs.py, so a rerun that forgets this step fails.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts import goals  # noqa: E402
from scripts.int8_validation import readme_table  # noqa: E402

REPORTS = (("*celeba_val128, first 100 faces, sizes 12-128 px*", "docs/results/face_sizes_celeba_val128.md"),
           ("*ffhq256 validation split, first 60 faces, sizes 128-256 px*", "docs/results/face_sizes_ffhq256_val.md"))
END = "**Which model serves which face size**"
TITLES = ("**PSNR-Y (dB)**", "**identity cosine**", "**landmark NRMSE**")
GOAL_REPORTS = (("celeba_val128, all {n}", "docs/results/face_sizes_celeba_val128_full.json"),
                ("ffhq256 validation, all {n}", "docs/results/face_sizes_ffhq256_val_full.json"))
INT8_JSON = "docs/results/int8_validation.json"
INT8_HEADER = "| weights | worst PSNR-Y drop on the face-size benchmark"


def sections(markdown: str) -> str:
    """The report's PSNR, identity and NRMSE tables, each with its title line."""
    out = []
    for title in TITLES:
        i = markdown.index(title)
        j = markdown.index("\n\n", markdown.index("|---", i))
        out.append(markdown[i:j].rstrip())
    return "\n\n".join(out)


def expected_block(root: Path = ROOT) -> str:
    """What the README holds between the first report's caption and END."""
    return "".join(f"{caption}\n\n{sections((root / path).read_text())}\n\n" for caption, path in REPORTS)


def goals_table(root: Path = ROOT) -> str:
    """auto against the goals, size by size, on the full validation splits."""
    reports = [json.loads((root / path).read_text()) for _, path in GOAL_REPORTS]
    return goals.markdown_table([(label.format(n=r["n"]), r) for (label, _), r in zip(GOAL_REPORTS, reports)])


def table_span(readme: str, header: str) -> tuple[int, int]:
    """Where the README's table that starts with `header` starts and ends (the blank line after it)."""
    start = readme.index(header)
    return start, readme.index("\n\n", start) + 1


def int8_table(root: Path = ROOT) -> str:
    """The int8 verdicts as the README shows them."""
    return readme_table(json.loads((root / INT8_JSON).read_text()))


def int8_span(readme: str) -> tuple[int, int]:
    return table_span(readme, INT8_HEADER)


def goals_span(readme: str) -> tuple[int, int]:
    return table_span(readme, goals.TABLE_HEADER)


def main() -> int:
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    start, end = readme.index(REPORTS[0][0]), readme.index(END)
    readme = readme[:start] + expected_block() + readme[end:]
    start, end = int8_span(readme)
    readme = readme[:start] + int8_table() + readme[end:]
    start, end = goals_span(readme)
    readme_path.write_text(readme[:start] + goals_table() + readme[end:])
    print(f"updated {readme_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
