"""One client connection through a proxy: two sockets and two pipes (upstream, downstream,
fleetchaos.toxiproxy_server.pipe), and what toxics do to them over the connection's life.

Bytes move in asyncio protocol callbacks. Once a toxic acts on a direction, its pipe holds
one stage per toxic of that stream, in the order they were added (Toxiproxy's ToxicLink):
each chunk is stamped when read and handed to the first stage, and each stage passes it
on at once or holds it in its own queue until due, so stages work on different chunks at
the same time, as Toxiproxy's goroutines do. A toxic added to a live connection is
appended to the chain; a removed one hands on what it held before the chain is rewired,
so switching never loses or reorders a byte. Toxicity is drawn when a stage starts
(connection opened, toxic added or updated), as Toxiproxy's ``ToxicStub.Run`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from typing import TYPE_CHECKING, Any

from fleetchaos.toxiproxy_server.pipe import Pipe
from fleetchaos.toxiproxy_server.stage import Stage

if TYPE_CHECKING:
    from fleetchaos.toxiproxy_server.proxy import Proxy
    from fleetchaos.toxiproxy_server.toxics.base import Toxic


class Side(asyncio.Protocol):
    """One socket of a link (the client's or the upstream's): hands events to its pipes."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.closing = False  # closed by the link, on purpose (Pipe.finish)
        self.reads_into: Pipe  # the pipe this socket's bytes enter
        self.writes_from: Pipe  # the pipe whose bytes this socket sends

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a TCP connection's transport (asyncio's or uvloop's) is a full Transport
        self.transport = transport  # type: ignore[assignment]
        self.link.side_connected(self)

    def eof_received(self) -> bool:
        self.reads_into.feed_eof()
        return True  # keep the other half open: the answer may still be coming

    def pause_writing(self) -> None:
        self.writes_from.set_dest_paused(True)

    def resume_writing(self) -> None:
        self.writes_from.set_dest_paused(False)

    def close_socket(self) -> None:
        """Close this socket after what is written to it has gone (a FIN); its closing
        does not end the link: the other direction may still deliver what it holds."""
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing or exc is not None:
            self.link.close_now()


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

    def other_pipe(self, pipe: Pipe) -> Pipe:
        return self.downstream_pipe if pipe is self.upstream_pipe else self.upstream_pipe

    # --- toxics -------------------------------------------------------------------------
    def draw(self, toxic: Toxic) -> bool:
        """Toxiproxy's ToxicStub.Run: ``rand.Float32() < toxicity``, once per run."""
        return toxic.toxicity >= 1 or self.rng.random() < toxic.toxicity

    def toxic_added(self, toxic: Toxic, at_start: bool = False) -> None:
        """Toxiproxy appends a new toxic at the end of its direction's chain; on an open
        connection it interrupts the chain's last stub to rewire it and runs it again
        (link.go AddToxic), which draws that toxic's toxicity afresh."""
        if not self.connected or self.closed:
            return
        pipe = self.pipe(toxic.direction)
        if pipe.stages and not at_start:
            self.rerun(pipe, len(pipe.stages) - 1)
            if self.closed:
                return
        stage = toxic.new_stage(pipe.new_stub(toxic), self.draw(toxic), at_start)
        pipe.stages.append(stage)
        pipe.renumber()
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
        pipe.renumber()
        if i > 0:  # link.go RemoveToxic runs the previous stub again: a fresh draw
            self.rerun(pipe, i - 1)
        pipe.update_reading()

    def toxic_updated(self, toxic: Toxic) -> None:
        """Toxiproxy interrupts the stub and runs it again, drawing toxicity afresh."""
        if not self.connected or self.closed:
            return
        pipe = self.pipe(toxic.direction)
        i = pipe.stage_of(toxic)
        if i >= 0:
            self.rerun(pipe, i)

    def rerun(self, pipe: Pipe, i: int) -> None:
        """ToxicStub.InterruptToxic then Run: the stage releases the chunk in progress,
        the toxicity is drawn again, and an active stage swaps with a pass-through one
        when the draw changed."""
        old = pipe.stages[i]
        toxic = old.toxic
        active = self.draw(toxic)
        if active == (type(old) is not Stage) or toxic.stage is Stage:
            old.interrupt()
            return
        old.flush()
        if self.closed:
            return
        stub = pipe.new_stub(toxic)
        new = toxic.new_stage(stub, active, old.at_start)
        stub.index = i
        pipe.stages[i] = new
        pipe.renumber()
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
            # Go accepts, fails to dial and closes the client; bytes it already sent were
            # never read, so the kernel answers them with a RST. Bytes uvloop read here
            # were read too early: reset, as the kernel would have.
            if self.upstream_pipe.pending:
                self.reset_now()
            else:
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
        dest = self.client.transport
        if data and dest is not None and not dest.is_closing():
            dest.write(data)

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
