"""Who is who on the run's MQTT broker: the cars, the backend's consumer, the $SYS monitor.

Each car authenticates as itself, as connected cars do (a per-device identity, checked
by the broker; AWS IoT policies and Mosquitto's ``pattern ... %u`` ACLs tie the topics a
device may use to that identity): user name = its VIN, password = an HMAC of the VIN
under the run's fleet secret. The Locust process simulates every car, so it holds that
secret (``FLEETCHAOS_MQTT_SECRET``) rather than a list of 10,000 passwords; the broker
holds only their hashes. The backend's consumer has its own user and a random password
that is not derived from the fleet's secret (``FLEETCHAOS_BACKEND_MQTT_USERNAME`` /
``..._PASSWORD``): a process holding the fleet secret cannot act as the backend. The
monitor that reads ``$SYS`` for the journal is a third user, derived from the fleet
secret because it runs in the Locust process. Secrets travel in the environment of the
children fleetchaos starts, never on a command line (which ``ps`` shows to every user).

Pure (hashlib, hmac, the placeholders): the fleet, the broker wrapper and the backend
all use it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import Any

SECRET_ENV = "FLEETCHAOS_MQTT_SECRET"  # the fleet's secret: cars' and monitor's passwords
BACKEND_USERNAME_ENV = "FLEETCHAOS_BACKEND_MQTT_USERNAME"
BACKEND_PASSWORD_ENV = "FLEETCHAOS_BACKEND_MQTT_PASSWORD"
BACKEND_USER = "fleetchaos-backend"
MONITOR_USER = "fleetchaos-monitor"
PASSWORD_VAR = "mqtt_password"  # the profile placeholder: {mqtt_password}


def new_secret() -> str:
    """A fresh secret (a run's fleet secret, the backend's password): 256 random bits."""
    return secrets.token_urlsafe(32)


def derived_password(secret: str, username: str) -> str:
    """The password of ``username`` under ``secret``: HMAC-SHA256, 128 bits in hex."""
    return hmac.new(secret.encode(), f"fleetchaos-mqtt:{username}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def fleet_secret() -> str | None:
    """The fleet secret of this process's run (``FLEETCHAOS_MQTT_SECRET``), if set."""
    return os.environ.get(SECRET_ENV) or None


def car_password(vin: str, secret: str | None = None) -> str:
    """Car ``vin``'s password: derived from ``secret`` (default: the environment's); empty
    when there is none, which a broker that checks passwords refuses (the preflight
    check names the missing variable)."""
    secret = secret if secret is not None else fleet_secret()
    return derived_password(secret, vin) if secret else ""


def connect_credentials(username: str | None, password: str | None,
                        variables: dict[str, Any]) -> tuple[str, str | None] | None:
    """A car's (user, password) for CONNECT from a profile's ``telemetry.username`` and
    ``password`` templates; ``{mqtt_password}`` is its password under the fleet secret."""
    from fleetchaos.common.placeholders import render

    if username is None:
        return None
    if PASSWORD_VAR not in variables and "{" + PASSWORD_VAR + "}" in f"{username}{password}":
        variables = {**variables, PASSWORD_VAR: car_password(str(variables.get("vin", "")))}
    return (str(render(username, variables)),
            None if password is None else str(render(password, variables)))


def monitor_credentials(secret: str | None = None) -> tuple[str, str] | None:
    """(user, password) of the $SYS monitor, or None without a fleet secret (anonymous)."""
    secret = secret if secret is not None else fleet_secret()
    return (MONITOR_USER, derived_password(secret, MONITOR_USER)) if secret else None


__all__ = ["BACKEND_PASSWORD_ENV", "BACKEND_USER", "BACKEND_USERNAME_ENV", "MONITOR_USER",
           "PASSWORD_VAR", "SECRET_ENV", "car_password", "connect_credentials",
           "derived_password", "fleet_secret", "monitor_credentials", "new_secret"]
