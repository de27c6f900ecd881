"""The fleet's users with their identity wiring and nothing else (no links, no backend):
each take and give of an index is logged with the machine's monotonic clock, so a test
can replay who held what across every worker process.

The load shape goes N cars + N drivers + 2 canaries, then half the fleet, then the
whole fleet again: Locust deals the users out unevenly, stops the last ones it started
and deals them out again, the moves that used to hand two workers the same car.
"""

import json
import os
import time

import gevent
from locust import LoadTestShape
from locust.env import Environment

from fleetchaos.fleet_sim import canary, locust_users
from fleetchaos.fleet_sim.runtime import runtime_of

LOG_DIR = os.environ["IDS_LOG_DIR"]
N = int(os.environ["IDS_N"])
STAGE_S = float(os.environ.get("IDS_STAGE_S", "4"))


def log(user, kind, op, index):
    with open(os.path.join(LOG_DIR, f"{os.getpid()}.jsonl"), "a") as fh:
        fh.write(json.dumps({"t": time.monotonic(), "kind": kind, "op": op, "index": index,
                             "pid": os.getpid()}) + "\n")


class Leasing:
    kind = ""
    environment: Environment  # the Locust user's it is mixed into

    def on_start(self):
        self.pool = runtime_of(self.environment).pools[self.kind]
        self.index = self.pool.take()
        log(self, self.kind, "take", self.index)

    def on_stop(self):
        log(self, self.kind, "give", self.index)
        self.pool.give_back(self.index)



def idle(user):
    gevent.sleep(3600)


class Car(Leasing, locust_users.CarUser):
    kind = "car"


class Driver(Leasing, locust_users.DriverUser):
    kind = "driver"


class Canary(Leasing, canary.CanaryUser):
    kind = "canary"


# In place of drive, live and probe_forever (a class's own `tasks` adds to its bases'):
# Locust reads the list when a user starts.
Car.tasks = Driver.tasks = Canary.tasks = [idle]


class Shape(LoadTestShape):
    stages = ((N, 1), (N // 2, 2), (N, 3))

    def tick(self):
        t = self.get_run_time()
        for n, stage in self.stages:
            if t < stage * STAGE_S:
                Car.fixed_count = Driver.fixed_count = n
                Canary.fixed_count = 2
                return (2 * n + 2, 500, [Canary, Car, Driver])
        return None
