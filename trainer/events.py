"""JSON-lines progress events: what the GUI (or any script) reads from a running trainer.

One JSON object per line, flushed immediately, each with ``event`` (start, step, val, checkpoint, log, finished,
cancelled, error) and ``time`` (Unix seconds). Events go to ``<run>/events.jsonl`` always and to ``--events FILE``
or stdout (``-``) on request; human-readable progress goes to stderr so stdout stays machine-readable.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import IO, Any


def _clean(value: Any) -> Any:
    """JSON-safe: tensors/numpy scalars to floats, non-finite floats to strings (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return value


class Events:
    """Fan-out writer for progress events."""

    def __init__(self, target: str | None = None):
        self._sinks: list[IO[str]] = []
        self._owned: list[IO[str]] = []
        if target == "-":
            self._sinks.append(sys.stdout)
        elif target:
            self.add_file(target)

    def add_file(self, path: str | Path) -> None:
        """Also write to `path`; a file already written to is not added twice (a config's `events:` may name the run
        folder's own events.jsonl, which would otherwise get every line twice)."""
        path = Path(path)
        if any(Path(f.name).resolve() == path.resolve() for f in self._owned):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a", encoding="utf-8")
        self._sinks.append(f)
        self._owned.append(f)

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "time": round(time.time(), 3), **_clean(fields)}
        line = json.dumps(record, separators=(",", ":"))
        for sink in self._sinks:
            try:
                sink.write(line + "\n")
                sink.flush()
            except (OSError, ValueError):  # a closed pipe must not kill the training run
                pass
        return record

    def close(self) -> None:
        for f in self._owned:
            f.close()
        self._owned.clear()
        self._sinks.clear()


def say(message: str) -> None:
    """A human-readable line on stderr that does not break a tqdm bar."""
    try:
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)
    except Exception:  # noqa: BLE001
        print(message, file=sys.stderr, flush=True)
