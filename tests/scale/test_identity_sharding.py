"""No two workers ever run the same car, driver or canary: a real Locust master and 3 or 5
worker processes, a fleet that shrinks to half and grows again.

Pins Locust's own distribution (locust/dispatch.py, UsersDispatcher): fixed-count users
are dealt out class by class to workers in turn (``_user_gen`` then a cycle over the
workers), so a class's count is not split evenly; users are stopped last-started first
(``_remove_users_from_workers``). The identity lease (fleet_sim/identity_lease.py) must
keep every index with one worker at a time through all of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
N = 30  # cars, and drivers; 2 canaries


def replay(log_dir: Path) -> dict[str, dict[str, Any]]:
    events = [json.loads(line) for p in log_dir.glob("*.jsonl") for line in p.read_text().splitlines()]
    events.sort(key=lambda e: e["t"])
    out: dict[str, dict[str, Any]] = {}
    for kind in ("car", "driver", "canary"):
        holder: dict[int, int] = {}
        peak, highest, per_worker = 0, -1, defaultdict(set)
        for e in (e for e in events if e["kind"] == kind):
            i = e["index"]
            if e["op"] == "take":
                assert i not in holder, f"{kind} {i} taken by {e['pid']} while {holder.get(i)} holds it"
                holder[i] = e["pid"]
                per_worker[e["pid"]].add(i)
                highest = max(highest, i)
                peak = max(peak, len(holder))
            else:
                assert holder.pop(i, None) == e["pid"], f"{kind} {i} given back by a non-holder"
        out[kind] = {"peak": peak, "highest": highest, "left": dict(holder),
                     "workers": len(per_worker)}
    return out


@pytest.mark.slow
@pytest.mark.parametrize("workers", [3, 5])
def test_every_identity_is_held_by_one_worker_at_a_time(tmp_path, workers):
    port = _free_port()
    env = dict(os.environ, IDS_LOG_DIR=str(tmp_path), IDS_N=str(N), IDS_STAGE_S="4",
               PYTHONPATH=str(HERE.parents[1]))
    proc = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile_identities.py"),
         "--headless", "--processes", str(workers), "--only-summary", "--loglevel", "WARNING",
         "--master-bind-host", "127.0.0.1", "--master-host", "127.0.0.1",
         "--master-bind-port", str(port), "--master-port", str(port), "--host", "http://127.0.0.1:9"],
        env=env, capture_output=True, text=True, timeout=150, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = replay(tmp_path)
    for kind, size in (("car", N), ("driver", N), ("canary", 2)):
        seen = result[kind]
        assert seen["left"] == {}, (kind, seen)  # every user gave its identity back at the end
        assert seen["peak"] == size, (kind, seen)  # the whole fleet ran at once ...
        assert seen["highest"] == size - 1, (kind, seen)  # ... as indices 0..size-1, no more
    assert result["car"]["workers"] + result["driver"]["workers"] > 2  # spread over workers


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
