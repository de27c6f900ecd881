"""Who may drive the web UI: a WSGI guard in front of Locust's whole Flask app.

Locust's UI answers any web page: it installs flask-cors with its defaults (every Origin
echoed back), has no Host check and no token, so a page on any site could POST /swarm or
add a fault through /chaos/toxic, and a DNS-rebinding page could even read the answers.
The guard sits outside Flask (flask-cors' after_request runs after any hook of ours, so
only a WSGI wrapper sees the final headers) and, for every request:

- refuses a Host header that is not the address the UI is bound to (DNS rebinding sends
  the attacker's name; a browser cannot forge Host);
- refuses state-changing methods (POST, PUT, PATCH, DELETE: Locust's /swarm, /stop,
  /stats/reset, /user and our /chaos API) unless they come from the page itself: an
  ``Origin`` equal to the UI's own origin, ``Sec-Fetch-Site`` same-origin (or none: typed
  by the user), or, from non-browser clients that send neither, a same-origin Referer
  or nothing at all;
- requires the run's token (``X-Fleetchaos-Token``) on every Chaos API call
  (``/chaos/...`` except the page ``/chaos/`` itself, which carries the token);
- strips every ``Access-Control-*`` header, so no other origin may read an answer, and
  forbids framing (clickjacking the start button).

A refusal is ``403`` with a JSON body ``{"error": "..."}`` naming what was wrong.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("fleetchaos.webui")

TOKEN_ENV = "FLEETCHAOS_UI_TOKEN"
TOKEN_HEADER = "X-Fleetchaos-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_BINDS = frozenset({"", "*", "0.0.0.0", "::"})
CHAOS_PREFIX = "/chaos/"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def new_token() -> str:
    """A fresh per-run token for the Chaos API (URL-safe, 128 bits)."""
    return secrets.token_urlsafe(16)


def run_token() -> tuple[str, bool]:
    """The token this process uses: the CLI's (``FLEETCHAOS_UI_TOKEN``) or a new one.

    Returns (token, generated_here): a plain ``locust -f`` run makes its own and prints it.
    """
    given = os.environ.get(TOKEN_ENV, "").strip()
    return (given, False) if given else (new_token(), True)


def ui_banner(url: str, token: str) -> str:
    """The line printed with the UI's address, so a user (or a script) has the token."""
    return f"fleetchaos web UI: {url}  (Chaos API token: {token}; the Chaos page carries it)"


def print_banner(url: str, token: str) -> None:
    print(ui_banner(url, token), file=sys.stderr, flush=True)


def _split_host(value: str) -> tuple[str, int | None] | None:
    """'[::1]:8089' -> ('::1', 8089); 'name' -> ('name', None); garbage -> None."""
    value = value.strip().lower()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    elif value.count(":") == 1:
        name, port_text = value.split(":")
    elif ":" in value:
        return (value, None)  # a bare IPv6 literal
    else:
        name, port_text = value, ""
    if port_text:
        if not port_text.isdigit():
            return None
        return name, int(port_text)
    return name, None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class OriginGuard:
    """The WSGI wrapper; ``bind_host`` and ``port`` are where the UI listens."""

    def __init__(self, app: WsgiApp, *, bind_host: str, port: int, token: str,
                 scheme: str = "http") -> None:
        self.app = app
        self.bind_host = (bind_host or "").strip().lower().strip("[]")
        self.port = port
        self.token = token
        self.scheme = scheme

    # --- the checks ---------------------------------------------------------------------
    def host_allowed(self, host_header: str | None) -> bool:
        parsed = _split_host(host_header or "")
        if parsed is None:
            return False
        name, port = parsed
        default_port = 443 if self.scheme == "https" else 80
        if self.port and (port or default_port) != self.port:
            return False
        if name in LOOPBACK_NAMES or name == self.bind_host:
            return True
        # Bound to every interface: any address literal may reach us, but never a DNS
        # name (that is what a rebinding attack has to send).
        return self.bind_host in WILDCARD_BINDS and _is_ip(name)

    def refusal(self, environ: dict[str, Any]) -> str | None:
        """Why this request is refused, or None."""
        host = environ.get("HTTP_HOST")
        if not self.host_allowed(host):
            return (f"Host {host!r} is not this web UI's address; open it as "
                    f"{self.scheme}://127.0.0.1:{self.port}/")
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", ""))
        own_origin = f"{self.scheme}://{str(host).strip().lower()}"
        if method in UNSAFE_METHODS:
            site = environ.get("HTTP_SEC_FETCH_SITE")
            origin = environ.get("HTTP_ORIGIN")
            referer = environ.get("HTTP_REFERER")
            if site is not None and site.lower() not in ("same-origin", "none"):
                return f"{method} {path} refused: Sec-Fetch-Site is {site!r}, not same-origin"
            if origin is not None and origin.strip().lower() != own_origin:
                return f"{method} {path} refused: Origin {origin!r} is not {own_origin}"
            if origin is None and site is None and referer is not None and not (
                    referer.lower() == own_origin or referer.lower().startswith(own_origin + "/")):
                return f"{method} {path} refused: Referer is not this web UI's page"
        if path.startswith(CHAOS_PREFIX) and path != CHAOS_PREFIX:
            given = str(environ.get("HTTP_X_FLEETCHAOS_TOKEN", ""))
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return (f"{path} needs this run's token in the {TOKEN_HEADER} header "
                        "(printed with the web UI's address)")
        return None

    # --- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        problem = self.refusal(environ)
        if problem is not None:
            log.warning("web UI refused %s %s: %s", environ.get("REQUEST_METHOD"),
                        environ.get("PATH_INFO"), problem)  # an attack or a misconfiguration
            body = json.dumps({"error": problem}).encode()
            start_response("403 Forbidden", [("Content-Type", "application/json"),
                                             ("Content-Length", str(len(body))),
                                             *SECURITY_HEADERS])
            return [body]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, [*kept, *SECURITY_HEADERS], exc_info)

        return self.app(environ, start)


SECURITY_HEADERS = [("X-Frame-Options", "DENY"),
                    ("Content-Security-Policy", "frame-ancestors 'none'"),
                    ("X-Content-Type-Options", "nosniff")]


def guard_web_ui(web_ui: Any, token: str) -> OriginGuard:
    """Wrap Locust's app (before or after it starts: the server calls ``app`` per request)."""
    options = getattr(web_ui.environment, "parsed_options", None)
    bind = getattr(options, "web_host", None)
    if bind is None:
        bind = web_ui.host or ""
    scheme = "https" if getattr(web_ui, "tls_cert", None) and getattr(web_ui, "tls_key", None) \
        else "http"
    guard = OriginGuard(web_ui.app.wsgi_app, bind_host=str(bind), port=int(web_ui.port or 0),
                        token=token, scheme=scheme)
    web_ui.app.wsgi_app = guard
    return guard
