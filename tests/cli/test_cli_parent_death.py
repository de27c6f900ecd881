"""A run whose CLI is killed stops: no process, listener or fault left (issue 17 item 3).

Children start in their own sessions (Ctrl-C reaches only the CLI, which stops them in
order), so killing the CLI's process group used to leave Locust running the scenario and
the servers listening with parent pid 1. Now every child gets SIGTERM from the kernel
when its parent dies (PR_SET_PDEATHSIG), Locust's forked workers included, and Locust
rolls its faults back on that SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from fleetchaos.scenarios.fault_control import new_run_id

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")]


def processes() -> dict[int, int]:
    """pid -> parent pid of every live (non-zombie) process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in ("Z", "X"):
            out[int(entry.name)] = int(fields[1])
    return out


def descendants(root: int) -> set[int]:
    table = processes()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def listening(pids: set[int]) -> set[tuple[str, int]]:
    """(hex address, port) of the TCP sockets these processes listen on."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                addr, port = cols[1].rsplit(":", 1)
                out.add((addr, int(port, 16)))
    return out


def poll(check, deadline_s: float, interval: float = 0.1):
    end = time.monotonic() + deadline_s
    while True:
        value = check()
        if value or time.monotonic() > end:
            return value
        time.sleep(interval)


def journal_has(path: Path, action: str) -> bool:
    try:
        return any(json.loads(line).get("action") == action
                   for line in path.read_text().splitlines() if line.strip())
    except (OSError, ValueError):
        return False


def cli_env(toxiproxy_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TOXIPROXY_URL": toxiproxy_url, "NO_COLOR": "1"})
    return env


def test_sigkill_to_the_cli_group_mid_run_leaves_nothing(toxiproxy, tmp_path):
    api = toxiproxy.url
    journal = tmp_path / "killed.journal.jsonl"
    cli = subprocess.Popen(
        [sys.executable, "-m", "fleetchaos.cli", "run", "api-latency", "--time-scale", "0.5",
         "--set", "fleet.cars=10", "--set", "fleet.drivers=10", "--workers", "2",
         "--out", str(tmp_path), "--journal", str(journal), "--no-live"],
        env=cli_env(api), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert poll(lambda: journal_has(journal, "toxic_add") or cli.poll() is not None, 120), \
            "the fault never fired"
        assert cli.poll() is None, cli.stderr.read().decode() if cli.stderr else ""
        family = descendants(cli.pid)
        ports = listening(family)
        toxics = [t["name"] for p in requests.get(f"{api}/proxies", timeout=5).json().values()
                  for t in p.get("toxics", [])]
        assert any(t.startswith("fc-") for t in toxics), toxics  # the fault is on
        # --workers 2: Locust's master port listens on loopback only
        assert ports and all(addr in ("0100007F", "00000000000000000000000001000000")
                             for addr, _port in ports), ports
        assert len(family) >= 4, family  # backend, Locust master and its 2 workers

        os.killpg(cli.pid, signal.SIGKILL)
        cli.wait(timeout=10)

        assert poll(lambda: not (family & set(processes())), 20), \
            f"still running: {family & set(processes())}"
        assert poll(lambda: not listening(family), 5)
        marked = poll(lambda: not [n for n in requests.get(f"{api}/proxies", timeout=5).json()
                                   if n.startswith("fc-")], 20)
        assert marked, requests.get(f"{api}/proxies", timeout=5).json()
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait()


def test_next_run_reports_and_removes_only_dead_runs_leftovers(toxiproxy, tmp_path):
    api = toxiproxy.url
    corpse = subprocess.Popen([sys.executable, "-c", "pass"])
    corpse.wait()
    dead, live = new_run_id(pid=corpse.pid), new_run_id()  # live: this test process
    for run in (dead, live):
        requests.post(f"{api}/proxies", json={"name": f"fc-{run}-api", "upstream": "127.0.0.1:9",
                                              "listen": "127.0.0.1:0"}, timeout=5)
    journal = tmp_path / "next.journal.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "fleetchaos.cli", "run", "baseline", "--time-scale", "0.1",
         "--set", "fleet.cars=5", "--set", "fleet.drivers=5", "--out", str(tmp_path),
         *[a for i in range(4) for a in ("--set", f"slos.{i}.min_samples=0")],
         "--journal", str(journal), "--no-live"],
        env=cli_env(api), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    # What is pinned is the clean-up, not the verdict: 5 cars for 3 s on a loaded machine
    # can miss the ack SLO (seen in CI: telemetry_ack_ratio < 0.95 in steady), exit 1.
    assert result.returncode in (0, 1), result.stderr
    assert f"removed 1 fault(s) left by dead run(s): fc-{dead}-api" in result.stderr
    header = json.loads(journal.read_text().splitlines()[0])
    assert header["type"] == "header" and header["leftovers_removed"] == [f"fc-{dead}-api"]
    left = set(requests.get(f"{api}/proxies", timeout=5).json())
    assert left == {f"fc-{live}-api"}  # the live run's proxy was not touched
