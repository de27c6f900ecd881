"""One client connection through a proxy: two pipes (upstream, downstream) and their toxics.

Bytes move in asyncio protocol callbacks. While no toxic acts on a direction, each
chunk read from one socket is written to the other inside ``data_received``: no task,
no queue, no copy. That direct path is what sets the proxy's overhead
(docs/benchmarks/toxiproxy.md), so it is kept to a check and a write.

Once a toxic acts on a direction, the pipe holds one stage per toxic of that stream, in
the order they were added (fleetchaos.toxiproxy_server.stage, Toxiproxy's ToxicLink):
each chunk is stamped when read and pushed into the first stage, and each stage passes it
on at once or holds it in its own queue until due, so stages work on different chunks at
the same time, as Toxiproxy's goroutines do. A toxic added to a live connection is
appended to the chain; a removed one hands on what it held before the chain is rewired,
so switching never loses or reorders a byte. Toxicity is drawn when a stage starts
(connection opened, toxic added or updated), as Toxiproxy's ``ToxicStub.Run`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fleetchaos.toxiproxy_server.stage import Out, Stage

if TYPE_CHECKING:
    from fleetchaos.toxiproxy_server.proxy import Proxy
    from fleetchaos.toxiproxy_server.toxics.base import Toxic

HIGH_WATER = 1024 * 1024  # bytes held by the stages before the source stops being read

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
    """One direction of a link: from ``source`` to ``dest`` through the stages of ``stream``."""

    def __init__(self, link: Link, stream: str, source: Side, dest: Side) -> None:
        self.link, self.stream, self.source, self.dest = link, stream, source, dest
        source.reads_into = self
        source.data_received = self.feed  # type: ignore[method-assign]  # no hop through Side
        dest.writes_from = self
        self.stages: list[Stage] = []
        self.head: Out = self.sink
        self.head_eof: Callable[[], None] = self.sink_eof
        self.pending: list[bytes | None] | None = []  # read before the upstream answered
        self.dest_paused = False
        self.held = 0  # bytes the stages hold (kept by Stage.set_held)
        self.high_water = HIGH_WATER
        self.done = False  # EOF passed on
        self.nbytes = 0
        self.direct = False  # connected, no stage acts on this stream: write at once

    # --- the source's events ------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.nbytes += len(data)
        if self.direct:
            self.dest.transport.write(data)  # type: ignore[union-attr]
            return
        if self.pending is not None:  # uvloop may deliver data although reading is paused
            self.pending.append(data)
            return
        if self.link.closed:
            return
        try:
            self.head(self.link.loop.time(), data)
        except Exception as exc:  # a toxic's bug must cost one connection, not the server
            self.failed(exc)

    def feed_eof(self) -> None:
        if self.direct:
            self.finish()
        elif self.pending is not None:
            self.pending.append(None)
        elif not self.link.closed:
            try:
                self.head_eof()
            except Exception as exc:
                self.failed(exc)

    def start(self) -> None:
        """The upstream answered: hand on what the source sent meanwhile, stamped now."""
        pending, self.pending = self.pending or [], None
        for item in pending:
            if self.link.closed:
                return
            if item is None:
                self.feed_eof()
            else:
                self.nbytes -= len(item)  # counted when it was read
                self.feed(item)

    # --- the end of the chain -----------------------------------------------------------
    def sink(self, stamp: float, data: bytes) -> None:
        dest = self.dest.transport
        if data and dest is not None and not dest.is_closing():
            dest.write(data)

    def sink_eof(self) -> None:
        self.finish()

    # --- the chain ----------------------------------------------------------------------
    def rewire(self) -> None:
        """Point each stage at the next one; the last at the socket."""
        out: Out = self.sink
        out_eof: Callable[[], None] = self.sink_eof
        for stage in reversed(self.stages):
            stage.out, stage.out_eof = out, out_eof
            out, out_eof = stage.push, stage.push_eof
        self.head, self.head_eof = out, out_eof
        self.refresh_direct()

    def refresh_direct(self) -> None:
        link = self.link
        self.direct = (link.connected and not link.closed and self.pending is None
                       and all(type(stage) is Stage for stage in self.stages))

    def stage_of(self, toxic: Toxic) -> int:
        for i, stage in enumerate(self.stages):
            if stage.toxic is toxic:
                return i
        return -1

    def guarded(self, fn: Callable[[], None]) -> Callable[[], None]:
        """A timer callback whose failure closes this connection with one log line."""
        def call() -> None:
            try:
                fn()
            except Exception as exc:
                self.failed(exc)
        return call

    def failed(self, exc: Exception) -> None:
        if not isinstance(exc, ConnectionError | OSError):
            log_failure(self.link.proxy.name, exc)
        self.link.close_now()

    # --- flow control -------------------------------------------------------------------
    def set_dest_paused(self, paused: bool) -> None:
        self.dest_paused = paused
        self.update_reading()

    def update_reading(self) -> None:
        """Read the source only while the destination keeps up and the stages hold little."""
        link = self.link
        want = (link.connected and not link.closed and not self.dest_paused
                and self.held <= HIGH_WATER)
        transport = self.source.transport
        if transport is None or transport.is_closing() or want == transport.is_reading():
            return
        (transport.resume_reading if want else transport.pause_reading)()

    def finish(self) -> None:
        """Pass the source's EOF on; the link closes once both directions have."""
        self.done = True
        dest = self.dest.transport
        if dest is not None and not dest.is_closing() and dest.can_write_eof():
            dest.write_eof()
        if self.link.upstream_pipe.done and self.link.downstream_pipe.done:
            self.link.close_now()

    def stop(self) -> None:
        for stage in self.stages:
            stage.cancel()


_failures = {"last": 0.0, "suppressed": 0}


def log_failure(proxy: str, exc: Exception) -> None:
    """One warning line per failure at most once a second (no traceback): a toxic failing on
    every request must not flood a log nobody reads, nor block on a full pipe."""
    now = time.monotonic()
    if now - _failures["last"] < 1.0:
        _failures["suppressed"] += 1
        return
    more = f" ({_failures['suppressed']:.0f} more since the last line)" \
        if _failures["suppressed"] else ""
    _failures["last"], _failures["suppressed"] = now, 0
    log.warning("toxic failed on proxy %s: %s: %s; connection closed%s",
                proxy, type(exc).__name__, str(exc)[:200], more)


class Link:
    def __init__(self, proxy: Proxy, rng: random.Random) -> None:
        self.proxy = proxy
        self.rng = rng
        self.loop = asyncio.get_running_loop()
        self.client = Side(self)
        self.upstream = Side(self)
        self.upstream_pipe = Pipe(self, "upstream", self.client, self.upstream)
        self.downstream_pipe = Pipe(self, "downstream", self.upstream, self.client)
        self.states: dict[int, dict[str, Any]] = {}
        self.connected = False
        self.closed = False

    def pipe(self, stream: str) -> Pipe:
        return self.upstream_pipe if stream == "upstream" else self.downstream_pipe

    # --- toxics -------------------------------------------------------------------------
    def draw(self, toxic: Toxic) -> bool:
        """Toxiproxy's ToxicStub.Run: ``rand.Float32() < toxicity``, once per run."""
        return toxic.toxicity >= 1 or self.rng.random() < toxic.toxicity

    def toxic_added(self, toxic: Toxic, at_start: bool = False) -> None:
        """Toxiproxy appends a new toxic at the end of its direction's chain."""
        if not self.connected or self.closed:
            return
        pipe = self.pipe(toxic.direction)
        stage = toxic.new_stage(pipe, self.draw(toxic), at_start)
        pipe.stages.append(stage)
        pipe.rewire()
        stage.start()

    def toxic_removed(self, toxic: Toxic) -> None:
        """Cleanup (timeout closes), then what the stage held goes on, in order."""
        if not self.connected or self.closed:
            return
        pipe = self.pipe(toxic.direction)
        i = pipe.stage_of(toxic)
        if i < 0:
            return
        stage = pipe.stages[i]
        stage.cleanup()
        if self.closed:
            return
        stage.flush()
        if self.closed:
            return
        pipe.stages.remove(stage)
        self.states.pop(id(toxic), None)
        pipe.rewire()
        pipe.update_reading()

    def toxic_updated(self, toxic: Toxic) -> None:
        """Toxiproxy interrupts the stub and runs it again, drawing toxicity afresh."""
        if not self.connected or self.closed:
            return
        pipe = self.pipe(toxic.direction)
        i = pipe.stage_of(toxic)
        if i < 0:
            return
        old = pipe.stages[i]
        active = self.draw(toxic)
        if active == (type(old) is not Stage) or toxic.stage is Stage:
            old.interrupt()
            return
        old.flush()
        if self.closed:
            return
        new = toxic.new_stage(pipe, active, old.at_start)
        pipe.stages[i] = new
        pipe.rewire()
        new.start()
        pipe.update_reading()

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
            self.toxic_added(toxic, at_start=True)
            if self.closed:
                return
        for pipe in (self.upstream_pipe, self.downstream_pipe):
            pipe.start()
            pipe.refresh_direct()
            pipe.update_reading()

    # --- used by toxics -----------------------------------------------------------------
    def reply_to_client(self, data: bytes) -> None:
        self.downstream_pipe.sink(0.0, data)

    def close_now(self) -> None:
        """Close both sockets after what is already written to them has been sent."""
        if self.closed:
            return
        self.closed = True
        self.upstream_pipe.direct = self.downstream_pipe.direct = False
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
