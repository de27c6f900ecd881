"""Ways to send the same requests, for bench.fleet_overhead: a bare FastHttpUser loop
(Locust's pacing, or exponential gaps) or fleet drivers (generic-rest profile) unlocking.
All log in once, then POST /vehicles/{vin}/unlock with a bearer token; each reports the
CPU it used and the requests it made between the end of spawning and the end of the run
(steady state)."""

import json
import os
import random
import resource
import time

from locust import FastHttpUser, constant_throughput, events, task

MODE = os.environ.get("OVERHEAD_MODE", "bare")

if MODE == "fleet":
    from fleetchaos.fleet_sim.locust_users import DriverUser  # noqa: F401
else:
    RATE = float(os.environ.get("OVERHEAD_PER_USER_RPS", "10"))

    class Bare(FastHttpUser):
        def poisson_wait(self):
            return self.gaps.expovariate(RATE)

        # "bare": Locust's own pacing; "bare-poisson": exponential gaps, as the fleet's needs
        wait_time = poisson_wait if MODE == "bare-poisson" else constant_throughput(RATE)

        def on_start(self):
            self.gaps = random.Random(id(self))
            token = self.client.post("/login", json={"username": "u", "password": "p"},
                                     name="token").json()["token"]
            self.headers = {"Authorization": f"Bearer {token}"}
            self.path = f"/vehicles/5YJ3E1EA7KF{id(self) % 1000000:06d}/unlock"

        @task
        def unlock(self):
            self.client.post(self.path, headers=self.headers, name="unlock")


_window: dict[str, float] = {}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@events.init.add_listener
def _on_init(environment, **_):
    @environment.events.spawning_complete.add_listener
    def _start_window(user_count, **_):
        total = environment.stats.total
        _window.update(cpu_s=_cpu_s(), at=time.monotonic(), requests=total.num_requests,
                       failures=total.num_failures)

    @environment.events.test_stop.add_listener
    def _dump(**_):
        total = environment.stats.total
        with open(os.environ["OVERHEAD_OUT"], "w") as fh:
            json.dump({"cpu_s": _cpu_s() - _window["cpu_s"],
                       "window_s": time.monotonic() - _window["at"],
                       "requests": total.num_requests - int(_window["requests"]),
                       "failures": total.num_failures - int(_window["failures"])}, fh)
