"""Follow a journal that another process is writing, so the live view needs no Locust hooks.

The Locust child writes the journal line by line; the orchestrator reads what is new
a few times a second and hands each complete record to its listeners (the live
terminal view). A half-written last line is kept until its newline arrives.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Listener = Callable[[dict[str, Any]], None]


class JournalTail:
    """Reads complete JSON lines appended to ``path`` since the last poll."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def poll(self) -> int:
        """Deliver every new complete record; return how many were delivered."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            return 0
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        delivered = 0
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                delivered += 1
                for listener in self._listeners:
                    listener(record)
        return delivered
