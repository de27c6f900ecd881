"""Wake-ups on a shared grid, so users due at about the same moment wake together.

Every distinct wake-up instant costs the Locust process one pass of gevent's event loop
and a trip through the kernel's scheduler. Cars and drivers act at seeded, random
moments, so left alone each would wake on its own, and docs/benchmarks/fleet-overhead.md
shows that this, more than the fleet's code, is what a request costs. Rounding each
wake-up up to the next multiple of ``GRID_S`` lets everyone due in the same 200 ms wake
in one pass. 20, 50 and 100 ms grids were measured too: on 2026-12-05, alternating runs
of bench.fleet_overhead's phones gave 0.16-0.19 ms per request at 100 ms and 50 ms and
0.16 ms at 200 ms, against 0.14-0.15 ms for the bare loop. 200 ms is small against what
the fleet models: telemetry every second or more (a flooding car at its 50 ms floor sends
its records four at a time, at the same rate; a record's latency is timed from its
grid instant), needs minutes apart, patience in tens of seconds. Callers keep their
schedule in exact deadlines, so the rounding delays a wake-up by less than 200 ms but
never accumulates into a drift of rate.
"""

from __future__ import annotations

import math
import time

import gevent
from gevent.hub import Waiter, get_hub

GRID_S = 0.2


def wake_at(deadline: float) -> float:
    """The grid instant at or after ``deadline`` (time.monotonic() seconds)."""
    return math.ceil(deadline / GRID_S) * GRID_S


def sleep_until(deadline: float) -> None:
    wait = wake_at(deadline) - time.monotonic()
    if wait > 0:
        gevent.sleep(wait)


class Alarm:
    """One user's sleep that someone else can cut short (a knob change wakes the cars).

    gevent's own sleep cannot be interrupted, and a shared Event is no substitute: each of
    ten thousand waiters would be removed from its list one by one. This is gevent.sleep
    (a timer and a Waiter) plus ``ring()``, which wakes the sleeper, if it is still asleep,
    from the hub."""

    __slots__ = ("waiter",)

    def __init__(self) -> None:
        self.waiter: Waiter[None] | None = None

    def sleep_until(self, deadline: float) -> None:
        """Sleep until the grid instant at or after ``deadline``, or until rung."""
        wait = wake_at(deadline) - time.monotonic()
        if wait <= 0:
            return
        hub = get_hub()
        timer = hub.loop.timer(wait)
        waiter: Waiter[None] = Waiter(hub)
        self.waiter = waiter
        timer.start(waiter.switch, None)
        try:
            waiter.get()
        finally:
            timer.close()
            self.waiter = None

    def ring(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            get_hub().loop.run_callback(self._wake, waiter)

    def _wake(self, waiter: Waiter[None]) -> None:
        current = self.waiter
        if current is not None and current is waiter:  # still the same sleep (not timed out)
            current.switch(None)
