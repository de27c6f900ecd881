"""Every port option of every command refuses a port already taken before anything starts:
exit code 2, one line on stderr, no traceback, nothing created (issue 23: `fleetchaos ui
--web-port <taken>` printed "web UI: http://127.0.0.1:N/" - someone else's server - two
gevent tracebacks and empty Locust tables)."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetchaos.cli.main import COMMANDS, build_parser
from fleetchaos.common.run_options import OPTIONS

# The declared port options: the kind every port check hangs off (runs.options.check_ports).
PORT_OPTIONS = {o.name for o in OPTIONS if o.kind == "port"}

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:  # a listener of our own: the port is really in use
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1")
    for name in ("TOXIPROXY_URL", "FLEETCHAOS_UI_TOKEN"):
        env.pop(name, None)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    # Locust's own "Starting ..." log lines come before its init hooks run: not ours
    lines = [ln for ln in proc.stderr.strip().splitlines()
             if ln.strip() and not ln.startswith("[")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


FLEETCHAOS = [sys.executable, "-m", "fleetchaos.cli"]
CASES = {
    "ui --web-port": ["ui", "api-latency", "--web-port"],
    "ui --metrics-port": ["ui", "api-latency", "--web-port", "0", "--metrics-port"],
    "run --metrics-port": ["run", "api-latency", "--metrics-port"],
    "demo --metrics-port": ["demo", "--metrics-port"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_taken_port_is_refused_before_anything_starts(case, taken_port, tmp_path):
    out = tmp_path / "out"
    proc = run([*FLEETCHAOS, *CASES[case], str(taken_port), "--out", str(out)], tmp_path)
    assert proc.returncode == 2, proc.stderr
    option = case.split()[1]
    assert one_line(proc) == (f"fleetchaos: error: {option} {taken_port}: cannot listen on "
                              f"127.0.0.1:{taken_port}: Address already in use")
    assert proc.stdout == ""  # no "web UI: http://127.0.0.1:N/" banner for someone else's server
    assert not out.exists()  # no backend, no Toxiproxy, no Locust, no journal


def test_ui_refuses_a_web_port_out_of_range_and_two_options_on_one_port(tmp_path):
    proc = run([*FLEETCHAOS, "ui", "api-latency", "--web-port", "70000"], tmp_path)
    assert proc.returncode == 2
    assert one_line(proc) == ("fleetchaos: error: --web-port 70000: not a TCP port "
                              "(0..65535; 0 picks a free one)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    proc = run([*FLEETCHAOS, "ui", "api-latency", "--web-port", str(free), "--metrics-port",
                str(free), "--out", str(tmp_path / "out")], tmp_path)
    assert proc.returncode == 2
    assert one_line(proc) == (f"fleetchaos: error: --web-port {free}: --metrics-port asks "
                              "for the same port")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("server", ["toxiproxy", "backend"])
def test_the_servers_alone_refuse_a_taken_port(server, taken_port, tmp_path):
    extra = ["--db", str(tmp_path / "b.db")] if server == "backend" else []
    proc = run([*FLEETCHAOS, server, "--port", str(taken_port), *extra], tmp_path)
    assert proc.returncode == 2
    line = one_line(proc)
    assert line.startswith(f"fleetchaos {server}: error: cannot listen on "
                           f"127.0.0.1:{taken_port}"), line


def test_plain_locust_refuses_a_taken_web_port_before_its_ui_starts(taken_port, tmp_path):
    """Locust binds its web UI in a greenlet after the init hooks (locust/main.py:
    ``environment.events.init.fire`` then ``web_ui.start()``), so a taken port was a gevent
    traceback and a process that went on without a UI; the plugin asks first."""
    journal = tmp_path / "j.jsonl"
    proc = run([sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"),
                "--web-port", str(taken_port), "--scenario", "baseline",
                "--journal", str(journal)], tmp_path)
    assert proc.returncode == 2
    assert one_line(proc) == (f"fleetchaos: error: --web-port {taken_port}: cannot listen on "
                              f"127.0.0.1:{taken_port}: Address already in use")
    assert not journal.exists()


def test_every_port_option_of_every_command_is_checked():
    """A new port option must be declared with the port kind (the one check), or this fails."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = set()
    for name, command in sub.choices.items():
        if COMMANDS[name].server is not None:
            continue  # the servers bind their own --port and refuse it the same way (above)
        for action in command._actions:
            if any("port" in opt for opt in action.option_strings):
                found.add(action.dest)
    assert found and found <= set(PORT_OPTIONS), found - set(PORT_OPTIONS)
