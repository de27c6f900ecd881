"""The Toxiproxy 2.x HTTP API contract, over real HTTP, including every error case."""

from __future__ import annotations

import re
import socket
import time

import pytest
import requests
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from upstreams import echo_server


@pytest.fixture
def api(toxiproxy):
    return toxiproxy.url


def test_version_and_request_id(api):
    resp = requests.get(f"{api}/version")
    assert resp.status_code == 200
    assert resp.json() == {"version": "2.12.0"}
    assert resp.text.endswith("\n")
    assert resp.headers["Content-Type"] == "application/json;charset=utf-8"
    assert re.fullmatch("[0-9a-v]{20}", resp.headers["X-Toxiproxy-Request-Id"])  # an xid


def test_browsers_are_refused(api):
    """stopBrowsersMiddleware: http.Error, so plain text, not the API's JSON."""
    resp = requests.get(f"{api}/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert resp.status_code == 403
    assert resp.text == "User agent not allowed\n"


def test_proxy_lifecycle_and_defaults(api):
    resp = requests.post(f"{api}/proxies", json={"name": "db", "upstream": "127.0.0.1:1",
                                                 "listen": "localhost:0"})
    assert resp.status_code == 201
    body = resp.json()
    assert body["enabled"] is True and body["toxics"] == []
    host, port = body["listen"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    toxic = requests.post(f"{api}/proxies/db/toxics", json={"type": "latency",
                                                           "attributes": {"latency": 5}}).json()
    assert toxic == {"name": "latency_downstream", "type": "latency", "stream": "downstream",
                     "toxicity": 1.0, "attributes": {"latency": 5, "jitter": 0}}
    updated = requests.patch(f"{api}/proxies/db/toxics/latency_downstream",
                             json={"attributes": {"latency": 9}, "toxicity": 0.5}).json()
    assert updated["attributes"]["latency"] == 9 and updated["toxicity"] == 0.5
    assert requests.get(f"{api}/proxies/db/toxics").json()[0]["name"] == "latency_downstream"
    assert requests.post(f"{api}/reset").status_code == 204
    assert requests.get(f"{api}/proxies/db").json()["toxics"] == []
    assert requests.delete(f"{api}/proxies/db").status_code == 204
    assert requests.get(f"{api}/proxies").json() == {}


def test_populate_creates_and_replaces(api):
    proxies = [{"name": "a", "upstream": "127.0.0.1:1"}, {"name": "b", "upstream": "127.0.0.1:2"}]
    resp = requests.post(f"{api}/populate", json=proxies)
    assert resp.status_code == 201
    assert sorted(p["name"] for p in resp.json()["proxies"]) == ["a", "b"]
    again = requests.post(f"{api}/populate", json=[{"name": "a", "upstream": "127.0.0.1:3"}])
    assert again.status_code == 201
    assert requests.get(f"{api}/proxies/a").json()["upstream"] == "127.0.0.1:3"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/proxies", {"upstream": "127.0.0.1:1"}, 400),
        ("post", "/proxies", {"name": "x"}, 400),
        ("post", "/proxies", {"name": "x", "upstream": "127.0.0.1:1", "enabled": "yes"}, 400),
        ("get", "/proxies/missing", None, 404),
        ("delete", "/proxies/missing", None, 404),
        ("post", "/proxies/missing/toxics", {"type": "latency"}, 404),
        ("post", "/proxies/p/toxics", {"type": "no_such_toxic"}, 400),
        ("post", "/proxies/p/toxics", {"type": "latency", "stream": "sideways"}, 400),
        # Toxiproxy decodes attributes into Go int64 fields: negatives pass (no effect),
        # floats, strings and out-of-range numbers are "bad request body"
        ("post", "/proxies/p/toxics", {"type": "latency", "attributes": {"latency": -5}}, 200),
        ("post", "/proxies/p/toxics", {"type": "latency", "attributes": {"latency": "x"}}, 400),
        ("post", "/proxies/p/toxics", {"type": "latency", "attributes": {"latency": 1.5}}, 400),
        ("post", "/proxies/p/toxics", {"type": "latency", "toxicity": 3}, 200),
        ("post", "/proxies/p/toxics", {"type": "latency", "toxicity": "x"}, 400),
        ("post", "/proxies/p/toxics", {"type": "bandwidth", "attributes": {"rate": 1e30}}, 400),
        ("get", "/proxies/p/toxics/missing", None, 404),
        ("delete", "/proxies/p/toxics/missing", None, 404),
        ("post", "/populate", {"not": "a list"}, 400),
    ],
)
def test_error_cases(api, method, path, body, status):
    requests.post(f"{api}/proxies", json={"name": "p", "upstream": "127.0.0.1:1"})
    resp = getattr(requests, method)(f"{api}{path}", json=body)
    assert resp.status_code == status
    if status == 200:
        return
    expected = {"error": resp.json()["error"], "status": status}
    if path == "/populate":  # Go's Populate answers errors with the proxies done so far
        expected["proxies"] = None
    assert resp.json() == expected
    assert "X-Toxiproxy-Request-Id" in resp.headers


def test_malformed_json_and_duplicates(api):
    resp = requests.post(f"{api}/proxies", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert requests.post(f"{api}/proxies", json={"name": "p", "upstream": "x:1"}).status_code == 201
    assert requests.post(f"{api}/proxies", json={"name": "p", "upstream": "x:1"}).status_code == 409
    requests.post(f"{api}/proxies/p/toxics", json={"type": "noop"})
    assert requests.post(f"{api}/proxies/p/toxics", json={"type": "noop"}).status_code == 409


def test_listen_port_in_use_is_500_and_others_keep_serving(api):
    with echo_server() as port:
        good = requests.post(f"{api}/proxies", json={"name": "good",
                                                      "upstream": f"127.0.0.1:{port}"}).json()
        busy = socket.create_server(("127.0.0.1", 0))
        try:
            taken = busy.getsockname()[1]
            resp = requests.post(f"{api}/proxies", json={"name": "clash", "upstream": "x:1",
                                                          "listen": f"127.0.0.1:{taken}"})
            assert resp.status_code == 500
            assert "address already in use" in resp.json()["error"].lower()
        finally:
            busy.close()
        host, lport = good["listen"].rsplit(":", 1)
        with socket.create_connection((host, int(lport)), timeout=5) as s:
            s.sendall(b"still here")
            assert s.recv(100) == b"still here"


def test_extensions_and_metrics(api):
    assert "http_error" in requests.get(f"{api}/extensions").json()["extensions"]
    requests.post(f"{api}/proxies", json={"name": "m", "upstream": "127.0.0.1:1"})
    text = requests.get(f"{api}/metrics").text
    assert 'toxiproxy_proxy_connections_total{proxy="m"} 0' in text


def test_toxiproxy_python_drives_the_whole_api(toxiproxy):
    server = Toxiproxy()
    server.update_api_consumer("127.0.0.1", toxiproxy.port)
    assert server.running()
    assert b"2.12.0" in server.version()
    with echo_server() as port:
        proxy = server.create(upstream=f"127.0.0.1:{port}", name="echo")
        assert server.get_proxy("echo").upstream == f"127.0.0.1:{port}"
        proxy.add_toxic(type="latency", attributes={"latency": 1})
        proxy.add_toxic(type="limit_data", name="cap", stream="upstream",
                        attributes={"bytes": 100000})
        assert set(proxy.toxics()) == {"latency_downstream", "cap"}
        assert proxy.get_toxic("cap").stream == "upstream"
        proxy.destroy_toxic("cap")
        with proxy.down():
            assert server.get_proxy("echo").enabled is False
        assert server.get_proxy("echo").enabled is True
        populated = server.populate([{"name": "other", "upstream": f"127.0.0.1:{port}",
                                      "listen": "127.0.0.1:0"}])
        assert [p.name for p in populated] == ["other"]
        server.reset()
        assert proxy.toxics() == {}
        server.destroy_all()
        assert server.proxies() == {}
    assert APIConsumer.port == toxiproxy.port


def _sent_bytes(api: str, proxy: str) -> dict[str, int]:
    found = {}
    for line in requests.get(f"{api}/metrics").text.splitlines():
        if line.startswith(f'toxiproxy_proxy_sent_bytes_total{{proxy="{proxy}"'):
            direction = line.split('direction="', 1)[1].split('"', 1)[0]
            found[direction] = int(line.rsplit(" ", 1)[1])
    return found


def _live_connections(api: str, proxy: str) -> int:
    prefix = f'toxiproxy_proxy_live_connections{{proxy="{proxy}"}} '
    for line in requests.get(f"{api}/metrics").text.splitlines():
        if line.startswith(prefix):
            return int(line[len(prefix):])
    raise AssertionError(f"no live-connections gauge for {proxy}")


def test_metrics_count_bytes_of_live_and_closed_connections(api):
    with echo_server() as port:
        body = requests.post(f"{api}/proxies", json={"name": "counted",
                                                      "upstream": f"127.0.0.1:{port}"}).json()
        host, lport = body["listen"].rsplit(":", 1)
        payload = b"x" * 5000
        with socket.create_connection((host, int(lport)), timeout=5) as s:
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                got += s.recv(65536)
            live = _sent_bytes(api, "counted")  # the connection is still open
        assert live == {"upstream": 5000, "downstream": 5000}
        with socket.create_connection((host, int(lport)), timeout=5) as s:
            s.sendall(b"abc")
            assert s.recv(10) == b"abc"
        for _ in range(100):  # the proxy sees both closes a moment later
            if _live_connections(api, "counted") == 0:
                break
            time.sleep(0.05)
        assert _live_connections(api, "counted") == 0  # only closed connections count now
        assert _sent_bytes(api, "counted") == {"upstream": 5003, "downstream": 5003}
