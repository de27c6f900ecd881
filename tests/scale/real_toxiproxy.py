"""A real toxiproxy-server (TOXIPROXY_SERVER_BIN) on a free loopback port, for the
comparison mode of the several-servers tests; stopped by the test that started it."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Any

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


