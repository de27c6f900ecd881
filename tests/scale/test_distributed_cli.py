"""`fleetchaos run --expect-workers/--master-bind` and `fleetchaos worker`: what they refuse
(exit 2, one line, before anything starts), and a master with a worker of the project's
command on loopback (what the cross-host test runs where namespaces cannot be made)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from fleetchaos.scenarios.journal import read_journal


@pytest.fixture
def cli():
    """The real `fleetchaos` entry point as a child process (as tests/cli's fixture)."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
        full.update(NO_COLOR="1", **(env or {}))
        return subprocess.run([sys.executable, "-m", "fleetchaos.cli", *args], env=full,
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("fleetchaos: error: "), lines
    return lines[0]


@pytest.mark.parametrize(("args", "says"), [
    (["run", "baseline", "--expect-workers", "2", "--workers", "2"],
     "--expect-workers and --workers: one or the other"),
    (["run", "baseline", "--expect-workers", "2", "--master-bind", "10.77.0.1"],
     "--allow-host 10.77.0.1"),
    (["run", "baseline", "--master-bind", "127.0.0.1:5557"], "only for a master"),
    (["run", "baseline", "--expect-workers", "1", "--master-bind", "127.0.0.1:99999"],
     "expected a port from 1 to 65535"),
    (["run", "baseline", "--expect-workers", "0"], "--expect-workers 0"),
    (["worker", "--master", "10.1.2.3"], "--allow-host 10.1.2.3"),
    (["worker", "--master", "127.0.0.1:http"], "--master 127.0.0.1:http"),
    (["worker", "--master", "127.0.0.1", "--processes", "0"], "--processes"),
])
def test_refusals_are_one_line_and_exit_2(cli, tmp_path, args, says):
    assert says in one_line(cli(*args, "--out", str(tmp_path)) if args[0] == "run"
                            else cli(*args))


def test_a_taken_master_port_is_refused_before_anything_starts(cli, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = one_line(cli("run", "baseline", "--expect-workers", "1", "--master-bind",
                            f"127.0.0.1:{port}", "--out", str(tmp_path)))
    assert f"cannot listen on 127.0.0.1:{port}" in line
    assert not list(tmp_path.glob("*.log"))  # nothing started


@pytest.mark.slow
def test_workers_that_never_join_are_a_set_up_failure(cli, tmp_path):
    port = free_port()
    result = cli("run", "api-latency", "--expect-workers", "1", "--master-bind",
                 f"127.0.0.1:{port}", "--out", str(tmp_path), "--no-live",
                 env={"FLEETCHAOS_WORKERS_WAIT_S": "3"})
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith(
        "fleetchaos: error: --expect-workers 1: not all of them joined within 3 s (start them "
        f"with fleetchaos worker --master 127.0.0.1:{port};"), result.stderr


@pytest.mark.slow
def test_a_master_and_a_worker_command_run_a_scenario(backend, tmp_path):
    port = free_port()
    env = dict(os.environ, FLEETCHAOS_ADMIN_TOKEN="test-admin-token", NO_COLOR="1")
    env.pop("TOXIPROXY_URL", None)
    journal = tmp_path / "run.jsonl"
    master = subprocess.Popen(
        [sys.executable, "-m", "fleetchaos.cli", "run", "api-latency", "--host", backend.url,
         "--expect-workers", "1", "--master-bind", f"127.0.0.1:{port}", "--time-scale", "0.25",
         "--set", "fleet.cars=10", "--set", "fleet.drivers=10", "--no-live",
         "--out", str(tmp_path), "--journal", str(journal)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)
    worker = subprocess.Popen(
        [sys.executable, "-m", "fleetchaos.cli", "worker", "--master", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)
    try:
        _, master_err = master.communicate(timeout=150)
        _, worker_err = worker.communicate(timeout=60)
    finally:
        for proc in (master, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert master.returncode in (0, 1, 4), master_err[-2000:]  # 4: too few samples to judge
    assert worker.returncode == 0, worker_err[-2000:]
    assert f"fleetchaos worker --master 127.0.0.1:{port}" in master_err  # said how to join
    records = read_journal(journal)
    header = next(r for r in records if r["type"] == "header")
    assert header["fleet"]["workers"] == 1
    final = [r for r in records if r["type"] == "sample"][-1]["fleet"]
    assert final["cars_total"] == 10 and final["telemetry_sent"] > 0
    assert next(r for r in records if r["type"] == "summary")["verdict"]


def test_a_master_does_not_count_the_cars_of_workers_on_other_machines():
    """The open-file bound (runs/bounds.py) counts the fleet's connections in this
    machine's Locust processes; with --expect-workers they are in other machines'."""
    from fleetchaos.common.errors import UsageError
    from fleetchaos.runs.bounds import FileLimits, check_files

    limits = FileLimits(soft=1024, hard=20000)
    with pytest.raises(UsageError, match="per Locust process"):
        check_files(50_000, 0, 0, workers=1, workers_flag="--workers", builtin_toxiproxy=False,
                    builtin_backend=False, limits=limits)
    check_files(50_000, 0, 0, workers=1, workers_flag="--workers", builtin_toxiproxy=False,
                builtin_backend=False, limits=limits, fleet_here=False)
