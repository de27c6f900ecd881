"""Serve an aiohttp app until SIGINT/SIGTERM, the same way for every fleetchaos server:
a one-line message and exit code 2 when the address cannot be bound, the readiness line
once listening, a clean stop on a signal: the listener closes first (nothing new is
accepted while the server winds down), then ``on_stop``, then aiohttp's shutdown, which
gives the handlers still running up to ``shutdown_timeout`` (twice, cancelling the rest)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fleetchaos.common.child_process import announce_ready


async def serve_until_signalled(app: web.Application, host: str, port: int, *, name: str,
                                ready_info: dict[str, Any] | None = None,
                                on_stop: Callable[[], Awaitable[None]] | None = None,
                                shutdown_timeout: float = 5.0) -> int:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        print(f"{name}: error: cannot listen on {host}:{port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    real_port = int(runner.addresses[0][1])  # the one site's socket: (host, port[, ...])
    announce_ready(host=host, port=real_port, **(ready_info or {}))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await site.stop()  # stop listening now: requests arriving after the signal are refused
    if on_stop is not None:
        await on_stop()
    await runner.cleanup()
    return 0
