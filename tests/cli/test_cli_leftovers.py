"""A new run removes only the faults of dead runs, never a live run's (issue 17 item 3)."""

from __future__ import annotations

import subprocess
import sys

import requests

from fleetchaos.scenarios.fault_control import FaultControl, new_run_id, owner_of


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_run_ids_name_their_owner():
    run_id = new_run_id(pid=4242)
    owner = owner_of(f"fc-{run_id}-api")
    assert owner is not None and owner.pid == 4242 and owner.run_id == run_id
    assert owner_of("fc-dead0001-3-latency") is None  # no owner process in the marker: not ours
    assert owner_of("theirs") is None


def test_sweep_removes_dead_runs_and_keeps_live_and_foreign_ones(toxiproxy):
    api = toxiproxy.url
    dead = new_run_id(pid=dead_pid())
    live = new_run_id()  # this test process: alive
    foreign = "0123abcd.1.othermachine"
    mine = new_run_id()
    for run in (dead, live, foreign, mine):
        resp = requests.post(f"{api}/proxies", json={"name": f"fc-{run}-api",
                                                     "upstream": "127.0.0.1:9",
                                                     "listen": "127.0.0.1:0"}, timeout=5)
        assert resp.status_code == 201, resp.text
    requests.post(f"{api}/proxies", json={"name": "theirs", "upstream": "127.0.0.1:9",
                                          "listen": "127.0.0.1:0"}, timeout=5)
    for run in (dead, live):
        resp = requests.post(f"{api}/proxies/theirs/toxics",
                             json={"name": f"fc-{run}-3-latency", "type": "latency",
                                   "attributes": {"latency": 10}}, timeout=5)
        assert resp.status_code == 200, resp.text

    sweep = FaultControl(api).sweep_dead(keep_run=mine)

    assert sorted(sweep.removed) == sorted([f"fc-{dead}-api", f"theirs/fc-{dead}-3-latency"])
    assert "in progress" in sweep.kept[live] and "another machine" in sweep.kept[foreign]
    left = set(requests.get(f"{api}/proxies", timeout=5).json())
    assert left == {f"fc-{live}-api", f"fc-{foreign}-api", f"fc-{mine}-api", "theirs"}
    toxics = [t["name"] for t in requests.get(f"{api}/proxies/theirs/toxics", timeout=5).json()]
    assert toxics == [f"fc-{live}-3-latency"]
