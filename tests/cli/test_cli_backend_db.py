"""The built-in backend's database lives in a temporary folder inside the output folder and
is removed when the run ends; `--keep-db` keeps it as <run>.backend.db (issue 23: every
run left a 136-237 MB backend.db behind, not listed among its outputs)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SMALL = ["baseline", "--time-scale", "0.2", "--set", "fleet.cars=5", "--set", "fleet.drivers=5",
         "--no-live"]


def _run(out: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], list[Path]]:
    """Run the CLI; while it runs, note every database file that appears under ``out``."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("TOXIPROXY_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "fleetchaos.cli", "run", *SMALL, "--out",
                             str(out), *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    seen: set[Path] = set()
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        seen.update(p for p in out.rglob("*.db") if p.is_file())
        time.sleep(0.2)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), sorted(seen)


@pytest.mark.slow
def test_the_database_is_temporary_unless_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result, seen = _run(out)
    assert result.returncode in (0, 1, 4), result.stderr  # 4: 6 s of 5 cars is insufficient
    assert seen and all(p.parent.name.startswith(".") and ".backend-db-" in p.parent.name
                        and p.parent.parent == out for p in seen), seen
    assert not list(out.rglob("*.db*")), "the database outlived the run"
    assert not [p for p in out.iterdir() if ".backend-db-" in p.name]
    assert "database:" not in result.stdout

    kept_out = tmp_path / "kept"
    result, _ = _run(kept_out, "--keep-db")
    assert result.returncode in (0, 1, 4), result.stderr  # 4: 6 s of 5 cars is insufficient
    [db] = list(kept_out.glob("*.backend.db"))
    assert db.stat().st_size > 0 and f"database: {db}" in result.stdout
    assert not [p for p in kept_out.iterdir() if ".backend-db-" in p.name]


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the backend in /proc")
def test_a_kept_database_of_a_killed_backend_is_left_without_wal_or_shm(tmp_path: Path) -> None:
    """Issue 27: a backend SIGKILLed mid-run left its -wal/-shm in the output folder; now
    the run ends with exit 3 naming it, and a kept database is settled (checkpointed)."""
    import signal
    import sqlite3

    out = tmp_path / "out"
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("TOXIPROXY_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "fleetchaos.cli", "run", *SMALL, "--out",
                             str(out), "--keep-db"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        backend = None
        while time.monotonic() < deadline and backend is None and proc.poll() is None:
            journals = list(out.glob("*.journal.jsonl"))
            if journals and '"sample"' in journals[0].read_text():
                backend = next((p for p in _children(proc.pid) if b"reference_backend" in
                                Path(f"/proc/{p}/cmdline").read_bytes()), None)
            time.sleep(0.1)
        assert backend is not None, "the run never got going"
        os.kill(backend, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, stderr
    assert f"the reference backend (pid {backend}) was killed by SIGKILL" in stderr
    [db] = list(out.glob("*.backend.db"))
    assert not list(out.glob("*.backend.db-*")), "the WAL was not folded into the database"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
