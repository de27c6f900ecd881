"""The fleet alone (standalone mode, no scenario engine) for the fleet's end-to-end tests.

Writes the fleet counters to FLEET_RESULT_PATH when Locust quits.
"""

import json
import os
from typing import Any

from locust import events

from fleetchaos.fleet_sim import stats
from fleetchaos.fleet_sim.locust_users import CarUser, DriverUser

__all__ = ["CarUser", "DriverUser"]
OUTCOMES: list[dict[str, Any]] = []


@events.init.add_listener
def _collect(environment, **_):
    environment.events.fleet_driver_outcome.add_listener(lambda **kw: OUTCOMES.append(kw))


@events.quitting.add_listener
def _dump(environment, **_):
    path = os.environ.get("FLEET_RESULT_PATH")
    if not path:
        return
    entries = {name: {"requests": e.num_requests, "failures": e.num_failures}
               for (name, _method), e in environment.stats.entries.items()}
    with open(path, "w") as fh:
        json.dump({"fleet": stats.snapshot(environment), "outcomes": OUTCOMES,
                   "stats": entries}, fh)
