"""Wake-ups on a shared grid, so users due at about the same moment wake together.

Every distinct wake-up instant costs the Locust process one pass of gevent's event loop
and a trip through the kernel's scheduler. Cars and drivers act at seeded, random
moments, so left alone each would wake on its own, and docs/benchmarks/fleet-overhead.md
shows that this, more than the fleet's code, is what a request costs. Rounding each
wake-up up to the next multiple of ``GRID_S`` lets everyone due in the same 100 ms wake
in one pass (20 ms and 50 ms grids were measured too and still cost more than the bare
loop). 100 ms is small against what the fleet models: telemetry every second or more
(a flooding car at its 50 ms floor sends its records in pairs, at the same rate), needs
minutes apart, patience in tens of seconds. Callers keep their schedule in exact
deadlines, so the rounding delays a wake-up by less than 100 ms but never accumulates
into a drift of rate.
"""

from __future__ import annotations

import math
import time

import gevent

GRID_S = 0.1


def wake_at(deadline: float) -> float:
    """The grid instant at or after ``deadline`` (time.monotonic() seconds)."""
    return math.ceil(deadline / GRID_S) * GRID_S


def sleep_until(deadline: float) -> None:
    wait = wake_at(deadline) - time.monotonic()
    if wait > 0:
        gevent.sleep(wait)
