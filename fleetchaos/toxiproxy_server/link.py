"""One client connection through a proxy: two pipes (upstream, downstream) and their toxics.

Bytes move in asyncio protocol callbacks. While no toxic acts on a direction, each
chunk read from one socket is written to the other inside ``data_received``: no task,
no queue, no copy. That direct path is what sets the proxy's overhead
(docs/benchmarks/toxiproxy.md), so it is kept to a check and a write.

Once a toxic acts on a direction, its chunks are queued in arrival order and one pump
task passes each through the toxics that apply to this connection, reading the chain
afresh per chunk, so a toxic added or removed on a live connection acts at once. A pipe
goes back to the direct path only when its queue is empty and its pump idle, so switching
either way never loses or reorders a byte. Toxicity is drawn once per connection per
toxic, as Toxiproxy does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleetchaos.toxiproxy_server.proxy import Proxy
    from fleetchaos.toxiproxy_server.toxics.base import Toxic

HIGH_WATER = 1024 * 1024  # bytes queued for the toxics before the source stops being read

log = logging.getLogger("toxiproxy_server")


class Side(asyncio.Protocol):
    """One socket of a link (the client's or the upstream's): hands events to its pipes."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.reads_into: Pipe  # the pipe this socket's bytes enter
        self.writes_from: Pipe  # the pipe whose bytes this socket sends

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.link.side_connected(self)

    def eof_received(self) -> bool:
        self.reads_into.feed_eof()
        return True  # keep the other half open: the answer may still be coming

    def pause_writing(self) -> None:
        self.writes_from.set_dest_paused(True)

    def resume_writing(self) -> None:
        self.writes_from.set_dest_paused(False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.close_now()


class Pipe:
    """One direction of a link: from ``source`` to ``dest`` through the toxics of ``stream``."""

    def __init__(self, link: Link, stream: str, source: Side, dest: Side) -> None:
        self.link, self.stream, self.source, self.dest = link, stream, source, dest
        source.reads_into = self
        source.data_received = self.feed  # type: ignore[method-assign]  # no hop through Side
        dest.writes_from = self
        self.queue: deque[bytes | None] = deque()  # None marks the source's EOF
        self.queued = 0
        self.pump_task: asyncio.Task[None] | None = None
        self.dest_paused = False
        self.resumed: asyncio.Future[None] | None = None
        self.done = False  # EOF passed on
        self.nbytes = 0
        self.direct = False  # connected, no toxic on this stream, nothing queued: write at once

    # --- the source's events ------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.nbytes += len(data)
        if self.direct:
            self.dest.transport.write(data)  # type: ignore[union-attr]
            return
        # Toxics act on this direction, the pump is still busy, or the upstream is not
        # connected yet (uvloop may deliver data although connection_made paused reading).
        self.queue.append(data)
        self.queued += len(data)
        self.update_reading()
        self.ensure_pump()

    def refresh_direct(self) -> None:
        link = self.link
        self.direct = (link.connected and not link.closed and self.pump_task is None
                       and not self.queue and not link.proxy.has_toxics(self.stream))

    def feed_eof(self) -> None:
        if self.direct:
            self.finish()
            return
        self.queue.append(None)
        self.ensure_pump()

    # --- flow control -------------------------------------------------------------------
    def set_dest_paused(self, paused: bool) -> None:
        self.dest_paused = paused
        if not paused and self.resumed is not None and not self.resumed.done():
            self.resumed.set_result(None)
        self.update_reading()

    def update_reading(self) -> None:
        """Read the source only while the destination keeps up and the queue is short."""
        want = (self.link.connected and not self.link.closed and not self.dest_paused
                and self.queued <= HIGH_WATER)
        transport = self.source.transport
        if transport is None or transport.is_closing() or want == transport.is_reading():
            return
        (transport.resume_reading if want else transport.pause_reading)()

    async def wait_writable(self) -> None:
        while self.dest_paused and not self.link.closed:
            if self.resumed is None or self.resumed.done():
                self.resumed = asyncio.get_running_loop().create_future()
            await self.resumed

    async def write(self, data: bytes) -> None:
        """The last stage of the toxic chain: send, then wait while the peer is behind."""
        dest = self.dest.transport
        if data and dest is not None and not dest.is_closing():
            dest.write(data)
            await self.wait_writable()

    # --- the slow path ------------------------------------------------------------------
    def ensure_pump(self) -> None:
        if self.pump_task is None and self.link.connected and not self.link.closed:
            self.direct = False
            self.pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        link = self.link
        try:
            while self.queue and not link.closed:
                data = self.queue.popleft()
                if data is None:
                    for toxic in link.chain(self.stream):
                        await toxic.before_close(link.state(toxic))
                    self.finish()
                    continue
                self.queued -= len(data)
                self.update_reading()
                await link.through(link.chain(self.stream), 0, data, self.write)
        except (ConnectionError, OSError):
            link.close_now()
        except asyncio.CancelledError:
            raise
        except Exception:  # a toxic's bug must cost one connection, not the server
            log.exception("toxic failed on proxy %s; closing the connection", link.proxy.name)
            link.close_now()
        finally:
            self.pump_task = None
            self.refresh_direct()

    def finish(self) -> None:
        """Pass the source's EOF on; the link closes once both directions have."""
        self.done = True
        dest = self.dest.transport
        if dest is not None and not dest.is_closing() and dest.can_write_eof():
            dest.write_eof()
        if self.link.upstream_pipe.done and self.link.downstream_pipe.done:
            self.link.close_now()

    def stop(self) -> None:
        if self.pump_task is not None and self.pump_task is not asyncio.current_task():
            self.pump_task.cancel()
        if self.resumed is not None and not self.resumed.done():
            self.resumed.set_result(None)


class Link:
    def __init__(self, proxy: Proxy, rng: random.Random) -> None:
        self.proxy = proxy
        self.rng = rng
        self.client = Side(self)
        self.upstream = Side(self)
        self.upstream_pipe = Pipe(self, "upstream", self.client, self.upstream)
        self.downstream_pipe = Pipe(self, "downstream", self.upstream, self.client)
        self.draws: dict[int, bool] = {}
        self.states: dict[int, dict[str, Any]] = {}
        self.timers: dict[int, list[asyncio.TimerHandle]] = {}
        self.connected = False
        self.closed = False

    # --- toxics -------------------------------------------------------------------------
    def applies(self, toxic: Toxic) -> bool:
        key = id(toxic)
        if key not in self.draws:
            self.draws[key] = toxic.toxicity >= 1 or self.rng.random() < toxic.toxicity
            if self.draws[key]:
                toxic.on_activate(self, self.state(toxic))
        return self.draws[key]

    def state(self, toxic: Toxic) -> dict[str, Any]:
        return self.states.setdefault(id(toxic), {})

    def toxics_changed(self) -> None:
        """A toxic was added or removed on the proxy: each pipe picks its path again."""
        self.upstream_pipe.refresh_direct()
        self.downstream_pipe.refresh_direct()

    def toxic_removed(self, toxic: Toxic) -> None:
        key = id(toxic)
        if self.draws.get(key) and not self.closed:
            toxic.on_remove(self, self.state(toxic))
        for handle in self.timers.pop(key, []):
            handle.cancel()
        self.draws.pop(key, None)
        self.states.pop(key, None)

    def call_later(self, delay_s: float, toxic: Toxic, fn: Any) -> None:
        handle = asyncio.get_running_loop().call_later(delay_s, fn)
        self.timers.setdefault(id(toxic), []).append(handle)

    def chain(self, stream: str) -> list[Toxic]:
        return [t for t in self.proxy.toxics.values() if t.stream == stream and self.applies(t)]

    async def through(self, chain: list[Toxic], i: int, data: bytes, write: Any) -> None:
        if i == len(chain):
            await write(data)
            return
        toxic = chain[i]

        async def emit(out: bytes) -> None:
            await self.through(chain, i + 1, out, write)

        await toxic.handle(data, emit, self.state(toxic), self)

    # --- connecting ---------------------------------------------------------------------
    def side_connected(self, side: Side) -> None:
        if side is not self.client:
            return
        self.upstream_pipe.update_reading()  # not before the upstream answers
        self.proxy.links.add(self)
        self.proxy.connections_total += 1
        asyncio.get_running_loop().create_task(self._connect_upstream())

    async def _connect_upstream(self) -> None:
        host, _, port = self.proxy.upstream.rpartition(":")
        try:
            await asyncio.get_running_loop().create_connection(
                lambda: self.upstream, host.strip("[]"), int(port))
        except (OSError, ValueError):
            self.close_now()
            return
        if self.closed:  # the client left while we connected: drop the upstream too
            if self.upstream.transport is not None:
                self.upstream.transport.close()
            return
        self.connected = True
        for toxic in list(self.proxy.toxics.values()):
            self.applies(toxic)  # start timers of connection-level toxics
        self.toxics_changed()
        self.upstream_pipe.update_reading()
        if self.upstream_pipe.queue:
            self.upstream_pipe.ensure_pump()  # what the client sent while we connected

    # --- used by toxics -----------------------------------------------------------------
    async def reply_to_client(self, data: bytes) -> None:
        await self.downstream_pipe.write(data)

    async def close_gracefully(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        """Close both sockets after what is already written to them has been sent."""
        if self.closed:
            return
        self.closed = True
        self.upstream_pipe.direct = self.downstream_pipe.direct = False
        for handles in self.timers.values():
            for handle in handles:
                handle.cancel()
        self.timers.clear()
        self.upstream_pipe.stop()
        self.downstream_pipe.stop()
        for side in (self.client, self.upstream):
            if side.transport is not None:
                side.transport.close()
        self.proxy.links.discard(self)
        self.proxy.bytes["upstream"] += self.upstream_pipe.nbytes
        self.proxy.bytes["downstream"] += self.downstream_pipe.nbytes

    def reset_now(self) -> None:
        """Close the client side with RST (SO_LINGER 0), then drop the upstream."""
        for side in (self.client, self.upstream):
            transport = side.transport
            if transport is None:
                continue
            if side is self.client:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        self.close_now()
