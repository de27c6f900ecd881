"""The run's journal: JSON Lines, one record per line, flushed as written, so a killed
run keeps everything up to its last second. Every report reads this and nothing else."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Listener = Callable[[dict[str, Any]], None]


class JournalWriter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Never appended to: a second run on the same path would report the first run's
        # records. FileExistsError tells the caller (exit 2 before anything starts).
        self._fh = self.path.open("x", encoding="utf-8")
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


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    """Every complete record; a truncated or garbled line (a killed writer) is skipped."""
    records = []
    with Path(path).open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "type" in record:
                records.append(record)
    return records
