"""The /metrics WSGI app: GET/HEAD /metrics only, loopback Host names only (a DNS name
other than localhost is what a rebinding page would send), and a bug in rendering is a
500 with one line, never a dead run."""

from __future__ import annotations

import pytest

from fleetchaos.metrics.exposition import CONTENT_TYPE
from fleetchaos.metrics.server import MetricsApp, host_allowed

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
