"""Two ways to send the same requests, for bench.fleet_overhead: a bare FastHttpUser loop,
or fleet drivers (generic-rest profile) unlocking; each reports its own CPU use."""

import json
import os
import resource

from locust import FastHttpUser, constant_throughput, events, task

MODE = os.environ.get("OVERHEAD_MODE", "bare")

if MODE == "fleet":
    from fleet_sim.locust_users import DriverUser  # noqa: F401
else:
    class Bare(FastHttpUser):
        wait_time = constant_throughput(float(os.environ.get("OVERHEAD_PER_USER_RPS", "10")))

        @task
        def unlock(self):
            self.client.post("/x", json={}, name="unlock")


@events.quitting.add_listener
def _dump(environment, **_):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    entry = environment.stats.total
    with open(os.environ["OVERHEAD_OUT"], "w") as fh:
        json.dump({"cpu_s": usage.ru_utime + usage.ru_stime, "requests": entry.num_requests,
                   "failures": entry.num_failures}, fh)
