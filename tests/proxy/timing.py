"""Helpers for the timing tests: a proxy per test, clients that time every echo."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import requests


def make_proxy(api: str, name: str, upstream_port: int) -> tuple[str, int]:
    resp = requests.post(f"{api}/proxies", json={"name": name, "listen": "127.0.0.1:0",
                                                 "upstream": f"127.0.0.1:{upstream_port}"})
    assert resp.status_code == 201, resp.text
    host, port = resp.json()["listen"].rsplit(":", 1)
    return host, int(port)


def add_toxic(api: str, proxy: str, **toxic: object) -> None:
    resp = requests.post(f"{api}/proxies/{proxy}/toxics", json=toxic)
    assert resp.status_code == 200, resp.text


def connect(addr: tuple[str, int], timeout: float = 10.0) -> socket.socket:
    s = socket.create_connection(addr, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


@dataclass
class Reader:
    """Reads a socket on a thread, noting when each byte count was reached."""

    sock: socket.socket
    got: bytearray = field(default_factory=bytearray)
    times: list[tuple[int, float]] = field(default_factory=list)  # (total bytes, time)
    closed_at: float | None = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        try:
            while True:
                chunk = self.sock.recv(65536)
                now = time.perf_counter()
                if not chunk:
                    self.closed_at = now
                    return
                self.got += chunk
                self.times.append((len(self.got), now))
        except OSError as exc:
            self.error = exc
            self.closed_at = time.perf_counter()

    def when(self, nbytes: int) -> float:
        """When the first ``nbytes`` bytes had arrived."""
        for total, at in self.times:
            if total >= nbytes:
                return at
        raise AssertionError(f"only {len(self.got)} of {nbytes} bytes arrived")

    def wait(self, nbytes: int, deadline_s: float = 10.0) -> None:
        end = time.perf_counter() + deadline_s
        while len(self.got) < nbytes and self.closed_at is None and time.perf_counter() < end:
            time.sleep(0.005)

    def wait_closed(self, deadline_s: float = 10.0) -> None:
        self.thread.join(deadline_s)
