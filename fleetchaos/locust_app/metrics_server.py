"""The /metrics endpoint: a small WSGI server in a greenlet of the Locust master.

It binds 127.0.0.1 only and answers GET (and HEAD) /metrics with the page a
``RunSource`` renders; everything else is 404 or 405. Requests whose Host header is a
DNS name other than ``localhost`` are refused (403): a page on the open web that
rebinds its own name to 127.0.0.1 could otherwise read the run's figures. Standalone
rather than a route of Locust's web UI so headless runs (CI, `fleetchaos run`) have it.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from fleetchaos.metrics.exposition import CONTENT_TYPE

if TYPE_CHECKING:
    from gevent.pywsgi import WSGIHandler

BIND_HOST = "127.0.0.1"
PATH = "/metrics"
ANNOUNCE = "fleetchaos: metrics for Prometheus at {url}"

StartResponse = Callable[..., Any]


def host_allowed(host_header: str | None) -> bool:
    """No Host (HTTP/1.0), ``localhost`` or a loopback address literal, with any port."""
    if not host_header:
        return True
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MetricsApp:
    """The WSGI application; ``page`` renders the exposition text."""

    def __init__(self, page: Callable[[], str]) -> None:
        self.page = page

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if not host_allowed(environ.get("HTTP_HOST")):
            return _plain(start_response, "403 Forbidden",
                          "fleetchaos metrics: Host must be localhost or a loopback address\n")
        if environ.get("PATH_INFO") != PATH:
            return _plain(start_response, "404 Not Found",
                          f"fleetchaos metrics: the figures are at {PATH}\n")
        if method not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed",
                          f"fleetchaos metrics: {PATH} answers GET only\n",
                          [("Allow", "GET, HEAD")])
        try:
            body = self.page().encode("utf-8")
        except Exception as exc:  # a bug must not take the run down with it: say it, 500
            return _plain(start_response, "500 Internal Server Error",
                          f"fleetchaos metrics: {type(exc).__name__}: {exc}\n")
        start_response("200 OK", [("Content-Type", CONTENT_TYPE),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [b""] if method == "HEAD" else [body]


def _plain(start_response: StartResponse, status: str, text: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), *(extra or [])])
    return [body]


BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-length: 0\r\n\r\n"
# After an error answer, what the client still sends is read and dropped (at most this
# much, for at most this long) before the socket closes: closing with unread bytes makes
# the kernel send a reset, which can destroy the 400 before the client reads it.
LINGER_BYTES = 1024 * 1024
LINGER_S = 2.0


def _linger(sock: Any) -> None:
    """Half-close, then read and drop the client's rest (bounded), so the close is clean."""
    import time

    deadline = time.monotonic() + LINGER_S
    received = 0
    try:
        sock.shutdown(socket.SHUT_WR)
        while received < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += len(chunk)
    except OSError:
        pass


def _quiet_handler() -> type[WSGIHandler]:
    """gevent's request handler, answering bad client input 400 without a word on stderr.

    pywsgi prints a traceback for client input it did not expect. gevent 26.9 does it
    for a request line ending ``HTTP/9``: its version check indexes a 1-tuple. It also
    logs one line per malformed request. Either way, anything on loopback could flood the
    run's log.
    """
    from gevent.pywsgi import WSGIHandler

    class QuietHandler(WSGIHandler):
        def _handle_client_error(self, ex: BaseException) -> tuple[str, bytes]:
            return ("400", BAD_REQUEST)

        def handle_one_request(self) -> tuple[str, bytes] | Literal[True] | None:
            # An error answer (400 for a 100 KB header, 414 for a long request line) is
            # sent here and the connection closed cleanly; gevent would read 16 KB of what
            # the client sent and close, resetting the connection (issue 27).
            result = super().handle_one_request()
            if not isinstance(result, tuple) or self.socket is None:
                return result
            self.status, body = result
            try:
                self.socket.sendall(body)
            except OSError:
                return None
            _linger(self.socket)
            return None

    return QuietHandler


class MetricsServer:
    """gevent's WSGI server on 127.0.0.1:``port`` (0: a free port, see ``port`` after start)."""

    def __init__(self, page: Callable[[], str], port: int) -> None:
        from gevent.pywsgi import WSGIServer

        # No access log, and no error log: gevent writes one stderr line per malformed
        # request, which anything on loopback could turn into a flood of the run's log.
        # The app itself never raises (a render bug is a 500 with its one line).
        self.server = WSGIServer((BIND_HOST, port), MetricsApp(page), log=None, error_log=None,
                                 handler_class=_quiet_handler())
        self.port = port

    def start(self) -> None:
        """Bind and serve from a greenlet; OSError when the port cannot be bound."""
        self.server.start()
        port = self.server.server_port
        assert port is not None  # bound by start()
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{BIND_HOST}:{self.port}{PATH}"

    def stop(self) -> None:
        self.server.stop(timeout=1)


def install(environment: Any, port: int) -> MetricsServer:
    """Serve /metrics for this environment's run on 127.0.0.1:``port`` (0: a free one),
    say where on stderr, and stop serving when Locust quits. OSError if it cannot bind."""
    from fleetchaos.locust_app.metrics_source import RunSource

    server = MetricsServer(RunSource(environment).page, port)
    server.start()
    print(ANNOUNCE.format(url=server.url), file=sys.stderr, flush=True)

    def stop(**_: Any) -> None:
        server.stop()

    environment.events.quitting.add_listener(stop)
    return server
