"""The /metrics WSGI app: GET/HEAD /metrics only, loopback Host names only (a DNS name
other than localhost is what a rebinding page would send), and a bug in rendering is a
500 with one line, never a dead run."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import urllib.request

import pytest

from fleetchaos.locust_app.metrics_server import MetricsApp, host_allowed
from fleetchaos.metrics.exposition import CONTENT_TYPE

PAGE = "# HELP fleetchaos_x x\n# TYPE fleetchaos_x gauge\nfleetchaos_x 1\n"


def call(app, path="/metrics", method="GET", host="127.0.0.1:9100"):
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, dict(headers)

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    if host is not None:
        environ["HTTP_HOST"] = host
    body = b"".join(app(environ, start_response))
    return got["status"], got["headers"], body.decode()


def test_get_metrics_serves_the_page_as_text_0_0_4():
    status, headers, body = call(MetricsApp(lambda: PAGE))
    assert status == "200 OK" and body == PAGE
    assert headers["Content-Type"] == CONTENT_TYPE
    assert headers["Content-Length"] == str(len(PAGE))


def test_head_has_no_body():
    status, headers, body = call(MetricsApp(lambda: PAGE), method="HEAD")
    assert status == "200 OK" and body == "" and headers["Content-Length"] == str(len(PAGE))


def test_other_paths_and_methods_are_refused():
    app = MetricsApp(lambda: PAGE)
    assert call(app, path="/")[0].startswith("404")
    assert call(app, path="/metrics/")[0].startswith("404")
    status, headers, _ = call(app, method="POST")
    assert status.startswith("405") and headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("host", ["127.0.0.1:9100", "127.0.0.1", "localhost:9100", "LOCALHOST",
                                  "[::1]:9100", "127.8.9.10:1", None])
def test_loopback_hosts_are_served(host):
    assert host_allowed(host)
    assert call(MetricsApp(lambda: PAGE), host=host)[0] == "200 OK"


@pytest.mark.parametrize("host", ["evil.example:9100", "evil.example", "localhost.evil.example",
                                  "10.0.0.1:9100", "[2001:db8::1]:80", "[::1"])
def test_other_hosts_are_refused(host):
    status, _, body = call(MetricsApp(lambda: PAGE), host=host)
    assert status.startswith("403") and "loopback" in body


def test_a_rendering_bug_is_a_500_with_one_line():
    def broken() -> str:
        raise KeyError("phase")

    status, _, body = call(MetricsApp(broken))
    assert status.startswith("500") and body.count("\n") == 1 and "KeyError" in body


def test_malformed_requests_leave_no_trace_on_stderr_and_the_server_serves_on():
    """gevent's pywsgi writes one stderr line per malformed request by default; here
    that would let anything on loopback flood the run's log."""
    code = textwrap.dedent("""\
        from gevent import monkey; monkey.patch_all()
        import gevent
        from fleetchaos.locust_app.metrics_server import MetricsServer
        server = MetricsServer(lambda: "fleetchaos_x 1\\n", 0)
        server.start()
        print(server.port, flush=True)
        gevent.sleep(60)
        """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        for garbage in (b"\x00\x01garbage \r\n\r\n", b"GET\r\n\r\n", b"GET /metrics HTTP/9\r\n\r\n",
                        b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n") * 10:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(garbage)
                assert sock.recv(200).startswith(b"HTTP/1.1 400 "), garbage
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert response.read() == b"fleetchaos_x 1\n"
    finally:
        child.kill()
        _, err = child.communicate(timeout=30)
    assert len(err.splitlines()) < 5, err


def test_an_oversized_header_is_answered_400_and_closed_cleanly_not_reset():
    """Issue 27: a 100 KB header made gevent answer 400 and close with the client's bytes
    unread, so the kernel reset the connection and the client saw no answer. Each size is
    sent whole, then the answer read to its end: a 400 and a clean close (EOF), 5 times."""
    code = textwrap.dedent("""\
        from gevent import monkey; monkey.patch_all()
        import gevent
        from fleetchaos.locust_app.metrics_server import MetricsServer
        server = MetricsServer(lambda: "fleetchaos_x 1\\n", 0)
        server.start()
        print(server.port, flush=True)
        gevent.sleep(120)
        """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        for size in (100_000, 1_000_000) * 5:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                             + b"a" * size + b"\r\n\r\n")
                answer = b""
                while chunk := sock.recv(65536):  # ConnectionResetError fails the test
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 400 "), (size, answer[:80])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert response.read() == b"fleetchaos_x 1\n"
    finally:
        child.kill()
        child.communicate(timeout=30)
