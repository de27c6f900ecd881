"""The Toxiproxy 2.x HTTP API over the proxy collection: Toxiproxy's routes (api.go),
status codes, JSON shapes and bytes (fleetchaos.toxiproxy_server.http_go), so every
Toxiproxy client works unchanged and sees what it would see from ``toxiproxy-server``.

Every change to the collection (create, populate, update, delete, toxics, reset) holds
one lock, as Toxiproxy's collection mutex does: no request sees a half-changed collection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any

from aiohttp import web

from fleetchaos.toxiproxy_server import gojson
from fleetchaos.toxiproxy_server.http_go import (
    JSON,
    Route,
    chunked_when_long,
    go_clean,
    go_header_order,
    http_error,
    match,
    not_found,
    redirect,
    respond,
    route,
)
from fleetchaos.toxiproxy_server.proxy import ApiError, Proxy, resolved
from fleetchaos.toxiproxy_server.request_id import new_request_id
from fleetchaos.toxiproxy_server.toxics import EXTENSIONS
from fleetchaos.toxiproxy_server.toxics.base import JsonFloat, go_fields, json_kind

VERSION = "2.12.0"
MAX_BODY = 64 * 1024 * 1024  # Toxiproxy has no limit; this one only guards memory
MAX_HEAD = 1024 * 1024 + 4096  # Go's http.DefaultMaxHeaderBytes and its slack

log = logging.getLogger("toxiproxy_server")


def _big_int(text: str) -> int | JsonFloat:
    """An integer literal; past int64 it stays a number literal (Go quotes it in errors)
    instead of tripping Python's 4,300-digit conversion limit."""
    return int(text) if len(text) < 20 else JsonFloat(text)


class Collection:
    """All proxies by name; the seeded random source every link draws from."""

    def __init__(self, seed: int | None = None, extensions: bool = True,
                 proxy_metrics: bool = False) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.rng = random.Random(seed)
        self.extensions = extensions
        self.metrics = extensions or proxy_metrics
        self.lock = asyncio.Lock()

    def check(self, body: Any, where: str = "") -> tuple[str, str, str, bool]:
        """ProxyCreate's checks: Go's decode into ``Proxy``, then the required fields.
        Any non-empty name is accepted, as Toxiproxy accepts it."""
        if not isinstance(body, dict):
            raise ApiError(400, "bad request body: json: cannot unmarshal "
                           f"{json_kind(body)} into Go value of type toxiproxy.Proxy")
        fields = go_fields(body, ("name", "listen", "upstream", "enabled"))
        for key in ("name", "listen", "upstream"):
            value = fields.get(key)
            if value is not None and not isinstance(value, str):
                raise ApiError(400, f"bad request body: json: cannot unmarshal {json_kind(value)}"
                               f" into Go struct field Proxy.{key} of type string")
        enabled = fields.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise ApiError(400, f"bad request body: json: cannot unmarshal {json_kind(enabled)}"
                           " into Go struct field Proxy.enabled of type bool")
        name, upstream = fields.get("name") or "", fields.get("upstream") or ""
        if not name:
            raise ApiError(400, f"missing required field: name{where}")
        if not upstream:
            raise ApiError(400, f"missing required field: upstream{where}")
        return name, fields.get("listen") or "", upstream, enabled is not False

    def new_proxy(self, name: str, listen: str, upstream: str) -> Proxy:
        return Proxy(name, listen, upstream, random.Random(self.rng.random()))

    async def create(self, body: Any) -> Proxy:
        name, listen, upstream, enabled = self.check(body)
        if name in self.proxies:
            raise ApiError(409, "proxy already exists")
        proxy = self.new_proxy(name, listen, upstream)
        if enabled:
            await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def populate(self, body: Any) -> tuple[list[Proxy], ApiError | None]:
        """Toxiproxy's PopulateJson: every entry checked before any is touched; a proxy whose
        listen and upstream are unchanged is kept as it is (toxics, connections, enabled);
        a changed one is stopped and replaced by a new one (its toxics go)."""
        if not isinstance(body, list):
            raise ApiError(400, "bad request body: json: cannot unmarshal "
                           f"{json_kind(body)} into Go value of type []struct {{ toxiproxy.Proxy;"
                           ' Enabled *bool "json:\\"enabled\\"" }')
        checked = [self.check(item, f" at proxy {i}") for i, item in enumerate(body, 1)]
        done: list[Proxy] = []
        for name, listen, upstream, enabled in checked:
            try:
                existing = self.proxies.get(name)
                if existing is not None:
                    if resolved(listen) == existing.listen and upstream == existing.upstream:
                        done.append(existing)
                        continue
                    await existing.stop()
                proxy = self.new_proxy(name, listen, upstream)
                if enabled:
                    await proxy.start()
            except ApiError as exc:
                return done, exc
            self.proxies[name] = proxy
            done.append(proxy)
        return done, None

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise ApiError(404, "proxy not found")
        return proxy

    async def delete(self, name: str) -> None:
        proxy = self.get(name)
        await proxy.stop()
        del self.proxies[name]

    async def reset(self) -> None:
        """ResetState: every proxy started again (a start that fails is the answer) and its
        toxics removed."""
        for proxy in list(self.proxies.values()):
            await proxy.start()
            proxy.remove_all_toxics()

    async def close(self) -> None:
        for proxy in list(self.proxies.values()):
            await proxy.stop()


async def _body(request: web.Request) -> Any:
    """The JSON body, with Go's decoder's failures as 400 ``bad request body: ...``."""
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "request body too large")
    text = raw.decode("utf-8", "surrogateescape").lstrip(" \t\r\n")
    if not text:
        raise ApiError(400, "bad request body: EOF")
    try:
        # Go's Decoder.Decode reads the first value and leaves whatever follows unread
        return DECODER.raw_decode(text)[0]
    except RecursionError:  # Go's decoder stops at 10,000 levels
        raise ApiError(400, "bad request body: exceeded max depth") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"bad request body: {_go_syntax_error(exc)}") from None
    except ValueError as exc:
        raise ApiError(400, f"bad request body: {exc}") from None


DECODER = json.JSONDecoder(parse_float=JsonFloat, parse_int=_big_int)
_LITERALS = {"t": "true", "f": "false", "n": "null"}


def _go_quote(char: str) -> str:
    """A character as Go's quoteChar shows it ('x', '\\'', '\\xff' for a non-UTF-8 byte)."""
    if "\udc80" <= char <= "\udcff":
        return f"'\\x{ord(char) - 0xDC00:02x}'"
    return "'\\''" if char == "'" else repr(char)


def _go_syntax_error(exc: json.JSONDecodeError) -> str:
    """Go's encoding/json wording for the common syntax errors; Python's for the rest."""
    doc, pos = exc.doc, exc.pos
    if pos >= len(doc) or exc.msg.startswith("Unterminated"):
        return "unexpected EOF"
    if exc.msg == "Expecting value" and doc[pos] in _LITERALS:
        word = _LITERALS[doc[pos]]  # Go reads a literal letter by letter
        for i, want in enumerate(word):
            if pos + i >= len(doc):
                return "unexpected EOF"
            if doc[pos + i] != want:
                return (f"invalid character {_go_quote(doc[pos + i])} in literal {word} "
                        f"(expecting {_go_quote(want)})")
    quoted = _go_quote(doc[pos])
    if exc.msg == "Expecting value":
        return f"invalid character {quoted} looking for beginning of value"
    if exc.msg.startswith("Expecting property name"):
        return f"invalid character {quoted} looking for beginning of object key string"
    if exc.msg == "Expecting ':' delimiter":
        return f"invalid character {quoted} after object key"
    if exc.msg == "Expecting ',' delimiter":
        after = "object key:value pair" if _in_object(doc, pos) else "array element"
        return f"invalid character {quoted} after {after}"
    return f"{exc.msg}: line {exc.lineno} column {exc.colno}"


def _in_object(doc: str, pos: int) -> bool:
    """Whether ``pos`` is inside an object (not an array), by the nearest open bracket."""
    depth = 0
    in_string = False
    for char in reversed(doc[:pos]):
        if char == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif char in "]}":
            depth += 1
        elif char in "[{":
            if depth == 0:
                return char == "{"
            depth -= 1
    return False


# --- answers -----------------------------------------------------------------------------
def _ok(data: Any, status: int = 200) -> web.Response:
    """A success: Go's json.Marshal bytes, no trailing newline, application/json."""
    return respond(status, gojson.dumps(data).encode(), JSON)


def _api_error(exc: ApiError) -> web.Response:
    """Toxiproxy's apiError: the JSON {"error", "status"} written through http.Error."""
    return http_error(exc.status, gojson.dumps({"error": exc.message, "status": exc.status}))


def build_app(collection: Collection) -> web.Application:
    async def version(request: web.Request, v: dict[str, str]) -> web.Response:
        # Go's Sprintf: a space after the colon, a newline, its own content type
        return respond(200, f'{{"version": "{VERSION}"}}\n'.encode(),
                       "application/json;charset=utf-8")

    async def extensions(request: web.Request, v: dict[str, str]) -> web.Response:
        return _ok({"extensions": [*EXTENSIONS, "seed"]})

    async def list_proxies(request: web.Request, v: dict[str, str]) -> web.Response:
        # Go marshals a map: keys sorted
        return _ok({name: collection.proxies[name].to_json()
                    for name in sorted(collection.proxies)})

    async def create_proxy(request: web.Request, v: dict[str, str]) -> web.Response:
        body = await _body(request)
        async with collection.lock:
            proxy = await collection.create(body)
            return _ok(proxy.to_json(), 201)

    async def populate(request: web.Request, v: dict[str, str]) -> web.Response:
        try:
            body = await _body(request)
            async with collection.lock:
                proxies, error = await collection.populate(body)
        except ApiError as exc:  # Go answers every populate error with the proxies done
            proxies, error = [], exc
        # Go marshals an empty slice built by append as null
        listed = [p.to_json() for p in proxies] or None
        if error is not None:  # not through http.Error: application/json, the status
            return _ok({"error": error.message, "status": error.status, "proxies": listed},
                       error.status)
        return _ok({"proxies": listed}, 201)

    async def get_proxy(request: web.Request, v: dict[str, str]) -> web.Response:
        return _ok(collection.get(v["proxy"]).to_json())

    async def update_proxy(request: web.Request, v: dict[str, str]) -> web.Response:
        collection.get(v["proxy"])
        body = await _body(request)
        async with collection.lock:
            proxy = collection.get(v["proxy"])
            # Go decodes into Proxy{Listen, Upstream, Enabled} pre-set from the proxy (Update)
            merged: dict[str, Any] = {"name": proxy.name, "listen": proxy.listen,
                                      "upstream": proxy.upstream, "enabled": proxy.enabled}
            if isinstance(body, dict):
                merged.update(go_fields(body, list(merged)))
            _name, listen, upstream, enabled = collection.check(
                merged if isinstance(body, dict) else body)
            if resolved(listen) != proxy.listen or upstream != proxy.upstream:
                await proxy.stop()
                proxy.listen, proxy.upstream = listen, upstream
            if enabled != proxy.enabled:
                await (proxy.start() if enabled else proxy.stop())
            return _ok(proxy.to_json())

    async def delete_proxy(request: web.Request, v: dict[str, str]) -> web.Response:
        async with collection.lock:
            await collection.delete(v["proxy"])
        return respond(204)

    async def list_toxics(request: web.Request, v: dict[str, str]) -> web.Response:
        return _ok(collection.get(v["proxy"]).toxics_json())

    async def add_toxic(request: web.Request, v: dict[str, str]) -> web.Response:
        collection.get(v["proxy"])
        body = await _body(request)
        async with collection.lock:
            proxy = collection.get(v["proxy"])
            return _ok(proxy.add_toxic(body, collection.extensions).to_json())

    async def get_toxic(request: web.Request, v: dict[str, str]) -> web.Response:
        return _ok(collection.get(v["proxy"]).get_toxic(v["toxic"]).to_json())

    async def update_toxic(request: web.Request, v: dict[str, str]) -> web.Response:
        collection.get(v["proxy"])
        body = await _body(request)
        async with collection.lock:
            proxy = collection.get(v["proxy"])
            return _ok(proxy.update_toxic(v["toxic"], body).to_json())

    async def delete_toxic(request: web.Request, v: dict[str, str]) -> web.Response:
        async with collection.lock:
            collection.get(v["proxy"]).remove_toxic(v["toxic"])
        return respond(204)

    async def reset(request: web.Request, v: dict[str, str]) -> web.Response:
        async with collection.lock:
            await collection.reset()
        return respond(204)

    async def metrics(request: web.Request, v: dict[str, str]) -> web.Response:
        return respond(200, metrics_text(collection).encode(),
                       "text/plain; version=0.0.4; charset=utf-8")

    # Toxiproxy's routes, in its order (api.go Routes)
    routes: list[Route] = [
        route("POST", "/reset", reset),
        route("GET", "/proxies", list_proxies),
        route("POST", "/proxies", create_proxy),
        route("POST", "/populate", populate),
        route("GET", "/proxies/{proxy}", get_proxy),
        route("POST PATCH", "/proxies/{proxy}", update_proxy),
        route("DELETE", "/proxies/{proxy}", delete_proxy),
        route("GET", "/proxies/{proxy}/toxics", list_toxics),
        route("POST", "/proxies/{proxy}/toxics", add_toxic),
        route("GET", "/proxies/{proxy}/toxics/{toxic}", get_toxic),
        route("POST PATCH", "/proxies/{proxy}/toxics/{toxic}", update_toxic),
        route("DELETE", "/proxies/{proxy}/toxics/{toxic}", delete_toxic),
        route("GET", "/version", version),
    ]
    if collection.metrics:  # Toxiproxy: only with -proxy-metrics / -runtime-metrics
        routes.append(route(None, "/metrics", metrics))
    if collection.extensions:
        routes.append(route("GET", "/extensions", extensions))

    async def dispatch(request: web.Request) -> web.StreamResponse:
        clean = go_clean(request.path)
        if clean != request.path:
            return redirect(request, clean)
        found = match(routes, request.method, request.raw_path.split("?", 1)[0])
        if found == 404:
            return chunked_when_long(request, not_found())
        if isinstance(found, int):
            return respond(405)
        chosen, variables = found
        request_id = new_request_id()
        if request.headers.get("User-Agent", "").startswith("Mozilla/"):
            response: web.StreamResponse = http_error(403, "User agent not allowed")
        else:
            try:
                response = await chosen.handler(request, variables)
            except ApiError as exc:
                response = _api_error(exc)
            except Exception as exc:  # a bug still answers Toxiproxy's error shape
                log.warning("API %s %s failed: %s: %s", request.method, request.path,
                            type(exc).__name__, str(exc)[:200])
                response = _api_error(ApiError(500, f"{type(exc).__name__}: {exc}"[:500]))
        response.headers["X-Toxiproxy-Request-Id"] = request_id
        return chunked_when_long(request, response)

    app = web.Application(client_max_size=MAX_BODY, handler_args={
        "max_line_size": MAX_HEAD, "max_field_size": MAX_HEAD})
    app.router.add_route("*", "/{tail:.*}", dispatch)
    app.on_response_prepare.append(go_header_order)
    return app


def _label(value: str) -> str:
    """A Prometheus label value: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text(collection: Collection) -> str:
    """Our own counters (an extension: Toxiproxy's -proxy-metrics names differ)."""
    proxies = [collection.proxies[name] for name in sorted(collection.proxies)]
    lines = ["# TYPE toxiproxy_proxy_sent_bytes_total counter"]
    for p in proxies:
        for stream, n in p.sent_bytes().items():
            lines.append(f'toxiproxy_proxy_sent_bytes_total{{proxy="{_label(p.name)}",'
                         f'direction="{stream}"}} {n}')
    lines.append("# TYPE toxiproxy_proxy_connections_total counter")
    for p in proxies:
        lines.append(f'toxiproxy_proxy_connections_total{{proxy="{_label(p.name)}"}} '
                     f"{p.connections_total}")
    lines.append("# TYPE toxiproxy_proxy_live_connections gauge")
    for p in proxies:
        lines.append(f'toxiproxy_proxy_live_connections{{proxy="{_label(p.name)}"}} '
                     f"{len(p.links)}")
    return "\n".join(lines) + "\n"
