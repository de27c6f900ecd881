"""The web UI guard's rules, request by request, on a bare WSGI app (the end-to-end
behaviour on a real Locust web UI is in test_report_webui.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fleetchaos.locust_app.webui_guard import OriginGuard

TOKEN = "s3cret-token"


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Access-Control-Allow-Origin", environ.get("HTTP_ORIGIN", "*")),
                              ("Access-Control-Allow-Credentials", "true")])
    return [b"ok"]


def call(guard: OriginGuard, method: str = "GET", path: str = "/", **headers: str
         ) -> tuple[str, dict[str, str], bytes]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path,
               **{f"HTTP_{k.upper()}": v for k, v in headers.items()}}
    seen: dict[str, Any] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, dict(hdrs)

    body = b"".join(guard(environ, start_response))
    return seen["status"], seen["headers"], body


@pytest.fixture
def guard() -> OriginGuard:
    return OriginGuard(app, bind_host="127.0.0.1", port=8089, token=TOKEN)


@pytest.mark.parametrize("host, ok", [
    ("127.0.0.1:8089", True), ("localhost:8089", True), ("[::1]:8089", True),
    ("LOCALHOST:8089", True), ("127.0.0.1:8090", False), ("127.0.0.1", False),
    ("evil.example:8089", False), ("127.0.0.1.nip.io:8089", False), ("", False),
    ("[::1:8089", False), ("10.0.0.5:8089", False)])
def test_host_must_name_the_bound_address(guard, host, ok):
    status, _h, body = call(guard, HOST=host)
    assert status.startswith("200") == ok, (host, body)
    if not ok:
        assert "is not this web UI's address" in json.loads(body)["error"]


def test_a_wildcard_bind_accepts_addresses_never_names():
    wide = OriginGuard(app, bind_host="", port=8089, token=TOKEN)
    assert call(wide, HOST="10.0.0.5:8089")[0].startswith("200")
    assert call(wide, HOST="[fe80::1]:8089")[0].startswith("200")
    assert call(wide, HOST="rebind.example:8089")[0].startswith("403")


@pytest.mark.parametrize("headers, ok", [
    ({"ORIGIN": "http://127.0.0.1:8089", "SEC_FETCH_SITE": "same-origin"}, True),
    ({"ORIGIN": "HTTP://127.0.0.1:8089"}, True),
    ({}, True),  # curl, requests: not a web page
    ({"REFERER": "http://127.0.0.1:8089/chaos/"}, True),
    ({"ORIGIN": "http://evil.example"}, False),
    ({"ORIGIN": "null"}, False),
    ({"ORIGIN": "http://localhost:8089"}, False),  # another origin than the page's own
    ({"SEC_FETCH_SITE": "cross-site"}, False), ({"SEC_FETCH_SITE": "same-site"}, False),
    ({"REFERER": "http://evil.example/x"}, False),
    ({"REFERER": "http://127.0.0.1:8089.evil.example/"}, False)])
def test_writes_only_from_the_page_itself(guard, headers, ok):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        status, _h, _b = call(guard, method, "/swarm", HOST="127.0.0.1:8089", **headers)
        assert status.startswith("200") == ok, (method, headers)


def test_chaos_api_needs_the_token_but_the_page_does_not(guard):
    host = {"HOST": "127.0.0.1:8089"}
    assert call(guard, "GET", "/chaos/", **host)[0].startswith("200")
    for token in (None, "", "s3cret", TOKEN + "x"):
        extra = {} if token is None else {"X_FLEETCHAOS_TOKEN": token}
        status, _h, body = call(guard, "GET", "/chaos/status", **host, **extra)
        assert status.startswith("403") and "token" in json.loads(body)["error"]
    assert call(guard, "GET", "/chaos/status", **host, X_FLEETCHAOS_TOKEN=TOKEN)[0] == "200 OK"


def test_no_cors_header_survives_and_pages_cannot_be_framed(guard):
    _s, headers, _b = call(guard, "GET", "/stats/requests", HOST="127.0.0.1:8089",
                           ORIGIN="http://evil.example")
    assert not [k for k in headers if k.lower().startswith("access-control-")]
    assert headers["X-Frame-Options"] == "DENY"
