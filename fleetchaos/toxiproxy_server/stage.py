"""One toxic on one direction of one connection: a stage of the pipeline, as in Toxiproxy.

Toxiproxy (link.go, toxics/toxic.go, stream/io_chan.go) runs each toxic of a direction as
its own goroutine between two channels. The reader stamps every chunk with the time it was
read (``StreamChunk.Timestamp``) and each stage works on stamped chunks, so a latency toxic
releases a chunk at its arrival + latency: chunks in flight overlap instead of queueing a
full latency behind each other. A stage here is the same thing without a task per stage:
``push`` hands a stamped chunk to the stage; a stage that can pass it on at once does so
inside the call, and a stage that must wait keeps the chunk in its own queue and arms one
timer. ``held`` counts the bytes a stage keeps, which is what the pipe's flow control reads.

A stage sees its connection only through a **stub** (``Stub``, Toxiproxy's ``ToxicStub``):
its output (``emit``, ``emit_eof``), a clock (``now``), timers (``call_at``), the random
source (``rng``), per-connection state that outlives a stage swap (``state``), and the
connection's ends (``close``, ``reset``, ``reply``). The pipe gives each stage a stub wired
to the next stage (fleetchaos.toxiproxy_server.pipe); a test gives it a ``MemoryStub``
(fleetchaos.toxiproxy_server.stub) and drives the toxic without sockets or an event loop.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fleetchaos.toxiproxy_server.toxics.base import Toxic

MAX_WAIT_S = 1e7  # timers further out than ~4 months are clamped (event loops overflow)

EOF = None  # the item that marks the source's end in a stage's queue


class Timer(Protocol):
    def cancel(self) -> None: ...


class Stub(Protocol):
    """What a stage may touch of its connection."""

    @property
    def state(self) -> dict[str, Any]: ...  # this toxic's per-connection state (limit_data)

    @property
    def rng(self) -> random.Random: ...  # the connection's random source (jitter, cuts)

    @property
    def closed(self) -> bool: ...  # the connection is gone: stop working

    def now(self) -> float: ...  # seconds, the clock chunks are stamped with

    def emit(self, stamp: float, data: bytes) -> None: ...  # to the next stage

    def emit_eof(self) -> None: ...  # the source's end, after every byte before it

    def call_at(self, when: float, fn: Callable[[], None]) -> Timer: ...

    def held(self, nbytes: int) -> None: ...  # how many bytes the stage holds now

    def close(self) -> None: ...  # Toxiproxy's stub.Close(): the connection closes

    def reset(self) -> None: ...  # close with a TCP RST (SO_LINGER 0)

    def reply(self, data: bytes) -> None: ...  # write to the client (http_error)


class Stage:
    """Base stage: passes everything on unchanged (the noop toxic, and any toxic whose
    toxicity draw said no on this connection, as Toxiproxy's stub runs a NoopToxic)."""

    def __init__(self, toxic: Toxic, stub: Stub, at_start: bool) -> None:
        self.toxic = toxic
        self.stub = stub
        self.at_start = at_start  # present when the connection started (reset_peer cares)
        self.held = 0
        self.timer: Timer | None = None

    # --- called by the previous stage ----------------------------------------------------
    def push(self, stamp: float, data: bytes) -> None:
        self.stub.emit(stamp, data)

    def push_eof(self) -> None:
        self.stub.emit_eof()

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """The stage begins acting on this connection (Toxiproxy's ``Run``)."""

    def flush(self) -> None:
        """Interrupted (toxic removed or changed): hand on everything held, now, in order.
        Toxiproxy's toxics do the same on Interrupt ("don't drop any data on the floor")."""
        self.cancel()

    def interrupt(self) -> None:
        """The toxic's attributes changed: Toxiproxy interrupts the stub and runs it again,
        so a chunk in progress goes out at once and the rest meet the new attributes."""

    def cleanup(self) -> None:
        """The toxic was removed from this connection (Toxiproxy's ``CleanupToxic``)."""

    def cancel(self) -> None:
        """The connection closed: stop timers, drop what is held."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    # --- helpers -------------------------------------------------------------------------
    def call_at(self, when: float, fn: Callable[[], None]) -> None:
        when = min(when, self.stub.now() + MAX_WAIT_S)
        self.timer = self.stub.call_at(when, fn)

    def set_held(self, n: int) -> None:
        self.held = n
        self.stub.held(n)


class QueueStage(Stage):
    """A stage that may hold chunks: a FIFO of (stamp, data) or EOF, released in order."""

    def __init__(self, toxic: Toxic, stub: Stub, at_start: bool) -> None:
        super().__init__(toxic, stub, at_start)
        self.queue: deque[tuple[float, bytes] | None] = deque()

    def push(self, stamp: float, data: bytes) -> None:
        if not self.queue and self.timer is None and self.pass_now(stamp, data):
            return
        self.queue.append((stamp, data))
        self.set_held(self.held + len(data))
        if self.timer is None:
            self.run()

    def push_eof(self) -> None:
        if not self.queue and self.timer is None:
            self.on_eof()
            return
        self.queue.append(EOF)

    def pass_now(self, stamp: float, data: bytes) -> bool:
        """Handle a chunk at once if nothing waits before it; False to queue it."""
        return False

    def on_eof(self) -> None:
        self.stub.emit_eof()

    def run(self) -> None:
        """Release what is due from the head of the queue; arm the timer for the rest."""
        raise NotImplementedError

    def pop(self) -> tuple[float, bytes] | None:
        item = self.queue.popleft()
        if item is not None:
            self.set_held(self.held - len(item[1]))
        return item

    def flush(self) -> None:
        if self.timer is not None:  # not cancel(): that would drop the queue
            self.timer.cancel()
            self.timer = None
        while self.queue:
            item = self.pop()
            if item is None:
                self.on_eof_flushed()
                return
            self.stub.emit(*item)

    def interrupt(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.queue:
            item = self.pop()
            if item is None:
                self.on_eof_flushed()
                return
            self.stub.emit(*item)
        if self.queue and not self.stub.closed:
            self.run()

    def on_eof_flushed(self) -> None:
        self.stub.emit_eof()

    def cancel(self) -> None:
        super().cancel()
        self.queue.clear()
        self.set_held(0)
