"""The Toxiproxy 2.x HTTP API over the proxy collection, with Toxiproxy's status codes
and JSON error bodies, so every Toxiproxy client works unchanged."""

from __future__ import annotations

import json
import logging
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fleetchaos.toxiproxy_server.proxy import ApiError, Proxy, resolved
from fleetchaos.toxiproxy_server.toxics import EXTENSIONS
from fleetchaos.toxiproxy_server.toxics.base import JsonFloat, json_kind

VERSION = "2.12.0"
NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
MAX_BODY = 64 * 1024 * 1024  # Toxiproxy has no limit; this one only guards memory

log = logging.getLogger("toxiproxy_server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    """Compact JSON, as Go's json.Marshal writes it."""
    return web.Response(text=json.dumps(data, separators=(",", ":")) + "\n", status=status,
                        content_type="application/json", charset="utf-8")


def _big_int(text: str) -> int | JsonFloat:
    """An integer literal; past int64 it stays a number literal (Go quotes it in errors)
    instead of tripping Python's 4,300-digit conversion limit."""
    return int(text) if len(text) < 20 else JsonFloat(text)


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message, "status": status}, status)


class Collection:
    """All proxies by name; the seeded random source every link draws from."""

    def __init__(self, seed: int | None = None, extensions: bool = True) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.rng = random.Random(seed)
        self.extensions = extensions

    def check(self, body: Any, where: str = "") -> tuple[str, str, str, bool]:
        """ProxyCreate's checks: Go's decode into ``Proxy``, then the required fields."""
        if not isinstance(body, dict):
            raise ApiError(400, "bad request body: json: cannot unmarshal "
                           f"{json_kind(body)} into Go value of type toxiproxy.Proxy")
        for key in ("name", "listen", "upstream"):
            value = body.get(key)
            if value is not None and not isinstance(value, str):
                raise ApiError(400, f"bad request body: json: cannot unmarshal {json_kind(value)}"
                               f" into Go struct field Proxy.{key} of type string")
        enabled = body.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise ApiError(400, f"bad request body: json: cannot unmarshal {json_kind(enabled)}"
                           " into Go struct field Proxy.enabled of type bool")
        name, upstream = body.get("name") or "", body.get("upstream") or ""
        if not name:
            raise ApiError(400, f"missing required field: name{where}")
        if not upstream:
            raise ApiError(400, f"missing required field: upstream{where}")
        if not NAME_RE.match(name):
            raise ApiError(400, f"invalid proxy name {name!r}: use letters, digits, _ . -{where}")
        return name, body.get("listen") or "127.0.0.1:0", upstream, enabled is not False

    async def create(self, body: Any) -> Proxy:
        name, listen, upstream, enabled = self.check(body)
        if name in self.proxies:
            raise ApiError(409, "proxy already exists")
        proxy = Proxy(name, listen, upstream, random.Random(self.rng.random()))
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
                proxy = Proxy(name, listen, upstream, random.Random(self.rng.random()))
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
        for proxy in self.proxies.values():
            proxy.remove_all_toxics()
            await proxy.start()

    async def close(self) -> None:
        for proxy in self.proxies.values():
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


def _go_quote(char: str) -> str:
    """A character as Go's quoteChar shows it ('x', '\\'', '\\xff' for a non-UTF-8 byte)."""
    if "\udc80" <= char <= "\udcff":
        return f"'\\x{ord(char) - 0xDC00:02x}'"
    return "'\\''" if char == "'" else repr(char)


def _go_syntax_error(exc: json.JSONDecodeError) -> str:
    """Go's encoding/json wording for the common syntax errors; Python's for the rest."""
    if exc.pos >= len(exc.doc) or exc.msg.startswith("Unterminated"):
        return "unexpected EOF"
    quoted = _go_quote(exc.doc[exc.pos])
    if exc.msg == "Expecting value":
        return f"invalid character {quoted} looking for beginning of value"
    if exc.msg.startswith("Expecting property name"):
        return f"invalid character {quoted} looking for beginning of object key string"
    if exc.msg == "Expecting ':' delimiter":
        return f"invalid character {quoted} after object key"
    return f"{exc.msg}: line {exc.lineno} column {exc.colno}"


def build_app(collection: Collection) -> web.Application:
    @web.middleware
    async def toxiproxy_conventions(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("User-Agent", "").startswith("Mozilla/"):
            response: web.StreamResponse = _error(403, "User agent not allowed")
        else:
            try:
                response = await handler(request)
            except ApiError as exc:
                response = _error(exc.status, exc.message)
            except web.HTTPException as exc:
                response = _error(exc.status, exc.reason)
            except Exception as exc:  # a bug must still answer Toxiproxy's JSON shape
                log.warning("API %s %s failed: %s: %s", request.method, request.path,
                            type(exc).__name__, str(exc)[:200])
                response = _error(500, f"{type(exc).__name__}: {exc}"[:500])
        response.headers["X-Toxiproxy-Request-Id"] = uuid.uuid4().hex
        return response

    routes = web.RouteTableDef()

    @routes.get("/version")
    async def version(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps({"version": VERSION}) + "\n",  # Go's Sprintf
                            content_type="application/json", charset="utf-8")

    @routes.get("/extensions")
    async def extensions(request: web.Request) -> web.Response:
        if not collection.extensions:
            raise ApiError(404, "404 page not found")
        return _json({"extensions": [*EXTENSIONS, "seed"]})

    @routes.get("/proxies")
    async def list_proxies(request: web.Request) -> web.Response:
        return _json({name: p.to_json() for name, p in collection.proxies.items()})

    @routes.post("/proxies")
    async def create_proxy(request: web.Request) -> web.Response:
        proxy = await collection.create(await _body(request))
        return _json(proxy.to_json(), 201)

    @routes.post("/populate")
    async def populate(request: web.Request) -> web.Response:
        try:
            proxies, error = await collection.populate(await _body(request))
        except ApiError as exc:  # Go answers every populate error with the proxies done
            proxies, error = [], exc
        # Go marshals an empty slice built by append as null
        listed = [p.to_json() for p in proxies] or None
        if error is not None:
            return _json({"error": error.message, "status": error.status, "proxies": listed},
                         error.status)
        return _json({"proxies": listed}, 201)

    @routes.get("/proxies/{proxy}")
    async def get_proxy(request: web.Request) -> web.Response:
        return _json(collection.get(request.match_info["proxy"]).to_json())

    @routes.route("POST", "/proxies/{proxy}")
    @routes.route("PATCH", "/proxies/{proxy}")
    async def update_proxy(request: web.Request) -> web.Response:
        proxy = collection.get(request.match_info["proxy"])
        body = await _body(request)
        # Go decodes into Proxy{Listen, Upstream, Enabled} pre-set from the proxy (Update)
        merged = {"name": proxy.name, "listen": proxy.listen, "upstream": proxy.upstream,
                  "enabled": proxy.enabled}
        if isinstance(body, dict):
            merged.update({k: v for k, v in body.items() if k in merged and v is not None})
        _name, listen, upstream, enabled = collection.check(
            merged if isinstance(body, dict) else body)
        if resolved(listen) != proxy.listen or upstream != proxy.upstream:
            await proxy.stop()
            proxy.listen, proxy.upstream = listen, upstream
        if enabled != proxy.enabled:
            await (proxy.start() if enabled else proxy.stop())
        return _json(proxy.to_json())

    @routes.delete("/proxies/{proxy}")
    async def delete_proxy(request: web.Request) -> web.Response:
        await collection.delete(request.match_info["proxy"])
        return web.Response(status=204)

    @routes.get("/proxies/{proxy}/toxics")
    async def list_toxics(request: web.Request) -> web.Response:
        proxy = collection.get(request.match_info["proxy"])
        return _json([t.to_json() for t in proxy.toxics.values()])

    @routes.post("/proxies/{proxy}/toxics")
    async def add_toxic(request: web.Request) -> web.Response:
        proxy = collection.get(request.match_info["proxy"])
        return _json(proxy.add_toxic(await _body(request), collection.extensions).to_json())

    @routes.get("/proxies/{proxy}/toxics/{toxic}")
    async def get_toxic(request: web.Request) -> web.Response:
        proxy = collection.get(request.match_info["proxy"])
        return _json(proxy.get_toxic(request.match_info["toxic"]).to_json())

    @routes.route("POST", "/proxies/{proxy}/toxics/{toxic}")
    @routes.route("PATCH", "/proxies/{proxy}/toxics/{toxic}")
    async def update_toxic(request: web.Request) -> web.Response:
        proxy = collection.get(request.match_info["proxy"])
        return _json(proxy.update_toxic(request.match_info["toxic"], await _body(request))
                     .to_json())

    @routes.delete("/proxies/{proxy}/toxics/{toxic}")
    async def delete_toxic(request: web.Request) -> web.Response:
        collection.get(request.match_info["proxy"]).remove_toxic(request.match_info["toxic"])
        return web.Response(status=204)

    @routes.post("/reset")
    async def reset(request: web.Request) -> web.Response:
        await collection.reset()
        return web.Response(status=204)

    @routes.get("/metrics")
    async def metrics(request: web.Request) -> web.Response:
        lines = ["# TYPE toxiproxy_proxy_sent_bytes_total counter"]
        for p in collection.proxies.values():
            for stream, n in p.sent_bytes().items():
                lines.append(
                    f'toxiproxy_proxy_sent_bytes_total{{proxy="{p.name}",direction="{stream}"}} {n}'
                )
        lines.append("# TYPE toxiproxy_proxy_connections_total counter")
        for p in collection.proxies.values():
            lines.append(f'toxiproxy_proxy_connections_total{{proxy="{p.name}"}} '
                         f"{p.connections_total}")
        lines.append("# TYPE toxiproxy_proxy_live_connections gauge")
        for p in collection.proxies.values():
            lines.append(f'toxiproxy_proxy_live_connections{{proxy="{p.name}"}} {len(p.links)}')
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    app = web.Application(middlewares=[toxiproxy_conventions], client_max_size=MAX_BODY)
    app.add_routes(routes)
    return app
