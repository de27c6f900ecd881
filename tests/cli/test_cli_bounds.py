"""Bounds (issue 22): what the machine cannot hold is refused before anything starts.

`fleetchaos.run("baseline", workers=10000)` forked 10,000 Locust processes (load average
past 4,000 on 2 cores). Now more than 4 workers per usable CPU, or a fleet whose
connections need more open files than a process it starts may have, is exit 2 (the API:
UsageError) with one line saying the limit and how to raise it, and no child is started.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fleetchaos
from fleetchaos.common.run_options import usable_cpus
from fleetchaos.runs.bounds import FileLimits, check_files

REPO = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc: every child, however it was started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def test_api_refuses_10000_workers_in_under_a_second_with_no_child(tmp_path):
    before = set(children_of(os.getpid()))
    started = time.monotonic()
    with pytest.raises(fleetchaos.UsageError) as refused:
        fleetchaos.run("baseline", workers=10000, out=tmp_path / "out")
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, elapsed
    limit = 4 * usable_cpus()
    message = str(refused.value)
    assert message.startswith(f"workers=10000: at most {limit} here (4 x the {usable_cpus()} ")
    assert "to raise it" in message and "\n" not in message
    assert set(children_of(os.getpid())) <= before  # nothing forked
    assert not (tmp_path / "out").exists()  # not even the output folder


def test_cli_refuses_10000_workers_with_one_line_and_no_child(cli, tmp_path):
    for command in (["run", "baseline"], ["demo"], ["sweep", "baseline", "--vary",
                                                    "fleet.cars=5,6"]):
        started = time.monotonic()
        result = cli(*command, "--workers", "10000", "--out", str(tmp_path / "out"))
        assert result.returncode == 2, (command, result.stderr)
        assert time.monotonic() - started < 30  # the interpreter's start, on a loaded machine
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"fleetchaos: error: --workers 10000: at most "
                                   f"{4 * usable_cpus()} here"), lines
        assert not (tmp_path / "out").exists()


def test_sweep_refuses_a_varied_worker_count_before_the_first_run(cli, tmp_path):
    result = cli("sweep", "baseline", "--vary", "workers=1,10000", "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert result.stderr.startswith("fleetchaos: error: --vary workers=10000: at most ")
    assert not list((tmp_path / "o").glob("*.journal.jsonl"))


def _low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def test_a_fleet_needing_more_open_files_than_the_limit_is_refused(tmp_path):
    """With `ulimit -n 1024` (soft and hard), 2,000 cars cannot all hold a connection."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("TOXIPROXY_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "fleetchaos.cli", "run", "baseline", "--set", "fleet.cars=2000",
         "--out", str(tmp_path / "out")], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120, preexec_fn=_low_file_limit)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line
    assert line.startswith("fleetchaos: error: fleet.cars 2000 + fleet.drivers ")
    assert "open files in the built-in Toxiproxy" in line and "limit of 1,024" in line
    assert "limits.conf" in line  # how to raise it
    assert not (tmp_path / "out").exists()


def test_open_file_estimate_per_process():
    """The estimate, process by process (the limits given, not this machine's)."""
    roomy = FileLimits(soft=1024, hard=20000)
    assert roomy.locust == 10_000  # Locust raises a soft limit under 10,000 when the hard allows
    assert FileLimits(soft=1024, hard=4096).locust == 1024  # ... and keeps it otherwise
    check_files(4000, 100, 1, workers=1, workers_flag="--workers", builtin_toxiproxy=True,
                builtin_backend=False, limits=roomy)  # 2 x 4,101 + 100 <= 20,000
    with pytest.raises(fleetchaos.UsageError, match=r"reference backend .* limit of 1,024 "
                                                    r"\(ulimit -n\): raise it with `ulimit -n 4201`"):
        check_files(4000, 100, 1, workers=1, workers_flag="--workers", builtin_toxiproxy=True,
                    builtin_backend=True, limits=roomy)
    with pytest.raises(fleetchaos.UsageError, match=r"per Locust process \(in one Locust process\)"
                                                    r", more than its limit of 10,000.*--workers$"):
        check_files(12000, 0, 0, workers=1, workers_flag="--workers", builtin_toxiproxy=False,
                    builtin_backend=False, limits=roomy)
    check_files(12000, 0, 0, workers=2, workers_flag="--workers", builtin_toxiproxy=False,
                builtin_backend=False, limits=roomy)  # 6,100 per worker
