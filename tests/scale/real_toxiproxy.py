"""Two Toxiproxy servers for the several-servers tests: built-in ones, or real
toxiproxy-servers (TOXIPROXY_SERVER_BIN) on free loopback ports in the comparison mode."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests

SKIP_REAL = ("comparison side skipped: set TOXIPROXY_SERVER_BIN to a toxiproxy-server "
             "binary to run this test against real Toxiproxy servers too")


@dataclass
class Server:
    url: str
    stop: Any  # stops the process (the server "stops answering")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_real(binary: str) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([binary, "-host", "127.0.0.1", "-port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            if requests.get(f"{url}/version", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"{binary} did not answer on {url}")

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return Server(url, stop)




@contextmanager
def two_servers_of(kind: str) -> Iterator[list[Server]]:
    """Two servers of ``kind`` ("built-in" or "toxiproxy": skipped without a binary),
    always stopped."""
    servers: list[Server] = []
    try:
        if kind == "built-in":
            from fleetchaos import toxiproxy_server

            for seed in (1, 2):
                child = toxiproxy_server.run_in_subprocess(seed=seed)
                servers.append(Server(child.url, child.stop))
        else:
            binary = os.environ.get("TOXIPROXY_SERVER_BIN")
            if not binary:
                pytest.skip(SKIP_REAL)
            servers += [start_real(binary), start_real(binary)]
        yield servers
    finally:
        for server in servers:
            server.stop()
