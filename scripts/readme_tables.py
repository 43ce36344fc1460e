"""Copy the face-size benchmark's tables (PSNR-Y, identity, landmark NRMSE) from its markdown reports into the README.

    python scripts/readme_tables.py      # after the README's `fsr-studio eval --face-sizes` commands

The README's copies are checked against the reports by tests/test_docs.py, so a rerun that forgets this step fails.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORTS = (("*celeba_val128, first 100 faces, sizes 12-128 px*", "docs/results/face_sizes_celeba_val128.md"),
           ("*ffhq256 validation split, first 60 faces, sizes 128-256 px*", "docs/results/face_sizes_ffhq256_val.md"))
END = "**Which model serves which face size**"
TITLES = ("**PSNR-Y (dB)**", "**identity cosine**", "**landmark NRMSE**")


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


def main() -> int:
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    start, end = readme.index(REPORTS[0][0]), readme.index(END)
    readme_path.write_text(readme[:start] + expected_block() + readme[end:])
    print(f"updated {readme_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
