"""One toxic on one direction of one connection: a stage of the pipeline, as in Toxiproxy.

Toxiproxy (link.go, toxics/toxic.go, stream/io_chan.go) runs each toxic of a direction as
its own goroutine between two channels. The reader stamps every chunk with the time it was
read (``StreamChunk.Timestamp``) and each stage works on stamped chunks, so a latency toxic
releases a chunk at its arrival + latency: chunks in flight overlap instead of queueing a
full latency behind each other. A stage here is the same thing without a task per stage:
``push`` hands a stamped chunk to the stage; a stage that can pass it on at once does so
inside the call (so a latency of 0 ms costs a clock read and a call), and a stage that must
wait keeps the chunk in its own queue and arms one timer. ``held`` counts the bytes a stage
keeps, which is what the pipe's flow control reads.

Every stage ends in ``out`` (the next stage's ``push`` or the pipe's write) and passes the
source's EOF on through ``out_eof`` after every byte before it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleetchaos.toxiproxy_server.link import Link, Pipe
    from fleetchaos.toxiproxy_server.toxics.base import Toxic

Out = Callable[[float, bytes], None]
MAX_WAIT_S = 1e7  # timers further out than ~4 months are clamped (event loops overflow)

EOF = None  # the item that marks the source's end in a stage's queue


class Stage:
    """Base stage: passes everything on unchanged (the noop toxic, and any toxic whose
    toxicity draw said no on this connection, as Toxiproxy's stub runs a NoopToxic)."""

    def __init__(self, toxic: Toxic, pipe: Pipe, at_start: bool) -> None:
        self.toxic = toxic
        self.pipe = pipe
        self.link: Link = pipe.link
        self.at_start = at_start  # present when the connection started (reset_peer cares)
        self.held = 0
        self.out: Out = pipe.sink
        self.out_eof: Callable[[], None] = pipe.sink_eof
        self.timer: asyncio.TimerHandle | None = None

    # --- called by the previous stage ----------------------------------------------------
    def push(self, stamp: float, data: bytes) -> None:
        self.out(stamp, data)

    def push_eof(self) -> None:
        self.out_eof()

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
        loop = asyncio.get_running_loop()
        when = min(when, loop.time() + MAX_WAIT_S)
        self.timer = loop.call_at(when, self.pipe.guarded(fn))

    def set_held(self, n: int) -> None:
        """Count what this stage holds; the pipe re-checks reading only when its total
        crosses the high-water mark."""
        pipe = self.pipe
        before = pipe.held
        pipe.held = after = before + n - self.held
        self.held = n
        if (before > pipe.high_water) != (after > pipe.high_water):
            pipe.update_reading()


class QueueStage(Stage):
    """A stage that may hold chunks: a FIFO of (stamp, data) or EOF, released in order."""

    def __init__(self, toxic: Toxic, pipe: Pipe, at_start: bool) -> None:
        super().__init__(toxic, pipe, at_start)
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
        self.out_eof()

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
            self.out(*item)

    def interrupt(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.queue:
            item = self.pop()
            if item is None:
                self.on_eof_flushed()
                return
            self.out(*item)
        if self.queue and not self.link.closed:
            self.run()

    def on_eof_flushed(self) -> None:
        self.out_eof()

    def cancel(self) -> None:
        super().cancel()
        self.queue.clear()
        self.pipe.held -= self.held
        self.held = 0


def loop_time() -> float:
    return asyncio.get_running_loop().time()


def state_of(stage: Stage) -> dict[str, Any]:
    """Per-connection state of a toxic that outlives a stage swap (limit_data's count)."""
    return stage.link.states.setdefault(id(stage.toxic), {})
