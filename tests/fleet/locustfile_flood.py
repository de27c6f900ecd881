"""The fleet's cars alone (standalone mode) with a verbosity flood in the middle, as the
scenario engine would broadcast it: at FLOOD_AT seconds the knobs go to FLOOD_KNOBS (JSON)
for FLOOD_S seconds, then back. Writes the fleet counters at the flood's start and end, the
wall-clock times of both, and Locust's telemetry stats to FLOOD_RESULT_PATH."""

import json
import os
import time
from typing import Any

import gevent
from locust import events

from fleetchaos.fleet_sim import knobs, stats
from fleetchaos.fleet_sim.locust_users import CarUser

__all__ = ["CarUser"]
RESULT: dict[str, Any] = {}


@events.test_start.add_listener
def _flood(environment, **_):
    at, length = float(os.environ["FLOOD_AT"]), float(os.environ["FLOOD_S"])
    change = json.loads(os.environ["FLOOD_KNOBS"])

    def run():
        gevent.sleep(at)
        RESULT["before"] = stats.snapshot(environment)
        RESULT["on_at"] = time.time()
        knobs.apply(environment, change)
        gevent.sleep(length)
        RESULT["during"] = stats.snapshot(environment)
        RESULT["off_at"] = time.time()
        knobs.apply(environment, {"verbosity": 1.0})

    gevent.spawn(run)


@events.quitting.add_listener
def _dump(environment, **_):
    entry = environment.stats.get("telemetry", "POST")
    RESULT["telemetry"] = {"requests": entry.num_requests, "failures": entry.num_failures,
                           "p50_ms": entry.get_response_time_percentile(0.5),
                           "max_ms": entry.max_response_time}
    RESULT["final"] = stats.snapshot(environment)
    with open(os.environ["FLOOD_RESULT_PATH"], "w") as fh:
        json.dump(RESULT, fh)
