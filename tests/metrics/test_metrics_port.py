"""--metrics-port bad input: a number that is no TCP port, or a port already taken, is one
line on stderr and exit code 2, before anything starts (no journal, no Locust run)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1")
    env.pop("TOXIPROXY_URL", None)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    # Locust's own "Starting Locust" log line comes before its init hooks run: not ours
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip() and not ln.startswith("[")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_fleetchaos_run_refuses_a_port_out_of_range(tmp_path):
    proc = run([sys.executable, "-m", "fleetchaos.cli", "run", "baseline", "--metrics-port",
                "70000", "--out", str(tmp_path / "out")], tmp_path)
    assert proc.returncode == 2
    assert "--metrics-port" in one_line(proc.stderr) and "70000" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_plain_locust_refuses_a_port_out_of_range(tmp_path):
    proc = run([sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"), "--headless",
                "--scenario", "baseline", "--metrics-port", "-1",
                "--journal", str(tmp_path / "j.jsonl")], tmp_path)
    assert proc.returncode == 2
    assert one_line(proc.stderr).startswith("fleetchaos: error: --metrics-port -1")
    assert not (tmp_path / "j.jsonl").exists()


def test_plain_locust_exits_2_when_the_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run([sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"),
                    "--headless", "--loglevel", "WARNING", "--scenario", "baseline",
                    "--metrics-port", str(port),
                    "--journal", str(tmp_path / "j.jsonl")], tmp_path)
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in line
    assert not (tmp_path / "j.jsonl").exists()


def test_fleetchaos_run_refuses_a_taken_port_before_starting_anything(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run([sys.executable, "-m", "fleetchaos.cli", "run", "baseline", "--metrics-port",
                    str(port), "--out", str(tmp_path / "out")], tmp_path)
    assert proc.returncode == 2
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in one_line(proc.stderr)
    assert not (tmp_path / "out").exists()  # no backend, no Toxiproxy, no Locust started
