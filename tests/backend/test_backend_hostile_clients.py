"""Issue 27, backend items: hostile headers get a JSON refusal, and a client that leaves
mid-body is no server error.

A non-ASCII ``X-Admin-Token`` made ``hmac.compare_digest`` raise TypeError (a 500); a
client that disconnected before sending its whole body made ``request.read()`` raise
ConnectionResetError, which the error middleware counted as a 500 in /admin/stats and
/metrics. Now the first is 401 ``invalid_admin_token`` and the second is counted apart,
as ``client_aborts`` (docs/reference-backend-api.md).
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
import requests
from client import ADMIN, register

from fleetchaos import reference_backend

# Header values as raw bytes: UTF-8 non-ASCII, a byte that is not UTF-8, an emoji, a NUL-free
# control character past ASCII (C1), each alone and after a valid-looking prefix.
HOSTILE_TOKENS = [b"\xc3\xbc", b"\xff\xfe", "🚗".encode(), b"\xc2\x85", b"test-admin-token\xc3\xbc"]


@pytest.fixture(scope="module")
def be(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("hostile") / "backend.db")
    child = reference_backend.run_in_subprocess(db_path=db, admin_token=ADMIN["X-Admin-Token"])
    try:
        yield child
    finally:
        child.stop()


def raw_request(be: Any, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request on a raw socket (requests would refuse these headers)."""
    with socket.create_connection((be.host, be.port), timeout=30) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    header_block, _, payload = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        headers[name.decode().lower()] = value.decode().strip()
    return int(status_line.split()[1]), headers, payload


def stats(be: Any) -> dict[str, Any]:
    return requests.get(f"{be.url}/admin/stats", headers=ADMIN, timeout=30).json()


@pytest.mark.parametrize("token", HOSTILE_TOKENS, ids=["utf8", "not-utf8", "emoji", "c1", "suffix"])
@pytest.mark.parametrize("method,path", [("GET", "/admin/stats"), ("POST", "/admin/fleet"),
                                         ("POST", "/admin/knobs")])
def test_a_non_ascii_admin_token_is_a_json_401(be, token, method, path):
    body = b'{"vehicles": []}' if method == "POST" else b""
    status, headers, payload = raw_request(
        be, f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n".encode() + b"X-Admin-Token: " + token + b"\r\n",
        body)
    assert status == 401, payload
    assert headers["content-type"].startswith("application/json")
    assert json.loads(payload)["error"] == "invalid_admin_token"
    assert "500" not in stats(be)["responses_by_status"]


@pytest.mark.parametrize("token", HOSTILE_TOKENS[:3], ids=["utf8", "not-utf8", "emoji"])
def test_a_non_ascii_car_credential_is_a_json_401(be, token):
    (car,) = register(be.url, 1, start=100)
    body = b'{"records": [{"seq": 1}]}'
    status, headers, payload = raw_request(
        be, f"POST /api/1/telemetry/{car['vin']} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n".encode()
        + b"Authorization: Bearer " + token + b"\r\n", body)
    assert status == 401, payload
    assert headers["content-type"].startswith("application/json")
    assert json.loads(payload)["error"] == "invalid_token"


def leave_mid_body(be: Any, head: str, sent: bytes) -> None:
    """Announce a 1,000-byte body, send part of it once the request is routed, close.

    ``Expect: 100-continue``: the server says "100 Continue" when the request has reached
    its route, so the close lands while the handler reads the body, not before the server
    parsed the headers (which would reach no handler at all)."""
    with socket.create_connection((be.host, be.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(sent)


def test_clients_leaving_mid_body_are_counted_apart_not_as_500(be):
    car = register(be.url, 1, start=200)[0]
    admin = f"X-Admin-Token: {ADMIN['X-Admin-Token']}\r\n"
    aborts = [
        ("POST /admin/fleet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + admin,
         b'{"vehicles": ['),
        ("POST /admin/knobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + admin,
         b'{"db_pool_size"'),
        ("POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
         b'{"grant_type": "password", '),
        ("POST /oauth/token HTTP/1.1\r\nHost: x\r\n"
         "Content-Type: application/x-www-form-urlencoded\r\n", b"grant_type=pass"),
        (f"POST /api/1/telemetry/{car['vin']} HTTP/1.1\r\nHost: x\r\n"
         f"Content-Type: application/json\r\nAuthorization: Bearer {car['car_token']}\r\n",
         b'{"records": [{"seq": 1, '),
    ]
    before = stats(be)
    for head, sent in aborts * 4:
        leave_mid_body(be, head, sent)
    deadline = time.monotonic() + 30
    while (now := stats(be))["client_aborts"] < before["client_aborts"] + len(aborts) * 4:
        assert time.monotonic() < deadline, f"aborts not counted: {now}"
        time.sleep(0.05)
    assert now["client_aborts"] == before["client_aborts"] + len(aborts) * 4
    assert "500" not in now["responses_by_status"], now["responses_by_status"]
    metrics = requests.get(f"{be.url}/metrics", timeout=30).text
    assert f"backend_client_aborts_total {now['client_aborts']}" in metrics.splitlines()
    assert 'status="500"' not in metrics
    # The backend still serves, and nothing half-sent was stored.
    resp = requests.post(f"{be.url}/api/1/telemetry/{car['vin']}", json={"records": [{"seq": 2}]},
                         headers={"Authorization": f"Bearer {car['car_token']}"}, timeout=30)
    assert resp.json() == {"acked": [2]}
    assert now["telemetry"]["stored"] == before["telemetry"]["stored"]
