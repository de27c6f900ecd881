"""How long the reference backend takes to stop (SIGTERM) with 1,100 cars connected in a
flood, against the 5 s the harness waits before SIGKILL (issue 27).

Run: .venv/bin/python -m bench.backend_stop
Each trial: a fresh backend, 1,100 cars from one asyncio process (``bench/ws_swarm.py``:
a fifth post HTTP batches, a fifth never answer the close), records of 60 fields at 2 per
car per second (more than the pool stores: writes queue), SIGTERM once every car is
connected and writes are queued; the stop time is SIGTERM to the process's exit. The test
``tests/backend/test_backend_stop.py`` runs one trial of the same measurement.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from fleetchaos import reference_backend

COMMAND = ".venv/bin/python -m bench.backend_stop"
SWARM = Path(__file__).with_name("ws_swarm.py")
ADMIN_TOKEN = "bench-admin-token"
GRACE_S = 5.0  # ChildProcess.stop's default
TRIALS = 5


@dataclass
class StopTrial:
    cars: int
    streaming: int  # cars on a WebSocket (the rest post HTTP batches)
    stop_s: float  # SIGTERM to exit
    rc: int | None  # None: still running 30 s after SIGTERM (then killed)
    acked: int  # records the cars got acks for
    acked_not_stored: int  # must be 0
    files: list[str]  # what is left beside the database
    stop_line: str  # the backend's own account of its stop


def vehicles(n: int) -> list[dict[str, str]]:
    return [{"vin": f"5YJ3E1EA{i:09d}", "owner_email": f"owner{i}@example.com",
             "owner_password": f"pw{i}", "car_token": f"car-token-{i}"} for i in range(n)]


def _first_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            raise RuntimeError(f"the swarm said nothing within {timeout_s:.0f} s")
    return proc.stdout.readline().strip()


def _stats(url: str) -> dict[str, Any]:
    return requests.get(f"{url}/admin/stats", headers={"X-Admin-Token": ADMIN_TOKEN},
                        timeout=30).json()


def _stored(db: str) -> set[tuple[str, int]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return {(v, int(s)) for v, s in conn.execute("SELECT vin, seq FROM telemetry")}
    finally:
        conn.close()


def stop_trial(folder: Path, cars: int = 1100, *, rate: float = 2.0, fields: int = 60,
               deaf: float = 0.2, http: float = 0.2, ready_timeout_s: float = 120) -> StopTrial:
    """One measurement in ``folder`` (the database, the backend's log, the swarm's files)."""
    db, log = str(folder / "backend.db"), folder / "backend.log"
    fleet = vehicles(cars)
    (folder / "vehicles.json").write_text(json.dumps(fleet))
    be = reference_backend.run_in_subprocess(db_path=db, admin_token=ADMIN_TOKEN,
                                             log_path=str(log))
    swarm: subprocess.Popen[str] | None = None
    rc: int | None = None
    try:
        requests.post(f"{be.url}/admin/fleet", json={"vehicles": fleet},
                      headers={"X-Admin-Token": ADMIN_TOKEN}, timeout=120).raise_for_status()
        swarm = subprocess.Popen(
            [sys.executable, str(SWARM), be.url, str(folder / "vehicles.json"),
             str(folder / "acked.json"), "--rate", str(rate), "--fields", str(fields),
             "--deaf", str(deaf), "--http", str(http)], stdout=subprocess.PIPE, text=True)
        line = _first_line(swarm, ready_timeout_s)
        found = re.search(r"connected (\d+) failed 0", line)
        if found is None:
            raise RuntimeError(f"the swarm did not connect every car: {line}")
        streaming = int(found.group(1))
        deadline = time.monotonic() + ready_timeout_s
        while True:  # every car connected, and a flood: writes queue for the pool
            s = _stats(be.url)
            if s["cars"]["connected"] == streaming and s["pool"]["waiting"] > 100 \
                    and s["telemetry"]["acked"] > 500:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"no flood with every car connected: {s}")
            time.sleep(0.2)
        start = time.monotonic()
        be.popen.send_signal(signal.SIGTERM)
        try:
            rc = be.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - start
    finally:
        be.stop()
        if swarm is not None:
            swarm.send_signal(signal.SIGTERM)
            try:
                swarm.wait(60)
            except subprocess.TimeoutExpired:
                swarm.kill()
                swarm.wait(10)
    left = sorted(p.name for p in folder.iterdir() if p.name.startswith("backend.db"))
    acked = json.loads((folder / "acked.json").read_text())
    pairs = {(vin, seq) for vin, seqs in acked.items() for seq in seqs}
    lines = [ln for ln in log.read_text().splitlines() if "stopped in" in ln]
    return StopTrial(cars=cars, streaming=streaming, stop_s=took, rc=rc, acked=len(pairs),
                     acked_not_stored=len(pairs - _stored(db)),
                     files=left,  # listed before reading the file (a reader makes -shm)
                     stop_line=lines[-1] if lines else "")


def main() -> None:
    from bench.common import DOCS, update_marked, write_doc  # here: the test loads this file

    load_before = os.getloadavg()[0]
    trials = []
    for i in range(TRIALS):
        with tempfile.TemporaryDirectory(prefix="fleetchaos-stop-") as tmp:
            trial = stop_trial(Path(tmp))
        print(f"trial {i + 1}: {trial.stop_s:.2f} s, rc {trial.rc}, {trial.stop_line}",
              flush=True)
        trials.append(trial)
    times = [t.stop_s for t in trials]
    worst = max(times)
    rows = "\n".join(
        f"| {i + 1} | {t.streaming} + {t.cars - t.streaming} | {t.stop_s:.2f} | {t.rc} | "
        f"{t.acked} | {t.acked_not_stored} | {', '.join(t.files)} | "
        f"{t.stop_line.split('; ', 1)[-1] if t.stop_line else '-'} |"
        for i, t in enumerate(trials))
    headline = (f"Backend stop with 1,100 cars connected in a flood: {statistics.median(times):.2f} s "
                f"median, {worst:.2f} s worst of {TRIALS} (the harness SIGKILLs at {GRACE_S:g} s)")
    body = (
        f"{TRIALS} trials, each a fresh backend with default options (stop budget 3 s): 1,100 "
        "cars from one asyncio process on the same machine (a fifth post HTTP batches, a fifth "
        "never answer the close), 60-field records at 2 per car per second (more than the pool "
        "stores, so writes queue), SIGTERM once every car is connected and more than 100 "
        "writes wait for a connection. Stop time: SIGTERM to the process's exit.\n\n"
        f"**{headline}.** The machine was shared: load average (1 min) {load_before:.1f} "
        f"before and {os.getloadavg()[0]:.1f} after.\n\n"
        "| trial | cars (WebSocket + HTTP) | stop s | exit code | records acked | acked, not "
        "stored | database files left | the backend's steps |\n"
        "|---:|---:|---:|---:|---:|---:|---|---|\n" + rows + "\n")
    print(write_doc("backend-stop", "Reference backend stop under load", COMMAND, body).read_text())
    update_marked(DOCS.parent / "reference-backend.md", "backend-stop",
                  f"{headline}; load average {load_before:.1f} on a shared machine "
                  f"(`{COMMAND}`, {time.strftime('%Y-%m-%d')}, "
                  "[every trial](benchmarks/backend-stop.md)).")


if __name__ == "__main__":
    main()
