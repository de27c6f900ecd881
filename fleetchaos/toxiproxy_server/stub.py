"""``MemoryStub``: a stage's connection in memory, as Toxiproxy's tests drive a toxic with
``NewToxicStub(input, output)`` (toxics/*_test.go): a fake clock that moves only when told,
timers run in order as it moves, a seeded random source, and everything the stage emits,
closes or replies kept in lists to assert on. No socket, no event loop.

    stub = MemoryStub()
    stage = LatencyToxic("l", "downstream", 1.0, {"latency": 100}).new_stage(stub)
    stage.push(stub.now(), b"hello")
    stub.advance(0.1)
    assert stub.output == [b"hello"]
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class MemoryTimer:
    when: float
    fn: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class MemoryStub:
    clock: float = 1000.0
    seed: int = 0
    output: list[bytes | None] = field(default_factory=list)  # None: the EOF passed on
    stamps: list[float] = field(default_factory=list)  # each emitted chunk's stamp
    emitted_at: list[float] = field(default_factory=list)  # the clock when it was emitted
    replies: list[bytes] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    holding: int = 0
    closed_by: str | None = None  # "close" or "reset" once the stage ended the connection
    closed_at: float | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._timers: list[tuple[float, int, MemoryTimer]] = []
        self._order = itertools.count()

    # --- the Stub protocol ----------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self.closed_by is not None

    def now(self) -> float:
        return self.clock

    def emit(self, stamp: float, data: bytes) -> None:
        self.output.append(data)
        self.stamps.append(stamp)
        self.emitted_at.append(self.clock)

    def emit_eof(self) -> None:
        self.output.append(None)
        self.emitted_at.append(self.clock)

    def call_at(self, when: float, fn: Callable[[], None]) -> MemoryTimer:
        timer = MemoryTimer(when, fn)
        heapq.heappush(self._timers, (when, next(self._order), timer))
        return timer

    def held(self, nbytes: int) -> None:
        self.holding = nbytes

    def close(self) -> None:
        if self.closed_by is None:
            self.closed_by, self.closed_at = "close", self.clock

    def reset(self) -> None:
        if self.closed_by is None:
            self.closed_by, self.closed_at = "reset", self.clock

    def reply(self, data: bytes) -> None:
        self.replies.append(data)

    # --- driving --------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the clock forward, running each timer that falls due on the way, in order
        (a timer due in the past runs at once, as an event loop runs it)."""
        end = self.clock + seconds + 1e-9  # a nanosecond's slack for float sums, as Go's clock
        while self._timers and self._timers[0][0] <= end and not self.closed:
            when, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self.clock = max(self.clock, when)
            timer.fn()
        self.clock = max(self.clock, end - 1e-9)

    def pending_timers(self) -> int:
        return sum(not t.cancelled for _, _, t in self._timers)

    @property
    def data(self) -> bytes:
        """Every byte emitted so far, joined."""
        return b"".join(chunk for chunk in self.output if chunk is not None)
