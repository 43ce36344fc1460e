"""The repository explains itself: no pointer to documents a reader of it does not have, and every docs link lands.

- No text file in the repository (git's tracked files plus new ones it does not ignore) may point at the background
  notes that live outside the repository, in the shared folder next to it: their folder, or their file names (the
  model, anchor and design notes). What those notes held that the code relies on is in docs/models.md and
  docs/architecture.md; the repository's own docs/models.md is the one file of those names a path may lead to.
- Every ``docs/<file>.md`` named anywhere in the repository exists, and so does its ``#anchor`` when it has one, as
  GitHub slugs a heading. Relative links of the Markdown files (README.md, docs/, ...) are checked the same way,
  anchors within the same file included.
"""
from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

OUTSIDE_FOLDER = re.compile("shared" + r"[/\\]+" + "docs", re.IGNORECASE)
# A path token ending in one of the outside notes' names, in any case (the repository's own docs/models.md included;
# it is told apart below).
NOTE_NAME = re.compile(r"[\w./\\-]*?\b(?:models|anchors|design)\.md\b", re.IGNORECASE)
DOCS_REF = re.compile(r"(?<![\w/.\\-])docs/([\w./-]+?\.md)(?:#([\w-]+))?")
MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@lru_cache(maxsize=1)
def repository_files() -> tuple[Path, ...]:
    """Tracked files plus untracked ones git does not ignore (so a new file is checked before its first commit)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no file list to check")
    paths = sorted({REPO / p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})
    return tuple(p for p in paths if p.is_file())


def read_text(path: Path) -> str | None:
    """The file's text, or None for binary files (weights, images)."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def text_files() -> list[tuple[Path, str]]:
    files = []
    for path in repository_files():
        text = read_text(path)
        if text is not None:
            files.append((path, text))
    return files


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


OWN_DOC = "models" + ".md"  # spelt in two parts so that this file does not trip its own check


def is_own_models_doc(token: str, path: Path) -> bool:
    """True when `token` names this repository's docs/models.md (by path, or relatively from inside docs/)."""
    token = token.replace("\\", "/")
    if token.rsplit("/", 1)[-1] != OWN_DOC:  # exact case: MODELS-in-capitals is the outside note
        return False
    if token == f"docs/{OWN_DOC}" or token.endswith(f"/docs/{OWN_DOC}"):
        return True
    return path.parent == REPO / "docs" and token in (OWN_DOC, f"./{OWN_DOC}")


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text lower-cased, punctuation dropped, spaces made hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images -> their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # `code`, *emphasis*, colons, parentheses, ...
    return text.replace(" ", "-")


@lru_cache(maxsize=None)
def anchors_of(path: Path) -> frozenset[str]:
    """Every heading anchor of a Markdown file, numbered as GitHub numbers repeated headings (-1, -2, ...)."""
    seen: dict[str, int] = {}
    anchors = set()
    fence = None
    for line in path.read_text(encoding="utf-8").splitlines():
        opened = FENCE.match(line)
        if opened:
            marker = opened.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(anchors)


def test_github_slug_rules():
    assert github_slug("SPARNet and SPARNetHD") == "sparnet-and-sparnethd"
    assert github_slug("Real photos: face-size benchmark") == "real-photos-face-size-benchmark"
    assert github_slug("The `photo` degradation (the training data)") == "the-photo-degradation-the-training-data"
    assert github_slug("Speed and memory per model (this 2-core CPU, Intel(R) Xeon(R) Processor)") == \
        "speed-and-memory-per-model-this-2-core-cpu-intelr-xeonr-processor"


def test_no_pointer_to_documents_outside_the_repository():
    offenders = []
    for path, text in text_files():
        rel = path.relative_to(REPO)
        for m in OUTSIDE_FOLDER.finditer(text):
            offenders.append(f"{rel}:{line_of(text, m.start())}: {m.group(0)!r}")
        for m in NOTE_NAME.finditer(text):
            if not is_own_models_doc(m.group(0), path):
                offenders.append(f"{rel}:{line_of(text, m.start())}: {m.group(0)!r}")
    assert not offenders, ("these point at notes outside the repository; point at the matching section of "
                           "docs/models.md or docs/architecture.md instead:\n" + "\n".join(offenders))


def test_docs_references_point_at_existing_files_and_headings():
    broken = []
    for path, text in text_files():
        rel = path.relative_to(REPO)
        for m in DOCS_REF.finditer(text):
            target = REPO / "docs" / m.group(1)
            where = f"{rel}:{line_of(text, m.start())}: {m.group(0)}"
            if not target.is_file():
                broken.append(f"{where}: no such file")
            elif m.group(2) and m.group(2) not in anchors_of(target):
                broken.append(f"{where}: no heading with that anchor in docs/{m.group(1)}")
    assert not broken, "\n".join(broken)


def test_markdown_links_land():
    broken = []
    for path, text in text_files():
        if path.suffix.lower() != ".md":
            continue
        rel = path.relative_to(REPO)
        fence = None
        for number, line in enumerate(text.splitlines(), 1):
            opened = FENCE.match(line)
            if opened:
                fence = opened.group(1)[0] * 3 if fence is None else (None if opened.group(1).startswith(fence)
                                                                      else fence)
                continue
            if fence is not None:
                continue
            for m in MD_LINK.finditer(line):
                link = m.group(1)
                if not link or re.match(r"[a-z][a-z0-9+.-]*:", link, re.IGNORECASE):  # http:, mailto:, ...
                    continue
                target_part, _, anchor = link.partition("#")
                target = (path.parent / target_part).resolve() if target_part else path
                where = f"{rel}:{number}: {link}"
                if not target.exists():
                    broken.append(f"{where}: no such file")
                elif anchor and target.suffix.lower() == ".md" and anchor not in anchors_of(target):
                    broken.append(f"{where}: no heading with that anchor")
    assert not broken, "\n".join(broken)


def test_the_docs_this_repository_points_to_exist():
    for name in ("architecture.md", OWN_DOC, "real_photos.md"):
        assert (REPO / "docs" / name).is_file(), name


def test_the_readme_face_size_tables_are_the_reports():
    """The README copies the benchmark's tables from docs/results/*.md (scripts/readme_tables.py); a rerun whose
    tables were not copied over leaves stale numbers in the front door."""
    from scripts import readme_tables as tables

    readme = (REPO / "README.md").read_text()
    start, end = readme.index(tables.REPORTS[0][0]), readme.index(tables.END)
    assert readme[start:end] == tables.expected_block(REPO), "README tables differ: python scripts/readme_tables.py"


def test_the_readme_int8_table_is_the_validation_json():
    """The int8 verdicts in the README are docs/results/int8_validation.json's (a revalidation must update both)."""
    from scripts import readme_tables as tables

    readme = (REPO / "README.md").read_text()
    start, end = tables.int8_span(readme)
    assert readme[start:end] == tables.int8_table(REPO), "README int8 table differs: python scripts/readme_tables.py"


def test_the_readme_goals_table_is_the_full_split_reports():
    """The README's verdict on the goals is scripts/goals.py's on the full-split reports, not typed by hand."""
    from scripts import readme_tables as tables

    readme = (REPO / "README.md").read_text()
    start, end = tables.goals_span(readme)
    assert readme[start:end] == tables.goals_table(REPO), "README goals table differs: python scripts/readme_tables.py"
