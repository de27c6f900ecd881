"""Issue 27: the backend stops within the harness's grace with 1,000+ cars connected.

``ChildProcess.stop`` sends SIGTERM and SIGKILLs a child still running 5 s later; a
SIGKILL leaves SQLite's ``-wal``/``-shm`` behind. One trial of ``bench/backend_stop.py``:
1,100 cars (a fifth posting HTTP batches, a fifth never answering the close) flood a
real backend from a separate process, the backend gets SIGTERM in the flood, and the
test checks the stop: exit 0 inside the grace, only the database file left, every acked
record stored (read from the file), and the backend's own stop line. Before issue 27 the
listener stayed open while the backend wound down and aiohttp gave handlers up to twice
its 5 s shutdown timeout: this trial took 10.1 s.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BENCH = Path(__file__).resolve().parents[2] / "bench" / "backend_stop.py"


def _bench_module():
    """bench/backend_stop.py (tests import the installed package only, not the checkout)."""
    spec = importlib.util.spec_from_file_location("fleetchaos_bench_backend_stop", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_stop_with_1100_cars_connected_is_clean_and_inside_the_grace(tmp_path):
    bench = _bench_module()
    trial = bench.stop_trial(tmp_path, 1100)
    assert trial.rc == 0, f"the backend did not stop by itself within 30 s (rc {trial.rc})"
    assert trial.stop_s < bench.GRACE_S, f"the stop took {trial.stop_s:.2f} s, past the grace"
    assert trial.files == ["backend.db"]
    assert trial.acked > 200
    assert trial.acked_not_stored == 0
    assert re.search(rf"\b{trial.streaming} car links closed", trial.stop_line), trial.stop_line
    print(f"\nstop with {trial.cars} cars: {trial.stop_s:.2f} s; {trial.stop_line}")
