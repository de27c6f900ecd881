"""One injection per route (issue 22): actions of an http_error fault that resolve to the
same method and path share one toxic, so the share asked is the share delivered.

A headless CMS answers unlock and remote_start on the same `POST /items/commands`; the
storm's 40 % became two identical toxics there and answered 1 - 0.6^2 = 64 % of the
commands. Here the step runs against the real built-in Toxiproxy (through FaultControl)
in front of a real HTTP server, with the profile read from a file."""

from __future__ import annotations

import http.client
import http.server
import math
from pathlib import Path

import pytest
from engine_fakes import FakeBackend, FakeFleet

from fleetchaos.fleet_sim.profiles import load_profile
from fleetchaos.scenarios.fault_control import FaultControl
from fleetchaos.scenarios.steps.base import StepEnv
from fleetchaos.scenarios.steps.http_error import HttpErrorStep
from fleetchaos.scenarios.steps.targeting import ProfileTargets

CMS_PROFILE = """\
name: cms
description: a headless CMS where every command is one route
actions:
  unlock: {method: POST, path: /items/commands, json: {command: unlock, vin: "{vin}"}}
  remote_start: {method: POST, path: /items/commands, json: {command: start, vin: "{vin}"}}
  vehicle_data: {method: GET, path: "/items/cars/{vin}"}
telemetry: {transport: http, path: /items/telemetry}
"""
REQUESTS = 1000
SHARE = 0.4


def test_two_actions_on_one_route_keep_the_asked_share(toxiproxy, upstream, tmp_path: Path):
    profile_path = tmp_path / "cms.yaml"
    profile_path.write_text(CMS_PROFILE)
    faults = FaultControl(toxiproxy.url)
    listen = faults.create_proxy("fc-route-api", upstream)
    env = StepEnv(faults=faults, fleet=FakeFleet(), backend=FakeBackend(),
                  targets=ProfileTargets(load_profile(str(profile_path))),
                  proxy_names={"api": "fc-route-api", "telemetry": "fc-route-api"},
                  marker="fc-route-", knob_baseline={})
    step = HttpErrorStep(actions=("unlock", "remote_start"), share=SHARE, status=500)
    applied = step.apply(env, "0")
    try:
        host, port = listen.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        statuses = []
        for i in range(REQUESTS):  # headers and body in one send: no Nagle/delayed-ack stall
            conn.request("POST", "/items/commands", body=b'{"n": %d}' % i,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
        conn.close()
        assert applied.measure is not None
        effect = applied.measure()
    finally:
        assert applied.undo is not None
        applied.undo()
        faults.delete_proxy("fc-route-api")
    share = statuses.count(500) / REQUESTS
    sigma = math.sqrt(SHARE * (1 - SHARE) / REQUESTS)  # 0.0155 at 1,000 requests
    assert abs(share - SHARE) < 4 * sigma, share  # two toxics: 0.64, fifteen sigmas off
    assert len(applied.names) == 1  # one toxic for the one route (was two)
    assert effect.count == statuses.count(500)
    delivery = effect.delivery
    assert delivery is not None and delivery.unit == "share" and delivery.asked == SHARE
    assert delivery.injections is not None
    assert delivery.delivered == pytest.approx(share, abs=1e-3)  # injected / matched
    assert [i["actions"] for i in delivery.injections] == [["unlock", "remote_start"]]
    assert delivery.injections[0]["method"] == "POST"
    assert delivery.injections[0]["path"] == "/items/commands"


def test_a_fault_on_one_action_names_the_others_its_route_catches(tmp_path: Path):
    """A fault on unlock alone also hits remote_start on this backend: the journal says so."""
    profile_path = tmp_path / "cms.yaml"
    profile_path.write_text(CMS_PROFILE)
    targets = ProfileTargets(load_profile(str(profile_path)))

    class Faults:
        added: list[str] = []

        def add_toxic(self, proxy: str, name: str, *args: object, **kw: object) -> None:
            self.added.append(name)

        def remove_toxic(self, proxy: str, name: str) -> None:
            pass

    env = StepEnv(faults=Faults(), fleet=FakeFleet(), backend=FakeBackend(),  # type: ignore[arg-type]
                  targets=targets, proxy_names={"api": "p", "telemetry": "t"},
                  marker="fc-x-", knob_baseline={})
    applied = HttpErrorStep(actions=("unlock",), share=0.4).apply(env, "3")
    assert applied.detail["routes"][0]["actions"] == ["unlock"]
    assert applied.detail["routes"][0]["also"] == ["remote_start"]
    assert applied.names == ("fc-x-3-http_error-unlock",)
