"""Each toxic's effect, measured on real sockets through the built-in server."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import threading
import time
from typing import Any

import pytest
import requests
from upstreams import echo_server


@pytest.fixture
def echo_proxy(toxiproxy):
    """A proxy in front of an echo server: yields (api url, proxy address)."""
    with echo_server() as port:
        body = requests.post(f"{toxiproxy.url}/proxies",
                             json={"name": "echo", "upstream": f"127.0.0.1:{port}"}).json()
        host, lport = body["listen"].rsplit(":", 1)
        yield toxiproxy.url, (host, int(lport))


def add(api: str, **toxic) -> None:
    resp = requests.post(f"{api}/proxies/echo/toxics", json=toxic)
    assert resp.status_code == 200, resp.text


def roundtrip(addr, payload: bytes = b"ping") -> float:
    with socket.create_connection(addr, timeout=10) as s:
        start = time.perf_counter()
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            got += s.recv(65536)
        assert got == payload
        return time.perf_counter() - start


def recv_exactly(s: socket.socket, size: int) -> bytes:
    """Read ``size`` bytes (or what came before the connection closed). The payload is not
    followed by a half-close: Toxiproxy closes both ways when the client does (link.go)."""
    got = bytearray()
    while len(got) < size:
        chunk = s.recv(min(65536, size - len(got)))
        if not chunk:
            break
        got += chunk
    return bytes(got)


def recv_until_closed(s: socket.socket, limit: int = 1 << 26) -> bytes:
    got = b""
    while len(got) < limit:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def test_latency_adds_at_least_its_latency(echo_proxy):
    api, addr = echo_proxy
    add(api, type="latency", attributes={"latency": 150, "jitter": 20})
    elapsed = roundtrip(addr)
    assert 0.130 <= elapsed < 2.0


def test_latency_on_both_streams_adds_up(echo_proxy):
    api, addr = echo_proxy
    add(api, type="latency", stream="upstream", attributes={"latency": 100})
    add(api, type="latency", stream="downstream", attributes={"latency": 100})
    assert 0.2 <= roundtrip(addr) < 2.0


def test_bandwidth_within_15_percent(echo_proxy):
    api, addr = echo_proxy
    add(api, type="bandwidth", attributes={"rate": 200})  # 200 KB/s downstream
    payload = os.urandom(300_000)
    with socket.create_connection(addr, timeout=10) as s:
        threading.Thread(target=s.sendall, args=(payload,), daemon=True).start()
        start = time.perf_counter()
        got = b""
        while len(got) < len(payload):
            got += s.recv(65536)
        rate = len(got) / (time.perf_counter() - start) / 1000
    assert got == payload
    assert 170 <= rate <= 230, rate


def test_timeout_holds_data_then_closes(echo_proxy):
    api, addr = echo_proxy
    add(api, type="timeout", attributes={"timeout": 300})
    with socket.create_connection(addr, timeout=5) as s:
        start = time.perf_counter()
        s.sendall(b"lost")
        assert s.recv(100) == b""  # no data, then a close
        assert time.perf_counter() - start >= 0.25


def test_timeout_zero_never_closes_until_removed(echo_proxy):
    api, addr = echo_proxy
    add(api, type="timeout", attributes={"timeout": 0})
    with socket.create_connection(addr, timeout=0.8) as s:
        s.sendall(b"dropped")
        with pytest.raises(TimeoutError):
            s.recv(100)
        # as Toxiproxy does: bytes were dropped, so removing the toxic closes the connection
        requests.delete(f"{api}/proxies/echo/toxics/timeout_downstream")
        s.settimeout(5)
        assert s.recv(100) == b""
    with socket.create_connection(addr, timeout=5) as s:  # new connections pass again
        s.sendall(b"after")
        assert s.recv(100) == b"after"


def test_reset_peer_gives_econnreset(echo_proxy):
    api, addr = echo_proxy
    add(api, type="reset_peer", attributes={"timeout": 100})
    with socket.create_connection(addr, timeout=5) as s:
        time.sleep(0.4)
        with pytest.raises(ConnectionResetError) as info:
            s.sendall(b"x")
            s.recv(10)
        assert info.value.errno == errno.ECONNRESET


def test_slow_close_delays_the_fin(echo_proxy):
    api, addr = echo_proxy
    add(api, type="slow_close", attributes={"delay": 400})
    with socket.create_connection(addr, timeout=5) as s:
        s.sendall(b"bye")
        assert s.recv(10) == b"bye"
        start = time.perf_counter()
        s.shutdown(socket.SHUT_WR)
        assert s.recv(10) == b""
        assert time.perf_counter() - start >= 0.35


def test_slicer_splits_writes(echo_proxy):
    """Toxiproxy's slicer.go halves a chunk until a piece is at most average_size (with no
    variation): 100 bytes at average 10 become pieces of 6 or 7 bytes, 20 ms apart."""
    api, addr = echo_proxy
    add(api, type="slicer", attributes={"average_size": 10, "size_variation": 0, "delay": 20000})
    with socket.create_connection(addr, timeout=5) as s:
        s.sendall(b"a" * 100)
        first = s.recv(1000)
        assert 5 <= len(first) <= 10  # one slice, the next 20 ms later
        rest = b""
        while len(first) + len(rest) < 100:
            rest += s.recv(1000)
        assert first + rest == b"a" * 100


def test_limit_data_closes_at_exactly_its_count(echo_proxy):
    api, addr = echo_proxy
    add(api, type="limit_data", attributes={"bytes": 1000})
    with socket.create_connection(addr, timeout=5) as s:
        s.sendall(b"z" * 5000)
        got = recv_until_closed(s)
    assert len(got) == 1000


def test_disabled_proxy_refuses_and_comes_back(echo_proxy):
    api, addr = echo_proxy
    requests.post(f"{api}/proxies/echo", json={"enabled": False})
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(addr, timeout=2)
    requests.post(f"{api}/proxies/echo", json={"enabled": True})
    assert roundtrip(addr) < 2


def test_toxicity_zero_never_applies(echo_proxy):
    api, addr = echo_proxy
    add(api, type="latency", toxicity=0.0, attributes={"latency": 1000})
    assert roundtrip(addr) < 0.5


TEN_MB = 10 * 1024 * 1024


@pytest.mark.slow
@pytest.mark.parametrize("toxic", [
    None,
    {"type": "noop"},
    {"type": "latency", "attributes": {"latency": 1}},
    {"type": "slicer", "attributes": {"average_size": 4096, "size_variation": 1024, "delay": 0}},
    {"type": "limit_data", "stream": "upstream", "attributes": {"bytes": 100_000_000}},
    {"type": "slow_close", "attributes": {"delay": 10}},
    {"type": "bandwidth", "attributes": {"rate": 100_000}},
])
def test_ten_megabytes_byte_exact(echo_proxy, toxic):
    api, addr = echo_proxy
    if toxic:
        add(api, **toxic)
    payload = os.urandom(TEN_MB)
    with socket.create_connection(addr, timeout=20) as s:
        threading.Thread(target=lambda: s.sendall(payload), daemon=True).start()
        got = recv_exactly(s, TEN_MB)
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()


@pytest.mark.slow
def test_toxics_added_and_removed_while_streaming_lose_nothing(echo_proxy):
    api, addr = echo_proxy
    payload = os.urandom(TEN_MB)
    stop = threading.Event()

    def churn() -> None:
        kinds: list[dict[str, Any]] = [
            {"type": "latency", "attributes": {"latency": 2}},
            {"type": "slicer", "attributes": {"average_size": 512, "delay": 0}},
            {"type": "noop"}]
        i = 0
        while not stop.is_set():
            spec = kinds[i % 3]
            name = f"churn{i}"
            for stream in ("upstream", "downstream"):
                requests.post(f"{api}/proxies/echo/toxics",
                              json={**spec, "name": f"{name}{stream}", "stream": stream})
            time.sleep(0.02)
            for stream in ("upstream", "downstream"):
                requests.delete(f"{api}/proxies/echo/toxics/{name}{stream}")
            i += 1

    churner = threading.Thread(target=churn, daemon=True)
    churner.start()
    try:
        with socket.create_connection(addr, timeout=30) as s:
            threading.Thread(target=lambda: s.sendall(payload), daemon=True).start()
            got = recv_exactly(s, TEN_MB)
    finally:
        stop.set()
        churner.join(5)
    assert len(got) == TEN_MB
    assert got == payload
