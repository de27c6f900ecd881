"""One client connection through a proxy: two pumps (upstream, downstream) and their toxics.

Each direction runs on one coroutine that reads a chunk and passes it through the
toxics that apply to this connection, in order, before writing it on. The chain is
read for every chunk, so a toxic added or removed on a live connection acts at once
and no byte is lost or reordered. Toxicity is drawn once per connection per toxic,
as Toxiproxy does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toxiproxy_server.proxy import Proxy
    from toxiproxy_server.toxics.base import Toxic

READ_SIZE = 65536


class Link:
    def __init__(self, proxy: Proxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 rng: random.Random) -> None:
        self.proxy = proxy
        self.client_reader, self.client_writer = reader, writer
        self.upstream_writer: asyncio.StreamWriter | None = None
        self.rng = rng
        self.draws: dict[int, bool] = {}
        self.states: dict[int, dict[str, Any]] = {}
        self.timers: dict[int, list[asyncio.TimerHandle]] = {}
        self.closed = False
        self.task: asyncio.Task[None] | None = None

    # --- toxics -------------------------------------------------------------------------
    def applies(self, toxic: Toxic) -> bool:
        key = id(toxic)
        if key not in self.draws:
            self.draws[key] = toxic.toxicity >= 1 or self.rng.random() < toxic.toxicity
            if self.draws[key]:
                toxic.on_activate(self, self.states.setdefault(key, {}))
        return self.draws[key]

    def toxic_removed(self, toxic: Toxic) -> None:
        key = id(toxic)
        for handle in self.timers.pop(key, []):
            handle.cancel()
        self.draws.pop(key, None)
        self.states.pop(key, None)

    def call_later(self, delay_s: float, toxic: Toxic, fn: Any) -> None:
        handle = asyncio.get_running_loop().call_later(delay_s, fn)
        self.timers.setdefault(id(toxic), []).append(handle)

    def chain(self, stream: str) -> list[Toxic]:
        return [t for t in self.proxy.toxics.values() if t.stream == stream and self.applies(t)]

    # --- running ------------------------------------------------------------------------
    async def run(self) -> None:
        host, _, port = self.proxy.upstream.rpartition(":")
        try:
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except (OSError, ValueError):
            self.close_now()
            return
        self.upstream_writer = up_writer
        for toxic in list(self.proxy.toxics.values()):
            self.applies(toxic)  # start timers of connection-level toxics
        await asyncio.gather(
            self.pump(self.client_reader, up_writer, "upstream"),
            self.pump(up_reader, self.client_writer, "downstream"),
            return_exceptions=True,
        )
        self.close_now()

    async def pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   stream: str) -> None:
        async def write(data: bytes) -> None:
            if data and not writer.is_closing():
                writer.write(data)
                await writer.drain()

        try:
            while not self.closed:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                self.proxy.count_bytes(stream, len(data))
                await self._through(self.chain(stream), 0, data, write)
            for toxic in self.chain(stream):
                await toxic.before_close(self.states.setdefault(id(toxic), {}))
            if not writer.is_closing() and writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            self.close_now()

    async def _through(self, chain: list[Toxic], i: int, data: bytes, write: Any) -> None:
        if i == len(chain):
            await write(data)
            return
        toxic = chain[i]

        async def emit(out: bytes) -> None:
            await self._through(chain, i + 1, out, write)

        await toxic.handle(data, emit, self.states.setdefault(id(toxic), {}), self)

    # --- used by toxics -----------------------------------------------------------------
    async def reply_to_client(self, data: bytes) -> None:
        if not self.client_writer.is_closing():
            self.client_writer.write(data)
            await self.client_writer.drain()

    async def close_gracefully(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        if self.closed:
            return
        self.closed = True
        for handles in self.timers.values():
            for handle in handles:
                handle.cancel()
        for w in (self.client_writer, self.upstream_writer):
            if w is not None:
                w.close()
        self.proxy.links.discard(self)

    def reset_now(self) -> None:
        """Close the client side with RST (SO_LINGER 0), then drop the upstream."""
        sock = self.client_writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.client_writer.transport.abort()
        if self.upstream_writer is not None:
            self.upstream_writer.transport.abort()
        self.closed = True
        self.proxy.links.discard(self)
