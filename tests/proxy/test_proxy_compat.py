"""Where a test would notice, the built-in answers as Toxiproxy 2.12 does (api.go,
proxy_collection.go, proxy.go): populate, listen errors, hostile API input. Run against
both servers in comparison mode (tests/proxy/conftest.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import free_port
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from timing import Reader, add_toxic, connect, make_proxy
from upstreams import echo_server

VENV_BIN = Path(sys.executable).parent


def roundtrip_exact(addr: tuple[str, int], size: int = 200_000) -> None:
    payload = os.urandom(size)
    with connect(addr) as s:
        reader = Reader(s)
        s.sendall(payload)
        reader.wait(size, 20)
        assert bytes(reader.got) == payload


# --- POST /populate ------------------------------------------------------------------------
def test_populate_checks_every_entry_before_creating_any(server):
    """PopulateJson: a missing name at entry 2 is a 400 naming it; nothing is created."""
    body = [{"name": "first", "upstream": "127.0.0.1:1"}, {"upstream": "127.0.0.1:2"}]
    resp = requests.post(f"{server.url}/populate", json=body)
    assert resp.status_code == 400
    assert resp.json()["error"] == "missing required field: name at proxy 2"
    assert resp.json()["status"] == 400
    body = [{"name": "first", "upstream": "127.0.0.1:1"}, {"name": "second"}]
    resp = requests.post(f"{server.url}/populate", json=body)
    assert resp.json()["error"] == "missing required field: upstream at proxy 2"
    assert requests.get(f"{server.url}/proxies").json() == {}


def test_populate_keeps_unchanged_proxies_with_toxics_and_connections(server):
    """AddOrReplace: a proxy whose listen and upstream are unchanged is kept as it is
    (toxics, open connections); a changed one is replaced by a new proxy (toxics gone)."""
    with echo_server() as port, echo_server() as port2:
        listen = f"127.0.0.1:{free_port()}"
        entry = {"name": "kept", "listen": listen, "upstream": f"127.0.0.1:{port}"}
        assert requests.post(f"{server.url}/populate", json=[entry]).status_code == 201
        add_toxic(server.url, "kept", type="latency", attributes={"latency": 1})
        host, lport = listen.rsplit(":", 1)
        with connect((host, int(lport))) as s:
            reader = Reader(s)
            s.sendall(b"one")
            reader.wait(3)
            other = {"name": "new", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{port}"}
            resp = requests.post(f"{server.url}/populate", json=[entry, other])
            assert resp.status_code == 201
            assert [p["name"] for p in resp.json()["proxies"]] == ["kept", "new"]
            assert [t["name"] for t in resp.json()["proxies"][0]["toxics"]] == \
                ["latency_downstream"]
            s.sendall(b"two")  # the open connection survived
            reader.wait(6)
            assert bytes(reader.got) == b"onetwo"
            changed = {**entry, "upstream": f"127.0.0.1:{port2}"}
            resp = requests.post(f"{server.url}/populate", json=[changed])
            assert resp.status_code == 201
            assert resp.json()["proxies"][0]["toxics"] == []
            reader.wait_closed(10)
            assert reader.closed_at is not None  # the replaced proxy dropped it
        roundtrip_exact((host, int(lport)), 1000)


# --- JSON keys ---------------------------------------------------------------------------
def test_json_keys_match_fields_as_gos_decoder_does(server):
    """encoding/json: a key names its field ignoring case; a later key for the same field
    wins; a null leaves the field as it was."""
    resp = requests.post(f"{server.url}/proxies", json={
        "NAME": "k", "Upstream": "127.0.0.1:1", "LISTEN": "127.0.0.1:0", "Enabled": False})
    assert resp.status_code == 201, resp.text
    assert (resp.json()["name"], resp.json()["enabled"]) == ("k", False)
    toxic = requests.post(f"{server.url}/proxies/k/toxics", data=(
        b'{"TYPE":"latency","Stream":"upstream","Toxicity":0.5,'
        b'"Attributes":{"LATENCY":5,"latency":6,"Jitter":2,"jitter":null}}')).json()
    assert (toxic["type"], toxic["stream"], toxic["toxicity"]) == ("latency", "upstream", 0.5)
    assert toxic["attributes"] == {"latency": 6, "jitter": 2}
    updated = requests.patch(f"{server.url}/proxies/k/toxics/latency_upstream",
                             json={"ATTRIBUTES": {"Latency": 9}, "TOXICITY": 1}).json()
    assert updated["attributes"] == {"latency": 9, "jitter": 2} and updated["toxicity"] == 1


# --- listen errors -------------------------------------------------------------------------
def test_listen_port_in_use_has_toxiproxys_text_and_status(server):
    """proxy.go returns net.Listen's error, which api.go answers as a 500."""
    busy = socket.create_server(("127.0.0.1", 0))
    try:
        taken = busy.getsockname()[1]
        resp = requests.post(f"{server.url}/proxies", json={
            "name": "clash", "upstream": "127.0.0.1:1", "listen": f"127.0.0.1:{taken}"})
        assert resp.status_code == 500
        assert resp.json() == {
            "error": f"listen tcp 127.0.0.1:{taken}: bind: address already in use",
            "status": 500}
    finally:
        busy.close()


# --- hostile input -------------------------------------------------------------------------
HOSTILE = [
    ("post", "/proxies/p/toxics", b'{"type": "latency", "attributes": {"latency": 1e400}}'),
    ("post", "/proxies/p/toxics", b'{"type": "latency", "attributes": {"latency": 1.5}}'),
    ("post", "/proxies/p/toxics", b'{"type": "bandwidth", "attributes": {"rate": 1e30}}'),
    ("post", "/proxies/p/toxics", b'{"type": "latency", "attributes": {"latency": '
     + b"9" * 5000 + b"}}"),
    ("post", "/proxies/p/toxics", b'{"type": "latency", "toxicity": 1e400}'),
    ("post", "/proxies/p/toxics", b'{"type": "latency", "attributes": [1]}'),
    ("post", "/proxies/p/toxics", b'{"type": 5}'),
    ("post", "/proxies/p/toxics", b"[" * 100_000 + b"]" * 100_000),
    ("post", "/proxies", b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("post", "/populate", b"[" * 100_000 + b"]" * 100_000),
    ("post", "/proxies", b'{"name": "big", "upstream": "' + b"a" * 3_000_000 + b'"}'),
    ("post", "/proxies", b'{"name": 1, "upstream": "x:1"}'),
    ("post", "/proxies", b'{"name": "q", "upstream": "x:1", "enabled": "yes"}'),
    ("post", "/proxies", b"\xff\xfe garbage"),
    ("post", "/proxies", b""),
    ("patch", "/proxies/p", b'{"enabled": 3}'),
    ("patch", "/proxies/p/toxics/t", b'{"toxicity": "x"}'),
    ("patch", "/proxies/p/toxics/t", b'{"attributes": {"latency": -1.25}}'),
]


def test_hostile_requests_get_json_4xx_and_streams_stay_exact(server):
    with echo_server() as port:
        addr = make_proxy(server.url, "p", port)
        add_toxic(server.url, "p", type="latency", name="t", attributes={"latency": 0})
        for method, path, raw in HOSTILE:
            resp = getattr(requests, method)(f"{server.url}{path}", data=raw, timeout=30,
                                             headers={"Content-Type": "application/json"})
            # Toxiproxy has no body limit (a 3 MB upstream is created); ours answers 413
            assert resp.status_code == 201 if raw.startswith(b'{"name": "big"') \
                else 400 <= resp.status_code < 500, (path, raw[:60], resp.status_code, resp.text)
            body = json.loads(resp.text)
            if resp.status_code >= 400:
                # Go's Populate answers every error with the proxies done so far (null)
                keys = {"error", "status", "proxies"} if path == "/populate" else \
                    {"error", "status"}
                assert set(body) == keys and body["status"] == resp.status_code, body
        roundtrip_exact(addr)
        assert requests.get(f"{server.url}/proxies/p/toxics/t").json()["attributes"] == \
            {"latency": 0, "jitter": 0}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8)
toxic_bodies = st.fixed_dictionaries({}, optional={
    "name": st.text(alphabet="abcxyz_", min_size=1, max_size=6) | json_values,
    "type": st.sampled_from(["latency", "bandwidth", "slicer", "timeout", "limit_data",
                             "slow_close", "reset_peer", "noop", "nope"]) | json_values,
    "stream": st.sampled_from(["upstream", "downstream", "UPSTREAM", ""]) | json_values,
    "toxicity": st.floats(-2, 2) | json_values,
    "attributes": st.dictionaries(
        st.sampled_from(["latency", "jitter", "rate", "average_size", "size_variation",
                         "delay", "timeout", "bytes", "other"]),
        st.integers(-10, 10**20) | json_values, max_size=4) | json_values,
}) | json_values
proxy_bodies = st.fixed_dictionaries({}, optional={
    "name": st.text(alphabet="abcxyz", min_size=1, max_size=6) | json_values,
    "upstream": st.just("127.0.0.1:1") | json_values,
    "enabled": st.booleans() | json_values,
}) | json_values


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(toxics=st.lists(toxic_bodies, min_size=1, max_size=4),
       proxies=st.lists(proxy_bodies, min_size=1, max_size=2))
def test_generated_api_bodies_never_500_and_streams_stay_exact(server, toxics, proxies):
    """Whatever the body, the answer is 2xx or a JSON 4xx, and an existing proxy's stream
    stays byte-exact afterwards (issue 17: the API fuzz)."""
    with echo_server() as port:
        requests.delete(f"{server.url}/proxies/fuzzed")
        addr = make_proxy(server.url, "fuzzed", port)
        for body in toxics:
            resp = requests.post(f"{server.url}/proxies/fuzzed/toxics", json=body, timeout=30)
            assert resp.status_code == 200 or 400 <= resp.status_code < 500, resp.text
            if resp.status_code != 200:
                assert set(resp.json()) == {"error", "status"}
        for body in proxies:
            resp = requests.post(f"{server.url}/proxies", json=body, timeout=30)
            assert resp.status_code == 201 or 400 <= resp.status_code < 500, resp.text
            resp = requests.post(f"{server.url}/populate", json=[body], timeout=30)
            assert resp.status_code == 201 or 400 <= resp.status_code < 500, resp.text
        requests.post(f"{server.url}/reset", timeout=30)
        roundtrip_exact(addr, 20_000)
        for name in requests.get(f"{server.url}/proxies").json():
            requests.delete(f"{server.url}/proxies/{name}")


# --- command line (built-in only) ---------------------------------------------------------
@pytest.mark.parametrize("argv", [
    [sys.executable, "-m", "fleetchaos.toxiproxy_server", "--port", "70000"],
    [str(VENV_BIN / "fleetchaos"), "toxiproxy", "--port", "70000"],
    [sys.executable, "-m", "fleetchaos.toxiproxy_server", "--port", "-1"],
])
def test_out_of_range_port_exits_2_with_one_line(argv):
    if not Path(argv[0]).exists():
        pytest.skip(f"{argv[0]} is not installed")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done
    assert "out of range" in done.stderr and "Traceback" not in done.stderr
    assert "ready" not in done.stdout


def test_failing_requests_through_http_error_leave_stderr_quiet(tmp_path):
    """The old server wrote a traceback per malformed request to a stderr nobody read and
    froze once the pipe filled; now such input is passed through untouched (raw mode), any
    toxic failure logs at most one line a second, and so does the API's HTTP layer for
    malformed requests (no traceback)."""
    log = tmp_path / "server.log"
    with log.open("wb") as err, echo_server() as port:
        proc = subprocess.Popen([sys.executable, "-m", "fleetchaos.toxiproxy_server",
                                 "--port", "0"], stdout=subprocess.PIPE, stderr=err)
        try:
            ready = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
            url = f"http://127.0.0.1:{ready['port']}"
            addr = make_proxy(url, "h", port)
            add_toxic(url, "h", type="http_error", stream="upstream",
                      attributes={"share": 0.0})
            bad = (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"zz-not-hex\r\nhello\r\n0\r\n\r\n")
            for _ in range(100):
                with connect(addr, 5) as s:
                    reader = Reader(s)
                    s.sendall(bad)
                    reader.wait(len(bad), 5)
            api = ("127.0.0.1", ready["port"])
            for i in range(50):  # malformed HTTP to the API: aiohttp logs each with a traceback
                with socket.create_connection(api, timeout=5) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n" if i % 2
                              else b"\x00\x01 garbage\r\n\r\n")
                    s.recv(1000)
            start = time.monotonic()
            assert requests.get(f"{url}/version", timeout=5).ok
            assert time.monotonic() - start < 5
        finally:
            proc.terminate()
            proc.wait(10)
    text = log.read_text()
    assert "Traceback" not in text
    assert len(text.splitlines()) <= 5, text[:2000]
