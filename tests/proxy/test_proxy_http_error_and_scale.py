"""The http_error extension (per request, keep-alive safe) and many connections at once."""

from __future__ import annotations

import http.client
import os
import socket
import time

import pytest
import requests
from upstreams import echo_server, http_server


def test_http_error_hits_a_share_of_requests_on_keepalive_connections(toxiproxy):
    api = toxiproxy.url
    with http_server() as (port, seen):
        listen = requests.post(f"{api}/proxies", json={"name": "web",
                                                        "upstream": f"127.0.0.1:{port}"}).json()
        requests.post(f"{api}/proxies/web/toxics", json={
            "type": "http_error", "stream": "upstream",
            "attributes": {"share": 0.3, "status": 503, "body": "{\"injected\": true}",
                           "headers": {"Retry-After": "1"}}}).raise_for_status()
        host, lport = listen["listen"].rsplit(":", 1)
        injected = passed = 0
        for conn_no in range(10):
            conn = http.client.HTTPConnection(host, int(lport), timeout=10)
            for i in range(100):
                body = os.urandom(8).hex() if i % 2 else ""
                conn.request("POST" if body else "GET", f"/r/{conn_no}/{i}", body=body or None)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 503:
                    injected += 1
                    assert data == b'{"injected": true}'
                    assert resp.getheader("Retry-After") == "1"
                else:
                    passed += 1
                    assert resp.status == 200
                    assert data == f"ok /r/{conn_no}/{i} {len(body)}".encode()
            conn.close()
    assert 250 <= injected <= 350, injected
    assert passed == len(seen)  # every request not answered by the toxic reached upstream intact
    toxic = requests.get(f"{api}/proxies/web/toxics/http_error_upstream").json()
    assert toxic["injected"] == injected  # the count the scenario engine reads
    assert toxic["matched"] == 1000  # every request matched (no method/path): the share's base


def test_http_error_filters_by_method_and_path(toxiproxy):
    api = toxiproxy.url
    with http_server() as (port, seen):
        listen = requests.post(f"{api}/proxies", json={"name": "web",
                                                        "upstream": f"127.0.0.1:{port}"}).json()
        requests.post(f"{api}/proxies/web/toxics", json={
            "type": "http_error", "stream": "upstream",
            "attributes": {"share": 1.0, "method": "POST", "path": "/api/*/unlock"}})
        host, lport = listen["listen"].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(lport), timeout=10)
        for method, path, want in (("POST", "/api/1/unlock", 500), ("GET", "/api/1/unlock", 200),
                                   ("POST", "/api/1/data", 200), ("POST", "/api/2/unlock", 500)):
            conn.request(method, path, body="{}" if method == "POST" else None)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == want, (method, path)
    assert seen == ["/api/1/unlock", "/api/1/data"]
    toxic = requests.get(f"{api}/proxies/web/toxics/http_error_upstream").json()
    assert (toxic["matched"], toxic["injected"]) == (2, 2)  # only POST /api/*/unlock counted


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
def test_two_thousand_concurrent_connections_and_fds_return_to_baseline(toxiproxy):
    api = toxiproxy.url
    with echo_server() as port:
        listen = requests.post(f"{api}/proxies", json={"name": "many",
                                                        "upstream": f"127.0.0.1:{port}"}).json()
        host, lport = listen["listen"].rsplit(":", 1)
        time.sleep(0.2)
        baseline = _open_fds(toxiproxy.pid)
        socks = []
        try:
            for _ in range(2000):
                socks.append(socket.create_connection((host, int(lport)), timeout=10))
            for i, s in enumerate(socks):
                s.sendall(b"%d;" % i)
            for i, s in enumerate(socks):
                expected = b"%d;" % i
                got = b""
                while len(got) < len(expected):
                    got += s.recv(100)
                assert got == expected
            assert _open_fds(toxiproxy.pid) >= baseline + 2000
        finally:
            for s in socks:
                s.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _open_fds(toxiproxy.pid) > baseline:
            time.sleep(0.2)
        assert _open_fds(toxiproxy.pid) <= baseline
