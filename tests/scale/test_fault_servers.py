"""Faults on several Toxiproxy servers (scenarios/fault_servers.py): on every server at
once, counts summed, all or nothing, rollback reaching the servers that still answer.

Each behaviour runs on two built-in servers and, in the comparison mode
(TOXIPROXY_SERVER_BIN names a real toxiproxy-server), on two real ones too.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from fleetchaos.scenarios.fault_control import FaultError, marker, new_run_id
from fleetchaos.scenarios.fault_servers import FaultServers, parse_urls

sys.path.insert(0, str(Path(__file__).parent))
from real_toxiproxy import Server, two_servers_of  # tests/scale/real_toxiproxy.py


@pytest.fixture(params=["built-in", "toxiproxy"])
def two_servers(request: pytest.FixtureRequest) -> Iterator[list[Server]]:
    with two_servers_of(request.param) as servers:
        yield servers


@pytest.fixture
def echo() -> Iterator[int]:
    """A TCP upstream that echoes (the proxies need somewhere to forward to)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)


def toxics_on(url: str, proxy: str) -> list[str]:
    return [t["name"] for t in requests.get(f"{url}/proxies/{proxy}/toxics", timeout=5).json()]


def test_toxiproxy_url_names_one_server_or_several():
    assert parse_urls("http://127.0.0.1:8474") == ["http://127.0.0.1:8474"]
    assert parse_urls(" http://a:1 ,http://b:2,, ") == ["http://a:1", "http://b:2"]
    servers = FaultServers(["http://a:1", "http://b:2", "http://a:1"])
    assert [c.url for c in servers.controls] == ["http://a:1", "http://b:2"]  # faults once each
    assert servers.shares == ["http://a:1", "http://b:2", "http://a:1"]  # a: two shares


def test_a_fault_is_on_every_server_and_their_counts_are_summed(two_servers, echo):
    servers = FaultServers([s.url for s in two_servers])
    name = f"{marker(new_run_id())}api"
    listens = servers.create_proxy(name, f"127.0.0.1:{echo}")
    assert len(listens) == 2 and listens[0] != listens[1]
    toxic = f"{name}-latency"
    servers.add_toxic(name, toxic, "latency", attributes={"latency": 1})
    assert [toxics_on(s.url, name) for s in two_servers] == [[toxic], [toxic]]
    before = servers.proxy_counters(name)
    for listen, n in zip(listens, (2, 1), strict=True):  # 2 connections via one, 1 the other
        host, port = listen.rsplit(":", 1)
        for _ in range(n):
            with socket.create_connection((host, int(port)), timeout=5) as conn:
                conn.sendall(b"ping")
                assert conn.recv(4) == b"ping"  # through the 1 ms latency
    after = servers.proxy_counters(name)
    if before is None:  # a real Toxiproxy keeps no per-proxy metrics: the sum is unknown
        assert after is None
    else:
        assert after is not None
        assert after.connections_total - before.connections_total == 3
    servers.remove_toxic(name, toxic)
    assert [toxics_on(s.url, name) for s in two_servers] == [[], []]
    assert sorted(servers.remove_leftovers(run_id=name[3:-4])) == sorted(
        f"{s.url} {name}" for s in two_servers)


def test_a_server_that_stops_answering_leaves_no_fault_on_the_others(two_servers, echo):
    a, b = two_servers
    servers = FaultServers([a.url, b.url])
    name = f"{marker(new_run_id())}api"
    servers.create_proxy(name, f"127.0.0.1:{echo}")
    b.stop()
    with pytest.raises(FaultError, match=b.url):
        servers.add_toxic(name, f"{name}-latency", "latency", attributes={"latency": 1})
    assert toxics_on(a.url, name) == []  # added on a, taken off again: all or nothing
    with pytest.raises(FaultError, match=b.url):
        servers.set_enabled(name, False)
    assert requests.get(f"{a.url}/proxies/{name}", timeout=5).json()["enabled"] is True


def test_rollback_reaches_every_server_that_still_answers(two_servers, echo):
    a, b = two_servers
    servers = FaultServers([a.url, b.url])
    run_id = new_run_id()
    name = f"{marker(run_id)}api"
    servers.create_proxy(name, f"127.0.0.1:{echo}")
    servers.add_toxic(name, f"{name}-latency", "latency", attributes={"latency": 1})
    servers.set_enabled(name, False)
    b.stop()
    with pytest.raises(FaultError, match=b.url):
        servers.remove_toxic(name, f"{name}-latency")
    assert toxics_on(a.url, name) == []
    with pytest.raises(FaultError, match=b.url):
        servers.set_enabled(name, True)
    assert requests.get(f"{a.url}/proxies/{name}", timeout=5).json()["enabled"] is True
    with pytest.raises(FaultError, match=b.url):
        servers.remove_leftovers(run_id=run_id)
    assert name not in requests.get(f"{a.url}/proxies", timeout=5).json()
    left = servers.marked(run_id)  # what the end of a run reports as left behind
    assert len(left) == 1 and left[0].startswith(f"unknown on {b.url} (it did not answer")


class _Slow(BaseHTTPRequestHandler):
    """A Toxiproxy API that takes 300 ms to answer anything (a busy server)."""

    def do_POST(self) -> None:
        time.sleep(0.3)
        body = json.dumps({}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def slow_servers() -> Iterator[list[str]]:
    httpds = [ThreadingHTTPServer(("127.0.0.1", 0), _Slow) for _ in range(2)]
    threads = [threading.Thread(target=h.serve_forever, daemon=True) for h in httpds]
    for t in threads:
        t.start()
    try:
        yield [f"http://127.0.0.1:{h.server_address[1]}" for h in httpds]
    finally:
        for h in httpds:
            h.shutdown()
            h.server_close()


ADD_BOTH = """
import sys, time
{patch}
from fleetchaos.scenarios.fault_servers import FaultServers
servers = FaultServers(sys.argv[1:])
start = time.monotonic()
servers.add_toxic("p", "t", "latency", attributes={{"latency": 1}})
print(time.monotonic() - start)
"""


@pytest.mark.parametrize("patched", [False, True], ids=["threads", "gevent"])
def test_a_fault_goes_on_both_servers_at_once(slow_servers, patched):
    """Two servers that each take 300 ms: together well under the 600 ms one after the
    other would take, with greenlets (Locust's process, where the engine applies faults)
    as with threads (the orchestrator's process)."""
    patch = "from gevent import monkey; monkey.patch_all()" if patched else ""
    proc = subprocess.run([sys.executable, "-c", ADD_BOTH.format(patch=patch), *slow_servers],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    elapsed = float(proc.stdout.strip().splitlines()[-1])
    assert 0.3 <= elapsed < 0.55, elapsed
