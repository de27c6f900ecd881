"""A cheap loopback telemetry sink for the fleet benchmark: acks every record at once.

It measures the fleet, not a backend: no database, no auth.
"""

from __future__ import annotations

import json
import sys

from aiohttp import WSMsgType, web

from fleetchaos.common.child_process import announce_ready


async def stream(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            data = json.loads(msg.data)
            if data.get("type") == "telemetry":
                await ws.send_str(json.dumps({"type": "ack", "seq": data["seq"]}))
    return ws


async def start(port: int) -> web.AppRunner:
    app = web.Application()
    app.router.add_get("/api/1/streaming/{vin}", stream)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=8192)
    await site.start()
    announce_ready(host="127.0.0.1", port=int(runner.addresses[0][1]))
    return runner


def main() -> None:
    import asyncio
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.new_event_loop()
    loop.run_until_complete(start(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    loop.run_forever()


if __name__ == "__main__":
    main()
