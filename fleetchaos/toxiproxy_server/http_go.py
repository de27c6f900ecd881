"""Toxiproxy's HTTP conventions, as Go's net/http and gorilla/mux (v1.8.1) produce them,
so a client sees the same bytes from the built-in server as from ``toxiproxy-server``:

- mux first cleans the decoded path (``//proxies``, ``/a/../proxies``) and answers
  ``301`` with ``Location`` set to the clean path; then it tries each route in order: a
  route whose path matches but whose methods do not makes ``405`` with an empty body
  (``HEAD /version`` included: routes name ``GET`` only); no route is ``404 page not
  found`` in text/plain. Neither passes through the middlewares, so they carry no request
  id and a browser's user agent gets the 404, not the 403.
- ``http.Error`` (every API error, through Toxiproxy's ``apiError``) writes the text plus
  a newline as ``text/plain; charset=utf-8`` with ``X-Content-Type-Options: nosniff``,
  replacing the ``application/json`` that apiError set: the body of an API error is JSON,
  its content type is not.
- Headers go out sorted by name, then ``Date``, ``Content-Length`` and ``Connection``;
  no ``Server`` header.

One deliberate difference: a route's variables are taken from the raw path split at
``/`` and then decoded, so a proxy or toxic name holding ``/`` is reachable as ``%2F``
(mux decodes first, so on Toxiproxy such a name cannot be read or deleted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote

from aiohttp import web

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
GO_BUFFER = 2048  # net/http's bufferBeforeChunkingSize
LAST_HEADERS = ("Date", "Content-Length", "Connection", "Transfer-Encoding")


@dataclass(frozen=True)
class Route:
    methods: frozenset[str] | None  # None: any method (mux's Handle without Methods)
    pattern: tuple[str, ...]  # path segments; "{name}" is a variable
    handler: Handler


def route(methods: str | None, path: str, handler: Handler) -> Route:
    return Route(frozenset(methods.split()) if methods else None,
                 tuple(path.strip("/").split("/")), handler)


def go_clean(path: str) -> str:
    """mux's cleanPath: Go's path.Clean, with a trailing slash kept."""
    if not path:
        return "/"
    if not path.startswith("/"):
        path = "/" + path
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts:
                parts.pop()
            continue
        parts.append(segment)
    clean = "/" + "/".join(parts)
    if path.endswith("/") and clean != "/":
        clean += "/"
    return clean


def match(routes: list[Route], method: str, raw_path: str
          ) -> tuple[Route, dict[str, str]] | int:
    """The route and its variables; 405 when some route's path matched but none of its
    methods; 404 when no path matched."""
    segments = raw_path.strip("/").split("/") if raw_path != "/" else [""]
    if raw_path.endswith("/") and raw_path != "/":
        segments.append("")  # "/proxies/" is not "/proxies"
    mismatch = False
    for candidate in routes:
        found = _match_path(candidate.pattern, segments)
        if found is None:
            continue
        if candidate.methods is None or method in candidate.methods:
            return candidate, found
        mismatch = True
    return 405 if mismatch else 404


def _match_path(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(segments):
        return None
    found: dict[str, str] = {}
    for want, raw in zip(pattern, segments, strict=True):
        value = unquote(raw, errors="surrogateescape")
        if want.startswith("{"):
            if not value:
                return None
            found[want[1:-1]] = value
        elif value != want:
            return None
    return found


# --- responses ----------------------------------------------------------------------------
def respond(status: int, body: bytes = b"", content_type: str | None = None,
            request_id: str | None = None, nosniff: bool = False) -> web.Response:
    response = web.Response(status=status, body=body or None)
    if content_type:
        response.headers["Content-Type"] = content_type
    if nosniff:
        response.headers["X-Content-Type-Options"] = "nosniff"
    if request_id:
        response.headers["X-Toxiproxy-Request-Id"] = request_id
    return response


def http_error(status: int, text: str, request_id: str | None = None) -> web.Response:
    """Go's http.Error: the text and a newline, text/plain, nosniff."""
    return respond(status, (text + "\n").encode("utf-8", "surrogateescape"), TEXT,
                   request_id, nosniff=True)


def not_found() -> web.Response:
    return http_error(404, "404 page not found")


def redirect(request: web.Request, clean: str) -> web.Response:
    """mux's redirect to the clean path (Go's url.String: the path escaped, the query kept)."""
    location = quote(clean, safe="/$&+,:;=@")
    if request.rel_url.raw_query_string:
        location += "?" + request.rel_url.raw_query_string
    response = respond(301)
    response.headers["Location"] = location
    return response


def chunked_when_long(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """net/http buffers 2,048 bytes of a body: an answer that fits gets a Content-Length, a
    longer one (written at once by Toxiproxy's http.TimeoutHandler before the handler
    returns) goes out chunked to an HTTP/1.1 client."""
    body = getattr(response, "body", None)
    if isinstance(body, bytes) and len(body) > GO_BUFFER and request.version >= (1, 1):
        response.enable_chunked_encoding()
    return response


async def go_header_order(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: drop aiohttp's Server header, write the handler's headers sorted
    and the ones net/http adds last, as Go does; a HEAD answer with nothing written has no
    Content-Length."""
    headers = response.headers
    last = [(k, headers[k]) for k in LAST_HEADERS if k in headers]
    if request.method == "HEAD" and last and headers.get("Content-Length") == "0":
        last = [(k, v) for k, v in last if k != "Content-Length"]
    own = sorted((k, v) for k, v in headers.items()
                 if k not in LAST_HEADERS and k.lower() != "server")
    headers.clear()
    for key, value in own + last:
        headers.add(key, value)
