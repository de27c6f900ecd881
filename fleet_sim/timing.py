"""Wake-ups on a shared grid, so users due at about the same moment wake together.

Every distinct wake-up instant costs the Locust process one pass of gevent's event loop
and a trip through the kernel's scheduler. Cars and drivers act at seeded, random
moments, so left alone each would wake on its own, and docs/benchmarks/fleet-overhead.md
shows that this, more than the fleet's code, is what a request costs. Rounding each
wake-up up to the next multiple of ``GRID_S`` lets everyone due in the same 50 ms wake
in one pass. 50 ms is below anything the fleet models (a flooding car's shortest
interval, needs minutes apart, patience in tens of seconds); callers keep their schedule
in exact deadlines, so the rounding delays a wake-up by less than 50 ms but never
accumulates into a drift of rate.
"""

from __future__ import annotations

import math
import time

import gevent

GRID_S = 0.05


def wake_at(deadline: float) -> float:
    """The grid instant at or after ``deadline`` (time.monotonic() seconds)."""
    return math.ceil(deadline / GRID_S) * GRID_S


def sleep_until(deadline: float) -> None:
    wait = wake_at(deadline) - time.monotonic()
    if wait > 0:
        gevent.sleep(wait)
