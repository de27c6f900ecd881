"""Issue 27, MQTT trust, the run's side: ``fleetchaos run`` gives the broker it starts a
password for every car the run may use and an ACL, hands the fleet secret to Locust and
the backend a password of its own; a broker of one's own without the fleet secret stops
the run at the preflight check with one line naming what is missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from fleetchaos import mqtt_broker
from fleetchaos.common.mqtt_credentials import (
    BACKEND_USER,
    MONITOR_USER,
    SECRET_ENV,
    car_password,
    derived_password,
    monitor_credentials,
)
from fleetchaos.mqtt_broker.access import fleet_access

from .conftest import needs_mosquitto

SECRET = "test-fleet-secret"


@pytest.fixture
def fleet_broker(tmp_path) -> Iterator[Any]:
    cars = {vin: car_password(vin, SECRET) for vin in ("5YJ3E1EA7KF000001",)}
    access = fleet_access(cars, (BACKEND_USER, "pw"), monitor_credentials(SECRET))
    with mqtt_broker.run_in_subprocess(tmp_path / "broker", access=access) as b:
        yield b


def test_a_run_broker_knows_every_car_the_run_may_use_and_hands_out_secrets_apart(monkeypatch):
    from fleetchaos.fleet_sim.identities import CANARY_INDEX_BASE, MAX_CANARIES, identity
    from fleetchaos.runs.broker_access import fleet_indices, run_broker_access
    from fleetchaos.scenarios.loader import load_scenario

    scenario = load_scenario("mqtt-verbosity-flood",
                             overrides=["fleet.cars=40", "fleet.drivers=25"])
    assert fleet_indices(scenario) == list(range(40)) + [CANARY_INDEX_BASE + k
                                                        for k in range(MAX_CANARIES)]
    monkeypatch.setenv(SECRET_ENV, SECRET)
    run = run_broker_access(scenario, 7)
    vins = [identity(7, i, {}).vin for i in range(40)]
    assert all(run.access.users[v] == car_password(v, SECRET) for v in vins)
    assert len(run.access.users) == 40 + MAX_CANARIES + 2
    assert run.locust_env == {SECRET_ENV: SECRET}
    user, password = run.backend
    assert user == BACKEND_USER and run.access.users[user] == password
    assert password != derived_password(SECRET, BACKEND_USER)  # not the fleet's to derive
    assert run.access.users[MONITOR_USER] == derived_password(SECRET, MONITOR_USER)
    assert run.access.username_as_client_id
    acl = run.access.acl or ""
    assert re.search(r"^pattern write fleet/%u/state$", acl, re.M)
    assert not re.search(r"^topic (write|readwrite) fleet/\+/state", acl, re.M)
    monkeypatch.delenv(SECRET_ENV)
    assert run_broker_access(scenario, 7).locust_env[SECRET_ENV] != SECRET  # a new one


def test_a_users_step_grows_the_cars_the_broker_knows(tmp_path):
    from fleetchaos.runs.broker_access import fleet_indices
    from fleetchaos.scenarios.loader import load_scenario

    path = tmp_path / "grow.yaml"
    path.write_text("title: t\nduration: 10\nfleet: {cars: 5, drivers: 3, profile: reference-mqtt}\n"
                    "proxies: {api: backend, telemetry: broker}\n"
                    "timeline:\n  - {at: 2, users: {cars: 12}}\n")
    assert max(i for i in fleet_indices(load_scenario(str(path))) if i < 1000) == 11


@needs_mosquitto
def test_the_preflight_names_a_missing_fleet_secret(fleet_broker, tmp_path, monkeypatch):
    """A broker of one's own that checks passwords, the reference-mqtt profile, and no
    FLEETCHAOS_MQTT_SECRET: exit 2 and one line that says what is missing."""
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "fleetchaos.cli", "run", "mqtt-verbosity-flood", "--no-live",
         "--out", str(out)], env={**env, "MQTT_URL": fleet_broker.url},
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "refused the profile's telemetry.username/password: Not authorized " \
           "({mqtt_password} is empty: FLEETCHAOS_MQTT_SECRET is not set" in lines[0]
    assert not list(out.glob("*.journal.jsonl"))
