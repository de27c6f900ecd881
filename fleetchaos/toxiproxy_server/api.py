"""The Toxiproxy 2.x HTTP API over the proxy collection, with Toxiproxy's status codes
and JSON error bodies, so every Toxiproxy client works unchanged."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fleetchaos.toxiproxy_server.proxy import ApiError, Proxy
from fleetchaos.toxiproxy_server.toxics import EXTENSIONS

VERSION = "2.12.0"
NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
MAX_BODY = 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data) + "\n", status=status,
                        content_type="application/json", charset="utf-8")


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message, "status": status}, status)


class Collection:
    """All proxies by name; the seeded random source every link draws from."""

    def __init__(self, seed: int | None = None, extensions: bool = True) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.rng = random.Random(seed)
        self.extensions = extensions

    async def create(self, body: Any, *, replace: bool = False) -> Proxy:
        if not isinstance(body, dict):
            raise ApiError(400, "proxy must be a JSON object")
        name, upstream = body.get("name"), body.get("upstream")
        listen = body.get("listen") or "127.0.0.1:0"
        enabled = body.get("enabled", True)
        if not isinstance(name, str) or not name:
            raise ApiError(400, "missing required field: name")
        if not NAME_RE.match(name):
            raise ApiError(400, f"invalid proxy name {name!r}: use letters, digits, _ . -")
        if not isinstance(upstream, str) or not upstream:
            raise ApiError(400, "missing required field: upstream")
        if not isinstance(listen, str) or not isinstance(enabled, bool):
            raise ApiError(400, "listen must be a string and enabled a boolean")
        if name in self.proxies:
            if not replace:
                raise ApiError(409, "proxy already exists")
            await self.delete(name)
        proxy = Proxy(name, listen, upstream, random.Random(self.rng.random()))
        if enabled:
            await proxy.start()
        self.proxies[name] = proxy
        return proxy

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
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "request body too large")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"bad request body: {exc}") from None


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
        response.headers["X-Toxiproxy-Request-Id"] = uuid.uuid4().hex
        return response

    routes = web.RouteTableDef()

    @routes.get("/version")
    async def version(request: web.Request) -> web.Response:
        return _json({"version": VERSION})

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
        body = await _body(request)
        if not isinstance(body, list):
            raise ApiError(400, "populate takes a JSON array of proxies")
        created = [await collection.create(item, replace=True) for item in body]
        return _json({"proxies": [p.to_json() for p in created]}, 201)

    @routes.get("/proxies/{proxy}")
    async def get_proxy(request: web.Request) -> web.Response:
        return _json(collection.get(request.match_info["proxy"]).to_json())

    @routes.route("POST", "/proxies/{proxy}")
    @routes.route("PATCH", "/proxies/{proxy}")
    async def update_proxy(request: web.Request) -> web.Response:
        proxy = collection.get(request.match_info["proxy"])
        body = await _body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "proxy update must be a JSON object")
        for key in ("listen", "upstream"):
            if key in body:
                if not isinstance(body[key], str) or not body[key]:
                    raise ApiError(400, f"{key} must be a non-empty string")
                was_enabled = proxy.enabled
                await proxy.stop()
                setattr(proxy, key, body[key])
                if was_enabled:
                    await proxy.start()
        if "enabled" in body:
            if not isinstance(body["enabled"], bool):
                raise ApiError(400, "enabled must be a boolean")
            await (proxy.start() if body["enabled"] else proxy.stop())
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
        body = await _body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "toxic must be a JSON object")
        if not collection.extensions and body.get("type") in EXTENSIONS:
            raise ApiError(400, f"invalid toxic type: {body.get('type')!r}")
        return _json(proxy.add_toxic(body).to_json())

    @routes.get("/proxies/{proxy}/toxics/{toxic}")
    async def get_toxic(request: web.Request) -> web.Response:
        proxy = collection.get(request.match_info["proxy"])
        return _json(proxy.get_toxic(request.match_info["toxic"]).to_json())

    @routes.route("POST", "/proxies/{proxy}/toxics/{toxic}")
    @routes.route("PATCH", "/proxies/{proxy}/toxics/{toxic}")
    async def update_toxic(request: web.Request) -> web.Response:
        proxy = collection.get(request.match_info["proxy"])
        body = await _body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "toxic update must be a JSON object")
        return _json(proxy.update_toxic(request.match_info["toxic"], body).to_json())

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
