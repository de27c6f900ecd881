"""The run's journal: JSON Lines, one record per line, flushed as written, so a killed
run keeps everything up to its last second. Every report reads this and nothing else."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fleetchaos.common import json_bounded
from fleetchaos.common.errors import UsageError

Listener = Callable[[dict[str, Any]], None]


class JournalWriter:
    def __init__(self, path: str | Path, *, append: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Never appended to by a run: a second run on the same path would report the first
        # run's records. FileExistsError tells the caller (exit 2 before anything starts).
        # ``append``: the orchestrator's harness-failure record, once Locust has ended.
        self._fh = self.path.open("a" if append else "x", encoding="utf-8")
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self.t0 = time.monotonic()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def elapsed(self) -> float:
        return round(time.monotonic() - self.t0, 3)

    def write(self, record_type: str, **fields: Any) -> dict[str, Any]:
        record = {"type": record_type, "t": fields.pop("t", self.elapsed()), **fields}
        line = json.dumps(record, separators=(",", ":"), default=str)
        with self._lock:
            if self._fh.closed:
                return record
            self._fh.write(line + "\n")
            self._fh.flush()
        for listener in self._listeners:
            listener(record)
        return record

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()


# Bounds on what a journal line may be. The largest record a run writes (the summary of a
# run with a thousand faults) is a few MB and nests 7 levels; a line past these is not a
# record but a hostile or broken file, refused with one line instead of 2 GB of memory
# (a 1 GB line) or a RecursionError (a line of 100,000 brackets).
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_RECORD_DEPTH = 64
_SKIP_CHUNK = 1024 * 1024


class JournalError(UsageError):
    """A journal line no run writes (too long, nested too deep): exit 2, one line."""


def parse_line(line: str | bytes, where: str) -> Any:
    """One JSON line as a value, or ValueError for a garbled line (a killed writer); a line
    nested deeper than MAX_RECORD_DEPTH is a JournalError naming ``where`` (file:line)."""
    try:
        return json_bounded.loads(line, MAX_RECORD_DEPTH)
    except json_bounded.TooDeep as exc:
        raise JournalError(f"{where}: {exc}: not a fleetchaos record (refused)") from None


def iter_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a JSON Lines file, each at most MAX_LINE_BYTES: a longer line
    is a JournalError, found without holding more than that much of it in memory."""
    with Path(path).open("rb") as fh:
        number = 0
        while True:
            line = fh.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                size = len(line)
                while (chunk := fh.read(_SKIP_CHUNK)) and b"\n" not in chunk:
                    size += len(chunk)
                raise JournalError(f"{path}:{number}: a line of more than {size // 2**20} MiB "
                                   f"(at most {MAX_LINE_BYTES // 2**20} MiB): not a fleetchaos "
                                   "record (refused)")
            yield number, line


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    """Every complete record; a truncated or garbled line (a killed writer) is skipped.

    A line no writer makes (longer than MAX_LINE_BYTES, nested deeper than
    MAX_RECORD_DEPTH) raises JournalError (a UsageError: exit 2, one line)."""
    records = []
    for number, raw in iter_lines(path):
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            continue
        try:
            record = parse_line(line, f"{path}:{number}")
        except ValueError as exc:
            if isinstance(exc, JournalError):
                raise
            continue
        if isinstance(record, dict) and "type" in record:
            records.append(record)
    return records


def _version_tuple(text: str) -> tuple[int, ...] | None:
    parts = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", text.strip())
    return tuple(int(p or 0) for p in parts.groups()) if parts else None


def version_warning(records: list[dict[str, Any]], path: str | Path) -> str | None:
    """One line when the journal says a newer fleetchaos wrote it than the one reading it
    (its records may hold what this version does not show), else None."""
    from importlib.metadata import PackageNotFoundError, version

    header = next((r for r in records if r.get("type") == "header"), None)
    versions = header.get("versions") if header else None
    theirs = versions.get("fleetchaos") if isinstance(versions, dict) else None
    if not isinstance(theirs, str) or theirs == "unknown":
        return None
    try:
        ours = version("fleetchaos")
    except PackageNotFoundError:
        return None
    their_tuple, our_tuple = _version_tuple(theirs), _version_tuple(ours)
    if their_tuple is None or our_tuple is None:
        return (f"{path} was written by fleetchaos {theirs[:40]!r}, a version this one "
                f"({ours}) cannot place: parts of it may be missing from the report")
    if their_tuple > our_tuple:
        return (f"{path} was written by fleetchaos {theirs[:40]}, newer than this one "
                f"({ours}): what that version added is not shown")
    return None
