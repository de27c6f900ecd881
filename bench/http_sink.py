"""A cheap loopback HTTP sink for the overhead benchmark: the generic-rest API shape
(/login, /vehicles/{vin}/unlock) and a bare /x, all answered at once."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from fleetchaos.common.serving import serve_until_signalled


async def login(request: web.Request) -> web.Response:
    return web.json_response({"token": "t"})


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def main() -> None:
    app = web.Application()
    app.router.add_post("/login", login)
    app.router.add_post("/vehicles/{vin}/unlock", ok)
    app.router.add_post("/x", ok)
    sys.exit(asyncio.run(serve_until_signalled(app, "127.0.0.1", 0, name="http sink")))


if __name__ == "__main__":
    main()
