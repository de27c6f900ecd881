"""The fleet's cars alone for bench/mqtt_capacity.py: bench/fleet_locustfile.py (beside us:
its figures and the peak watcher), plus how many connects the cars made and how many
failed (reconnect churn), in ``<pid>.connects``."""

import json
import os

# Locust loads a locustfile by path, its folder on sys.path: mypy, from the checkout, sees
# bench.fleet_locustfile instead (the same file under another name would register twice)
from fleet_locustfile import CarUser  # type: ignore[import-not-found]  # registers its listeners too
from locust import events

__all__ = ["CarUser"]


@events.quitting.add_listener
def _dump_connects(environment, **_):
    connects = {"requests": 0, "failures": 0}
    for (name, _method), entry in environment.stats.entries.items():
        if name in ("mqtt_connect", "telemetry_connect"):
            connects = {"requests": entry.num_requests, "failures": entry.num_failures}
    with open(os.path.join(os.environ["FLEET_BENCH_OUT"], f"{os.getpid()}.connects"), "w") as fh:
        json.dump(connects, fh)
