"""The live view follows a journal another process writes, one complete line at a time."""

from __future__ import annotations

import json
from typing import Any

from fleetchaos.runs.journal_tail import JournalTail


def test_tail_delivers_complete_lines_only(tmp_path):
    path = tmp_path / "run.jsonl"
    seen: list[dict[str, Any]] = []
    tail = JournalTail(path)
    tail.add_listener(seen.append)
    assert tail.poll() == 0  # not created yet
    with path.open("w") as fh:
        fh.write(json.dumps({"type": "header", "t": 0}) + "\n")
        fh.write('{"type": "sample", "t"')  # half-written
        fh.flush()
        assert tail.poll() == 1
        fh.write(': 1.0}\nnot json\n')
        fh.flush()
        assert tail.poll() == 1
    assert [r["type"] for r in seen] == ["header", "sample"]
    assert seen[1]["t"] == 1.0
