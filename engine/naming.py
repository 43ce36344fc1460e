"""Output names for a batch, planned once for every input of the run.

One function knows every output of the run, so that two inputs never share an output (``a.jpg`` and ``a.JPG``, or
``x.jpg`` and ``x.png`` with ``--ext png``, on file systems that fold case or Unicode forms), no name leaves the output
folder (a suffix is a plain name, never a path), and every name fits the file system's 255-byte limit together with
the side outputs (restored_faces/, cmp/, priors/) and the temporary ``.part`` names of atomic writes.

Whether an existing output is "already done" is decided by its provenance note (the input that made it), not by its
name alone: a folder, a foreign file or another input's output standing where an output would go is never counted as
done and never replaced; the photo gets the next free name instead (``<stem>~2_<suffix>``).
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

from .util import fit_bytes

NAME_MAX_BYTES = 255  # ext4, XFS, APFS, NTFS (UTF-16 units there; bytes are the stricter count for non-ASCII)
STEM_MAX_BYTES = 120  # leaves room for "~NN", "_<suffix>", ".tiff", side-output tails and ".json" sidecars
SUFFIX_MAX_BYTES = 64
SIDE_TAIL_BYTES = 48  # "_00_sparnethd-blind256" + "/parsing_00.png"-style tails of save_faces / save_priors
FORBIDDEN_IN_SUFFIX = ("/", "\\", "\x00", ":")


class NamingError(ValueError):
    """An output name that would escape the output folder or cannot exist on disk."""


@dataclass(frozen=True)
class PhotoOutputs:
    """Where one input's outputs go: `stem` names its side outputs too, `targets` maps model label -> image file."""

    source: Path
    stem: str
    targets: dict[str, Path]


def fold(name: str) -> str:
    """The key under which case-insensitive, normalising file systems (macOS, Windows) store a name."""
    return unicodedata.normalize("NFC", name).casefold()


def check_suffix(suffix: str) -> str:
    """A file-name suffix must be a plain name: no folder separators, no '..', short enough to fit."""
    bad = [c for c in FORBIDDEN_IN_SUFFIX if c in suffix]
    if bad or suffix in (".", ".."):
        shown = ", ".join(repr(c) for c in bad) or repr(suffix)
        raise NamingError(f"--suffix {suffix!r} is not a plain file-name part (contains {shown}); outputs stay "
                          f"inside the output folder")
    if len(suffix.encode("utf-8", "surrogateescape")) > SUFFIX_MAX_BYTES:
        raise NamingError(f"--suffix is longer than {SUFFIX_MAX_BYTES} bytes")
    if any(ord(c) < 32 for c in suffix):
        raise NamingError(f"--suffix {suffix!r} holds control characters")
    return suffix


def output_name(stem: str, suffix: str, ext: str) -> str:
    return f"{stem}_{suffix}{ext}" if suffix else f"{stem}{ext}"


def inside(folder: Path, target: Path) -> bool:
    """True when `target` is a direct child of `folder` (links resolved)."""
    return target.name not in ("", ".", "..") and target.parent.resolve() == folder.resolve()


def candidate_stems(stem: str) -> Iterable[str]:
    """The input's own stem (cut to fit), then ``stem~2``, ``stem~3``, ..."""
    base = fit_bytes(stem, STEM_MAX_BYTES) or "photo"
    yield base
    n = 2
    while True:
        yield f"{base}~{n}"
        n += 1


def plan_outputs(inputs: list[Path], output: Path, suffixes: Mapping[str, str], extension: Callable[[Path], str],
                 owner: Callable[[Path], str | None]) -> list[PhotoOutputs]:
    """Output files for every input, distinct under :func:`fold`, inside `output`, none taken by something else.

    extension(input) is the output suffix (".png"); owner(existing path) names the input that made an existing file
    (its provenance note), None for anything else. Inputs are planned in sorted order, so a re-run of the same
    folder gets the same names.
    """
    for suffix in suffixes.values():
        check_suffix(suffix)
    taken: set[str] = set()
    if output.resolve() in {p.parent.resolve() for p in inputs}:
        taken |= {fold(p.name) for p in inputs}  # never plan an output over an input beside it
    stems: set[str] = set()  # side outputs are named by stem alone (cropped_faces/<stem>_00.png): one input each
    plans = []
    for source in sorted(inputs, key=lambda p: (fold(p.name), p.name)):
        ext = extension(source)
        for stem in candidate_stems(source.stem):
            targets = {label: output / output_name(stem, s, ext) for label, s in suffixes.items()}
            keys = [fold(t.name) for t in targets.values()]
            if fold(stem) in stems or len(set(keys)) < len(keys) or taken & set(keys):
                continue
            if all(free_or_own(t, source, owner) for t in targets.values()):
                break
        for target in targets.values():
            check_target(output, target)
        taken |= {fold(t.name) for t in targets.values()}
        stems.add(fold(stem))
        plans.append(PhotoOutputs(source=source, stem=stem, targets=targets))
    return plans


def free_or_own(target: Path, source: Path, owner: Callable[[Path], str | None]) -> bool:
    """Nothing stands at `target`, or it is a file this same input made earlier."""
    if not os.path.lexists(target):
        return True
    return target.is_file() and not target.is_symlink() and owner(target) == source.name


def check_target(output: Path, target: Path) -> None:
    if not inside(output, target):
        raise NamingError(f"{target}: outside the output folder {output}")
    if len((target.name + ".json").encode("utf-8", "surrogateescape")) + SIDE_TAIL_BYTES > NAME_MAX_BYTES:
        raise NamingError(f"{target.name}: too long for the file system")


def already_done(plan: PhotoOutputs, owner: Callable[[Path], str | None]) -> bool:
    """Every output exists and was made from this input (its provenance note says so)."""
    return all(t.is_file() and not t.is_symlink() and owner(t) == plan.source.name for t in plan.targets.values())
