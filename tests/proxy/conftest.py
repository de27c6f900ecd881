"""Servers for the proxy tests, and the comparison mode.

``server`` runs a behaviour test against the built-in server and, when the environment
variable ``TOXIPROXY_SERVER_BIN`` names a real ``toxiproxy-server`` binary, against that
binary too (started with ``-host 127.0.0.1 -port N``), so any difference between the two
shows up as a failing test. Without the variable that side skips, saying why. Tests of our
extensions (http_error, seed) use the built-in ``toxiproxy`` fixture only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))  # upstreams.py


@dataclass
class Server:
    kind: str  # "built-in" or "toxiproxy"
    url: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_version(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 20.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"toxiproxy-server exited with {proc.returncode}")
        try:
            if requests.get(f"{url}/version", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"toxiproxy-server did not answer on {url}")


SKIP_REAL = ("comparison side skipped: set TOXIPROXY_SERVER_BIN to a toxiproxy-server "
             "binary to run this test against the real Toxiproxy too")


@pytest.fixture
def real_toxiproxy(tmp_path: Path) -> Iterator[Server]:
    binary = os.environ.get("TOXIPROXY_SERVER_BIN")
    if not binary:
        pytest.skip(SKIP_REAL)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "toxiproxy.log").open("wb") as log:
        proc = subprocess.Popen([binary, "-host", "127.0.0.1", "-port", str(port)],
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            wait_for_version(url, proc)
            yield Server("toxiproxy", url)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(params=["built-in", "toxiproxy"])
def server(request: pytest.FixtureRequest) -> Server:
    """The same behaviour test against each server (see the module docstring)."""
    if request.param == "built-in":
        child = request.getfixturevalue("toxiproxy")
        return Server("built-in", child.url)
    return request.getfixturevalue("real_toxiproxy")


@pytest.fixture
def plain_builtin() -> Iterator[Server]:
    """The built-in server as Toxiproxy 2.x (``--no-extensions``), one per test."""
    from fleetchaos import toxiproxy_server

    with toxiproxy_server.run_in_subprocess(extensions=False) as child:
        yield Server("built-in", child.url)


@pytest.fixture(params=["built-in", "toxiproxy"])
def plain_server(request: pytest.FixtureRequest) -> Server:
    """Like ``server``, with the built-in in Toxiproxy mode (no extensions, no /metrics)."""
    if request.param == "built-in":
        return request.getfixturevalue("plain_builtin")
    return request.getfixturevalue("real_toxiproxy")
