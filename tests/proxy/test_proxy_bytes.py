"""Comparison mode only (TOXIPROXY_SERVER_BIN): the same script of requests, every endpoint
and every error, sent to the built-in server (Toxiproxy mode) and to the real binary; the
answers' bytes must be equal (status line, headers that matter, body), with request ids,
dates and the free ports the OS picked masked. ``KEPT`` lists the differences we keep on
purpose, each with its reason (docs/toxiproxy-server.md, "Known differences")."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from conftest import Server
from rawhttp import XID, Answer, exchange

# label -> why the answers differ on purpose (both are still checked to be well formed)
KEPT = {
    "toxic named with %2F, read": "names are taken from the raw path, so a name holding '/' "
                                  "is reachable escaped (mux decodes first: 404 page)",
    "toxic named with %2F, delete": "as above: deletable here, 404 page on Toxiproxy",
}
MASKED = ("Date", "X-Toxiproxy-Request-Id", "Content-Length")
LONG = "n" * 10_000


def script(upstream: int, busy: int) -> Iterator[tuple[str, str, str, bytes, dict[str, str]]]:
    """(label, method, path, body, headers): every endpoint, its errors, the router's answers."""
    up = f"127.0.0.1:{upstream}".encode()
    yield "version", "GET", "/version", b"", {}
    yield "version HEAD", "HEAD", "/version", b"", {}
    yield "version POST", "POST", "/version", b"", {}
    yield "index empty", "GET", "/proxies", b"", {}
    yield "create", "POST", "/proxies", b'{"name":"b","listen":"127.0.0.1:0","upstream":"' + up + b'"}', {}
    yield ("create 2", "POST", "/proxies",
          b'{"name":"a","upstream":"' + up + b'","listen":"127.0.0.1:0","enabled":false}', {})
    yield "create exists", "POST", "/proxies", b'{"name":"a","upstream":"x:1"}', {}
    yield "create no name", "POST", "/proxies", b'{"upstream":"x:1"}', {}
    yield "create no upstream", "POST", "/proxies", b'{"name":"q"}', {}
    yield "create empty body", "POST", "/proxies", b"", {}
    yield "create nonsense", "POST", "/proxies", b"nonsense", {}
    yield "create truncated", "POST", "/proxies", b'{"name":', {}
    yield "create bad key", "POST", "/proxies", b"{x}", {}
    yield "create array", "POST", "/proxies", b"[1]", {}
    yield "create name number", "POST", "/proxies", b'{"name":1,"upstream":"x:1"}', {}
    yield "create enabled string", "POST", "/proxies", b'{"name":"q","upstream":"x:1","enabled":"y"}', {}
    yield ("create port busy", "POST", "/proxies",
          b'{"name":"q","upstream":"x:1","listen":"127.0.0.1:%d"}' % busy, {})
    yield ("create bad port", "POST", "/proxies",
          b'{"name":"q","upstream":"x:1","listen":"127.0.0.1:70000"}', {})
    yield "create no port", "POST", "/proxies", b'{"name":"q","upstream":"x:1","listen":"nonsense"}', {}
    yield ("create long name", "POST", "/proxies",
          b'{"name":"' + LONG.encode() + b'","upstream":"x:1","listen":"127.0.0.1:0"}', {})
    yield "show long name", "GET", f"/proxies/{LONG}", b"", {}
    yield "delete long name", "DELETE", f"/proxies/{LONG}", b"", {}
    yield "index", "GET", "/proxies", b"", {}
    yield "index query", "GET", "/proxies?x=1", b"", {}
    yield "show", "GET", "/proxies/a", b"", {}
    yield "show missing", "GET", "/proxies/nope", b"", {}
    yield "update", "PATCH", "/proxies/a", b'{"enabled":true}', {}
    yield "update POST", "POST", "/proxies/a", b'{"enabled":false}', {}
    yield "update bad", "PATCH", "/proxies/a", b'{"enabled":3}', {}
    yield "update missing", "PATCH", "/proxies/nope", b"{}", {}
    yield "toxics empty", "GET", "/proxies/b/toxics", b"", {}
    yield "toxic add", "POST", "/proxies/b/toxics", b'{"type":"latency","attributes":{"latency":5}}', {}
    yield ("toxic add upstream", "POST", "/proxies/b/toxics",
          b'{"type":"slicer","stream":"UPSTREAM","toxicity":0.25}', {})
    yield "toxic add exists", "POST", "/proxies/b/toxics", b'{"type":"latency"}', {}
    yield "toxic add bad type", "POST", "/proxies/b/toxics", b'{"type":"nope"}', {}
    yield "toxic add bad stream", "POST", "/proxies/b/toxics", b'{"type":"noop","stream":"x"}', {}
    yield ("toxic add float attr", "POST", "/proxies/b/toxics",
          b'{"type":"timeout","attributes":{"timeout":1.5}}', {})
    yield ("toxic add huge attr", "POST", "/proxies/b/toxics",
          b'{"type":"timeout","attributes":{"timeout":1e400}}', {})
    yield "toxic add toxicity string", "POST", "/proxies/b/toxics", b'{"type":"noop","toxicity":"x"}', {}
    yield "toxic add missing proxy", "POST", "/proxies/nope/toxics", b'{"type":"noop"}', {}
    yield "toxic add braces", "POST", "/proxies/b/toxics", b'{"type":"noop","name":"{x}"}', {}
    yield "toxic add slash", "POST", "/proxies/b/toxics", b'{"type":"noop","name":"s/t"}', {}
    yield "toxic named with braces, read", "GET", "/proxies/b/toxics/%7Bx%7D", b"", {}
    yield "toxic named with %2F, read", "GET", "/proxies/b/toxics/s%2Ft", b"", {}
    yield ("toxic add folded keys", "POST", "/proxies/b/toxics",
           b'{"TYPE":"latency","Stream":"upstream","Name":"f","Toxicity":0.5,'
           b'"Attributes":{"LATENCY":5,"jitter":null}}', {})
    yield ("toxic add repeated key", "POST", "/proxies/b/toxics",
           b'{"type":"latency","name":"r","attributes":{"latency":5,"Latency":7}}', {})
    yield ("toxic update folded keys", "PATCH", "/proxies/b/toxics/f",
           b'{"ATTRIBUTES":{"Jitter":3},"TOXICITY":1}', {})
    yield ("create folded keys", "POST", "/proxies",
           b'{"NAME":"g","Upstream":"x:1","LISTEN":"127.0.0.1:0","Enabled":false}', {})
    yield "toxics", "GET", "/proxies/b/toxics", b"", {}
    yield "toxic show", "GET", "/proxies/b/toxics/latency_downstream", b"", {}
    yield "toxic show missing", "GET", "/proxies/b/toxics/nope", b"", {}
    yield ("toxic update", "PATCH", "/proxies/b/toxics/latency_downstream",
          b'{"attributes":{"jitter":2},"toxicity":0.5}', {})
    yield "toxic update POST", "POST", "/proxies/b/toxics/latency_downstream", b'{"toxicity":1}', {}
    yield ("toxic update bad", "PATCH", "/proxies/b/toxics/latency_downstream",
          b'{"attributes":{"latency":"x"}}', {})
    yield "toxic update missing", "PATCH", "/proxies/b/toxics/nope", b"{}", {}
    yield "proxy with toxics", "GET", "/proxies/b", b"", {}
    yield "toxic named with braces, delete", "DELETE", "/proxies/b/toxics/%7Bx%7D", b"", {}
    yield "toxic named with %2F, delete", "DELETE", "/proxies/b/toxics/s%2Ft", b"", {}
    yield "toxic delete", "DELETE", "/proxies/b/toxics/latency_downstream", b"", {}
    yield "toxic delete again", "DELETE", "/proxies/b/toxics/latency_downstream", b"", {}
    yield ("populate", "POST", "/populate",
          b'[{"name":"b","listen":"127.0.0.1:0","upstream":"' + up + b'"},'
          b'{"name":"c","upstream":"' + up + b'","listen":"127.0.0.1:0"}]', {})
    yield "populate empty", "POST", "/populate", b"[]", {}
    yield ("populate missing name", "POST", "/populate",
          b'[{"name":"d","upstream":"x:1"},{"upstream":"x:1"}]', {})
    yield "populate not a list", "POST", "/populate", b'{"a":1}', {}
    yield "populate bad json", "POST", "/populate", b"[", {}
    yield ("populate port busy", "POST", "/populate",
          b'[{"name":"e","upstream":"x:1","listen":"127.0.0.1:%d"}]' % busy, {})
    yield "reset", "POST", "/reset", b"", {}
    yield "reset GET", "GET", "/reset", b"", {}
    yield "after reset", "GET", "/proxies", b"", {}
    yield "delete", "DELETE", "/proxies/c", b"", {}
    yield "delete missing", "DELETE", "/proxies/c", b"", {}
    yield "unknown", "GET", "/nope", b"", {}
    yield "trailing slash", "GET", "/proxies/", b"", {}
    yield "unclean", "GET", "//proxies", b"", {}
    yield "dot dot", "GET", "/proxies/../version?q=1", b"", {}
    yield "wrong method", "PUT", "/proxies/b", b"", {}
    yield "metrics", "GET", "/metrics", b"", {}
    yield "extensions", "GET", "/extensions", b"", {}
    yield "browser", "GET", "/proxies", b"", {"User-Agent": "Mozilla/5.0 (X11)"}
    yield "browser unknown", "GET", "/nope", b"", {"User-Agent": "Mozilla/5.0 (X11)"}


def masked(answer: Answer) -> tuple[str, list[tuple[str, str]], bytes]:
    """The answer with what differs by nature hidden: dates, request ids (checked to be
    xids), the ports the OS picked (so the length too, checked against the body)."""
    length = answer.header("Content-Length")
    if length is not None:
        assert int(length) == len(answer.body)
    rid = answer.header("X-Toxiproxy-Request-Id")
    assert rid is None or XID.fullmatch(rid), rid
    headers = [(k, "*" if k in MASKED else v) for k, v in answer.headers]
    body = re.sub(rb"127\.0\.0\.1:\d+", b"127.0.0.1:PORT", answer.body)
    return answer.status_line, headers, body


def short(answer: tuple[str, list[tuple[str, str]], bytes]) -> str:
    status, headers, body = answer
    return f"{status} {headers} {body[:200]!r}{'...' if len(body) > 200 else ''}"


def run_script(server: Server, upstream: int, busy: int) -> dict[str, Answer]:
    return {label: exchange(server.url, method, path, body, headers)
            for label, method, path, body, headers in script(upstream, busy)}


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


def test_every_endpoint_and_error_answers_the_same_bytes(plain_builtin, real_toxiproxy,
                                                         busy_port):
    upstream = busy_port  # never connected to: only its text appears in the answers
    ours = run_script(plain_builtin, upstream, busy_port)
    theirs = run_script(real_toxiproxy, upstream, busy_port)
    differ = [label for label in ours if masked(ours[label]) != masked(theirs[label])]
    unexpected = [label for label in differ if label not in KEPT]
    details = "\n".join(f"{label}:\n  ours   {short(masked(ours[label]))}\n  theirs "
                        f"{short(masked(theirs[label]))}" for label in unexpected)
    assert not unexpected, details
    assert sorted(differ) == sorted(KEPT), "a kept difference is gone: update KEPT and the docs"
