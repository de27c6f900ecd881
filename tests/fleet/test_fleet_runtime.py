"""Two Locust Environments in one process each keep their own fleet runtime
(fleet_sim/runtime.py): config and knob listeners, counters, identity pools, profiles.

The Environments run real cars and drivers (real Locust LocalRunners under gevent)
against the real reference backend on loopback. They run in a child process because
importing Locust monkey-patches the interpreter, which must not leak into pytest's own.
With the old module globals both fleets counted into one object, so each reported the
other's cars, and the second fleet's cars took indices after the first fleet's (outside
the cars it registered).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r'''
import json
import sys
import time

import gevent
from locust.env import Environment

from fleetchaos.fleet_sim import knobs, stats
from fleetchaos.fleet_sim.locust_users import CarUser, DriverUser
from fleetchaos.fleet_sim.registration import register_fleet
from fleetchaos.fleet_sim.runtime import FleetRuntime, runtime_of

url, out = sys.argv[1], sys.argv[2]
CarUser.fixed_count = DriverUser.fixed_count = 0  # weighted: each runner spawns its own mix


def fleet(classes, seed, cars, drivers):
    env = Environment(user_classes=classes, host=url)
    env.create_local_runner()
    stats.install(env)
    knobs.install(env)
    knobs.broadcast(env, {
        "seed": seed, "cars": cars, "drivers": drivers, "api_url": url,
        "telemetry_url": url, "admin_url": url, "admin_token": "test-admin-token",
        "need_interval_s": 1.5, "patience_s": 10,
        "telemetry": {"interval_s": 0.3, "asleep_share": 0.0}})
    register_fleet(knobs.current(env))
    return env


a = fleet([CarUser, DriverUser], seed=101, cars=2, drivers=2)
b = fleet([CarUser], seed=202, cars=5, drivers=0)
heard = {"a": [], "b": []}
knobs.on_change(a, lambda config: heard["a"].append(config.verbosity))
knobs.on_change(b, lambda config: heard["b"].append(config.verbosity))
a.runner.start(4, 100)
b.runner.start(5, 100)


def done():
    sa, sb = stats.snapshot(a), stats.snapshot(b)
    return (sa["cars_connected"] >= 2 and sb["cars_connected"] >= 5
            and sa["telemetry_acked"] >= 10 and sb["telemetry_acked"] >= 25
            and sum(sa["accessed"].values()) + sa["stranded"] >= 1)


deadline = time.monotonic() + 60
while not done() and time.monotonic() < deadline:
    gevent.sleep(0.2)
knobs.broadcast(a, {"verbosity": 10})
users = {name: sorted((type(g.args[0]).__name__, g.args[0].index)
                      for g in env.runner.user_greenlets)
         for name, env in (("a", a), ("b", b))}
connect_failures = {name: env.stats.get("telemetry_connect", "WS").num_failures
                    for name, env in (("a", a), ("b", b))}
snap = {"a": stats.snapshot(a), "b": stats.snapshot(b)}
a.runner.quit()
b.runner.quit()
later = Environment(user_classes=[CarUser], host=url)
later.create_local_runner()
json.dump({
    "snapshot": snap, "users": users, "connect_failures": connect_failures, "heard": heard,
    "verbosity": {"a": knobs.current(a).verbosity, "b": knobs.current(b).verbosity},
    "seed": {"a": knobs.current(a).seed, "b": knobs.current(b).seed},
    "same_runtime": runtime_of(a) is runtime_of(b),
    "attached_once": runtime_of(a) is runtime_of(a) and isinstance(a.fleetchaos_runtime,
                                                                   FleetRuntime),
    "same_profile": runtime_of(a).profiles["reference"] is runtime_of(b).profiles["reference"],
    "later": stats.snapshot(later), "later_seed": knobs.current(later).seed,
}, open(out, "w"))
'''


@pytest.mark.slow
def test_two_environments_in_one_process_keep_separate_runtimes(backend, tmp_path: Path):
    script = tmp_path / "two_fleets.py"
    script.write_text(CHILD)
    result = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, str(script), backend.url, str(result)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=150,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and result.exists(), proc.stderr[-3000:]
    out = json.loads(result.read_text())
    a, b = out["snapshot"]["a"], out["snapshot"]["b"]

    # counters: each fleet counts only its own users
    assert (a["cars_total"], a["cars_connected"]) == (2, 2)
    assert (b["cars_total"], b["cars_connected"]) == (5, 5)
    assert a["telemetry_acked"] >= 10 and b["telemetry_acked"] >= 25
    assert sum(a["accessed"].values()) + a["stranded"] >= 1 and a["drivers_needing"] >= 1
    assert b["drivers_needing"] == 0 and sum(b["accessed"].values()) == 0 == b["stranded"]
    assert "unlock" not in b["status_by_action"] and b["keepalive_retries"] == 0

    # identity pools: each fleet's users take the indices it registered, from 0
    assert out["users"]["a"] == [["CarUser", 0], ["CarUser", 1],
                                 ["DriverUser", 0], ["DriverUser", 1]]
    assert out["users"]["b"] == [["CarUser", i] for i in range(5)]
    assert out["connect_failures"] == {"a": 0, "b": 0}

    # knobs: a change to one fleet reaches its listeners and config only
    assert out["verbosity"] == {"a": 10, "b": 1}  # b keeps the default
    assert out["heard"]["a"][-1] == 10 and 10 not in out["heard"]["b"]
    assert out["seed"] == {"a": 101, "b": 202}

    # one runtime per environment, attached once; profiles loaded per runtime
    assert not out["same_runtime"] and out["attached_once"] and not out["same_profile"]

    # an environment made after the first runs starts from zero and the default config
    later = out["later"]
    assert later["cars_total"] == later["telemetry_sent"] == later["drivers_needing"] == 0
    assert later["status_by_action"] == {} and out["later_seed"] == 2021  # FleetConfig's
