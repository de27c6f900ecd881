"""The run's MQTT credentials, for the broker ``fleetchaos run`` starts (issue 27).

The broker (``mqtt_broker.access``) needs every user it will let in before it starts:
each car the run may use (its VIN, its password under the run's fleet secret), the
backend's consumer and the ``$SYS`` monitor. The cars are the identities the fleet
registers with the backend (indices below the largest ``cars``/``drivers`` of the
scenario, its ``users`` steps included) and the canaries' reserved identities; the
same seed gives the same VINs in the Locust process (``fleet_sim.identities``).
Scenarios give no upper bound to ``users`` steps other than the schema's, so a run
with 10,000 cars writes 10,000 password hashes (PBKDF2, about 0.1 ms each) first.

Who gets what: the Locust process the fleet secret (``FLEETCHAOS_MQTT_SECRET``, from
which it derives each car's password and the monitor's), the backend its own user and
a random password of its own, both through their environment (``Services``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetchaos.common.mqtt_credentials import (
    BACKEND_USER,
    SECRET_ENV,
    car_password,
    fleet_secret,
    monitor_credentials,
    new_secret,
)
from fleetchaos.mqtt_broker.access import BrokerAccess, fleet_access
from fleetchaos.scenarios.schema import Scenario

DEFAULT_FLEET = 100  # LocustFleet's default cars and drivers (locust_app/run_setup.py)


@dataclass(frozen=True)
class RunBrokerAccess:
    """What the run's broker is given, and what the run hands to its children."""

    access: BrokerAccess
    backend: tuple[str, str]  # the consumer's (user, password): its environment
    locust_env: dict[str, str] = field(default_factory=dict)  # the fleet secret


def fleet_indices(scenario: Scenario) -> list[int]:
    """The identity indices the run's cars may use: the fleet the set-up registers (it
    registers max(cars, drivers)), grown by any ``users`` step, and every canary identity
    a scenario may ask for (``fleet.canary.count`` is at most 10)."""
    from fleetchaos.fleet_sim.identities import CANARY_INDEX_BASE, MAX_CANARIES

    fleet = scenario.fleet
    size = max(int(fleet.get("cars", DEFAULT_FLEET)), int(fleet.get("drivers", DEFAULT_FLEET)))
    for step in scenario.timeline:
        if step.action == "users":
            spec: Any = step.spec
            size = max(size, spec.cars or 0, spec.drivers or 0)
    return list(range(size)) + [CANARY_INDEX_BASE + k for k in range(MAX_CANARIES)]


def run_broker_access(scenario: Scenario, seed: int) -> RunBrokerAccess:
    """Credentials and ACL for the run's own broker: the fleet secret is the environment's
    ``FLEETCHAOS_MQTT_SECRET`` when set, else a new one; the backend's password is new."""
    from fleetchaos.fleet_sim.identities import identity

    secret = fleet_secret() or new_secret()
    cars = {}
    for index in fleet_indices(scenario):
        vin = identity(seed, index, {}).vin  # the VIN does not depend on the fallbacks
        cars[vin] = car_password(vin, secret)
    backend = (BACKEND_USER, new_secret())
    access = fleet_access(cars, backend, monitor_credentials(secret))
    return RunBrokerAccess(access, backend, {SECRET_ENV: secret})


__all__ = ["RunBrokerAccess", "fleet_indices", "run_broker_access"]
