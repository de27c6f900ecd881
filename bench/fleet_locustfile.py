"""The fleet's cars alone, for the capacity benchmark; dumps counters and resource use."""

import json
import os
import resource

from locust import events

from fleetchaos.fleet_sim.locust_users import CarUser
from fleetchaos.fleet_sim.runtime import runtime_of

__all__ = ["CarUser"]


@events.quitting.add_listener
def _dump(environment, **_):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    path = os.path.join(os.environ["FLEET_BENCH_OUT"], f"{os.getpid()}.json")
    with open(path, "w") as fh:
        json.dump({"fleet": runtime_of(environment).counters.as_dict(),
                   "cpu_s": usage.ru_utime + usage.ru_stime,
                   "max_rss_kb": usage.ru_maxrss}, fh)


@events.test_start.add_listener
def _connected(environment, **_):
    import gevent

    counters = runtime_of(environment).counters

    def watch():
        peak = 0
        while True:
            gevent.sleep(1)
            peak = max(peak, counters.data["cars_connected"])
            counters.data["peak_connected"] = peak

    gevent.spawn(watch)
