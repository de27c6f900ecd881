"""One direction of a connection: from a source socket to a destination socket through
the stages of that stream's toxics, in the order they were added (Toxiproxy's ToxicLink).

Each stage gets a ``PipeStub``: its output is the next stage's input (the last one's is
the destination socket). In a chain of up to 32 stages, a stage's ``emit`` is the next
stage's ``push`` itself: a chunk through a latency of 0 ms costs a clock read and two
calls. A longer chain hands chunks on through ``deliver``, which calls the next stage
directly while nothing waits in the pipe's hand-over queue and the calls are not nested
32 deep, and otherwise appends to that queue, which the outermost call drains in order: a
chunk never overtakes one emitted before it to the same stage, and 10,000 toxics on one
proxy cost no deeper a call stack than 32 stages.

While no stage acts on the direction (no toxics, or every toxicity draw said no), each
chunk read from the source is written to the destination inside the read callback: no
stage, no queue, no copy. That direct path is what sets the proxy's overhead
(docs/benchmarks/toxiproxy.md), so it is kept to a check and a write.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from fleetchaos.toxiproxy_server.stage import Stage, Timer

if TYPE_CHECKING:
    import asyncio
    import random

    from fleetchaos.toxiproxy_server.link import Link, Side
    from fleetchaos.toxiproxy_server.toxics.base import Toxic

HIGH_WATER = 1024 * 1024  # bytes held by the stages before the source stops being read
MAX_DEPTH = 32  # stages called one inside another before hand-overs go through the queue
EOF_ITEM = None

log = logging.getLogger("toxiproxy_server")


class PipeStub:
    """A stage's view of its pipe (the Stub protocol of fleetchaos.toxiproxy_server.stage)."""

    __slots__ = ("emit", "emit_eof", "holding", "index", "key", "pipe")

    def __init__(self, pipe: Pipe, index: int, key: int) -> None:
        self.pipe = pipe
        self.key = key  # the toxic's id: its state on this connection
        self.holding = 0
        self.index = index  # this stage's place in the chain (kept by Pipe.renumber)
        # the next stage's input, set by Pipe.renumber (bound methods or partials, so the
        # hot path costs no Python frame of its own)
        self.emit: Callable[[float, bytes], None] = pipe.sink
        self.emit_eof: Callable[[], None] = pipe.finish

    @property
    def state(self) -> dict[str, Any]:
        """Made on first use (limit_data only): most toxics keep none."""
        return self.pipe.link.states.setdefault(self.key, {})

    @property
    def rng(self) -> random.Random:
        return self.pipe.link.rng

    @property
    def closed(self) -> bool:
        return self.pipe.link.closed

    def now(self) -> float:
        return self.pipe.link.loop.time()

    def call_at(self, when: float, fn: Callable[[], None]) -> Timer:
        return self.pipe.link.loop.call_at(when, self.pipe.guarded(fn))

    def held(self, nbytes: int) -> None:
        """Count what this stage holds; the pipe re-checks reading only when its total
        crosses the high-water mark."""
        pipe = self.pipe
        before = pipe.held
        pipe.held = after = before + nbytes - self.holding
        self.holding = nbytes
        if (before > pipe.high_water) != (after > pipe.high_water):
            pipe.update_reading()

    def close(self) -> None:
        self.pipe.link.close_now()

    def reset(self) -> None:
        self.pipe.link.reset_now()

    def reply(self, data: bytes) -> None:
        self.pipe.link.reply_to_client(data)


class Pipe:
    """One direction of a link: from ``source`` to ``dest`` through the stages of ``stream``."""

    def __init__(self, link: Link, stream: str, source: Side, dest: Side) -> None:
        self.link, self.stream, self.source, self.dest = link, stream, source, dest
        source.reads_into = self
        source.data_received = self.feed  # type: ignore[method-assign]  # no hop through Side
        dest.writes_from = self
        self.stages: list[Stage] = []
        self.head: Callable[[float, bytes], None] = self.sink  # the first stage's input
        self.head_eof: Callable[[], None] = self.finish
        # chunks waiting to be handed on (long chains only; made on first use: an empty
        # deque costs ~600 bytes, on each of thousands of idle connections)
        self.handover: deque[tuple[int, float, bytes | None]] | None = None
        self.depth = 0  # stage calls under way, one inside another
        self.pending: list[bytes | None] | None = []  # read before the upstream answered
        self.dest_paused = False
        self.held = 0  # bytes the stages hold (kept by PipeStub.held)
        self.high_water = HIGH_WATER
        self.done = False  # EOF passed on
        self.nbytes = 0
        self.direct = False  # connected, no stage acts on this stream: write at once

    # --- the source's events ------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.nbytes += len(data)
        if self.direct:
            # direct only once both sides are connected (refresh_direct): no None check here
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
            self.pending.append(EOF_ITEM)
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

    # --- handing chunks from stage to stage -----------------------------------------------
    def sink(self, stamp: float, data: bytes) -> None:
        dest = self.dest.transport
        if data and dest is not None and not dest.is_closing():
            dest.write(data)

    def deliver(self, index: int, stamp: float, data: bytes | None) -> None:
        """Give a chunk (or the EOF, ``None``) to stage ``index`` (past the last: the
        destination): at once while that overtakes nothing, else through the queue.
        Used by chains longer than MAX_DEPTH (see ``renumber``)."""
        if self.handover or self.depth >= MAX_DEPTH:
            if self.handover is None:
                self.handover = deque()
            self.handover.append((index, stamp, data))
            return
        self.depth += 1
        try:
            self.hand(index, stamp, data)
        except Exception as exc:  # a toxic's bug must cost one connection, not the server
            self.failed(exc)
        finally:
            self.depth -= 1
        if self.depth == 0 and self.handover:
            self.drain()

    def drain(self) -> None:
        handover = self.handover
        while handover:  # (not None: drain runs only when it holds something)
            if self.link.closed:
                handover.clear()
                return
            index, stamp, data = handover.popleft()
            self.depth += 1
            try:
                self.hand(index, stamp, data)
            except Exception as exc:
                self.failed(exc)
            finally:
                self.depth -= 1

    def hand(self, index: int, stamp: float, data: bytes | None) -> None:
        stages = self.stages
        if index < len(stages):
            if data is None:
                stages[index].push_eof()
            else:
                stages[index].push(stamp, data)
        elif data is None:
            self.finish()
        else:
            self.sink(stamp, data)

    # --- the chain ----------------------------------------------------------------------
    def renumber(self) -> None:
        """Wire each stage's output to the next stage after the chain changed. Up to
        MAX_DEPTH stages, a stage's output is the next one's ``push`` itself (the call
        stack stays shallow enough); past it, every hand-over goes through ``deliver``."""
        stages = self.stages
        long = len(stages) > MAX_DEPTH
        for i, stage in enumerate(stages):
            stub: PipeStub = stage.stub  # type: ignore[assignment]  # made by new_stub
            stub.index = i
            if long:
                stub.emit = partial(self.deliver, i + 1)
                stub.emit_eof = partial(self.deliver, i + 1, 0.0, EOF_ITEM)
            elif i + 1 < len(stages):
                stub.emit, stub.emit_eof = stages[i + 1].push, stages[i + 1].push_eof
            else:
                stub.emit, stub.emit_eof = self.sink, self.finish
        if long:
            self.head = partial(self.deliver, 0)
            self.head_eof = partial(self.deliver, 0, 0.0, EOF_ITEM)
        elif stages:
            self.head, self.head_eof = stages[0].push, stages[0].push_eof
        else:
            self.head, self.head_eof = self.sink, self.finish
        self.refresh_direct()

    def new_stub(self, toxic: Toxic) -> PipeStub:
        return PipeStub(self, len(self.stages), id(toxic))

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
        """A timer callback whose failure closes this connection with one log line, and
        after which the hand-over queue is drained."""
        def call() -> None:
            self.depth += 1
            try:
                fn()
            except Exception as exc:
                self.failed(exc)
            finally:
                self.depth -= 1
            if self.depth == 0 and self.handover:
                self.drain()
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
        transport: asyncio.Transport | None = self.source.transport
        if transport is None or transport.is_closing() or want == transport.is_reading():
            return
        (transport.resume_reading if want else transport.pause_reading)()

    def finish(self) -> None:
        """The source's end reached the destination: close the destination socket, both
        ways, as Toxiproxy's ToxicLink.write does (``dest.Close()``, not a half-close).
        The other direction reads from that socket, so its source has ended too: its end
        goes through its own toxics (what they hold is still delivered), then closes the
        other socket. A client's half-close thus closes the connection at once."""
        self.done = True
        self.dest.close_socket()
        other = self.link.other_pipe(self)
        if other.done:
            self.link.close_now()
        else:
            other.feed_eof()

    def stop(self) -> None:
        if self.handover:
            self.handover.clear()
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
