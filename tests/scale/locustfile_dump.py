"""The real locustfile, plus a dump of each process's own fleet counters when it quits."""

import json
import os

from locust import events
from locust.runners import WorkerRunner

from fleetchaos.fleet_sim import stats
from fleetchaos.fleet_sim.runtime import runtime_of
from fleetchaos.locustfile import CanaryUser, CarUser, DriverUser, ScenarioShape

__all__ = ["CanaryUser", "CarUser", "DriverUser", "ScenarioShape"]


@events.quitting.add_listener
def _dump(environment, **_):
    out = os.environ.get("FLEET_DUMP_DIR")
    if not out:
        return
    role = "worker" if isinstance(environment.runner, WorkerRunner) else "master"
    path = os.path.join(out, f"{role}-{os.getpid()}.json")
    with open(path, "w") as fh:
        json.dump({"own": runtime_of(environment).counters.as_dict(),
                   "snapshot": stats.snapshot(environment)}, fh)
