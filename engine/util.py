"""Small shared helpers: atomic file writes (nothing half-written survives a crash) and free-memory checks."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

PART_SUFFIX = ".part"


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask can only be read by setting it, which races other threads


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, else what open() would give a new file (mkstemp's 0600 would hide outputs
    from other users and programs)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`.

    The temporary name ``.<name>.<pid>.<random>.part`` records the writer, so a later run can tell the leftovers of a
    killed process (SIGKILL skips every clean-up) from a file another live process is still writing
    (:func:`remove_stale_parts`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{part_stem(path.name)}.{os.getpid()}.", suffix=PART_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


PART_NAME_BYTES = 160  # of the target's name inside ".<name>.<pid>.<random>.part", so that it stays under 255


def fit_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def part_stem(name: str) -> str:
    """The target's name, cut (whole UTF-8 characters) so the temporary name fits where the target's name fits."""
    return fit_bytes(name, PART_NAME_BYTES)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but is someone else's (or we cannot tell): leave its files alone
    return True


def part_writer(name: str) -> int | None:
    """The pid recorded in an :func:`atomic_write` temporary name, None for any other file."""
    if not (name.startswith(".") and name.endswith(PART_SUFFIX)):
        return None
    pieces = name[: -len(PART_SUFFIX)].rsplit(".", 2)  # [".<name>", "<pid>", "<random>"]
    if len(pieces) != 3 or not pieces[1].isdigit():
        return None
    return int(pieces[1])


def remove_stale_parts(folder: str | Path) -> list[Path]:
    """Delete the temporary files that killed writers left in `folder` (not recursive); returns what was removed."""
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        pid = part_writer(entry.name)
        if pid is None or pid == os.getpid() or _pid_alive(pid) or not entry.is_file():
            continue
        try:
            entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping: MemAvailable, capped by a cgroup v2 limit.

    None where the platform does not say (the memory guards then only apply their fixed pixel limit).
    """
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        try:
            import psutil  # type: ignore[import-not-found]

            available = int(psutil.virtual_memory().available)
        except Exception:  # noqa: BLE001 - psutil absent or failing: unknown
            return None
    room = _cgroup_room()
    if room is not None:
        available = room if available is None else min(available, room)
    return available


def _cgroup_room() -> int | None:
    """Bytes left under a container's cgroup v2 limit (reclaimable page cache counted as free), None if unlimited."""
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((root / "memory.current").read_text())
        stat = dict(line.split() for line in (root / "memory.stat").read_text().splitlines() if " " in line)
        used -= int(stat.get("inactive_file", 0))
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None
