"""Before the fleet starts: does the broker answer, and does it accept a car's credentials?

One synchronous CONNECT (paho, no gevent: this runs in the CLI's process) with the
profile's settings for the first car; the answer becomes one line for exit code 2.
"""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fleetchaos.common.mqtt_credentials import (
    PASSWORD_VAR,
    SECRET_ENV,
    connect_credentials,
    fleet_secret,
)
from fleetchaos.common.mqtt_url import parse_mqtt_url

TIMEOUT_S = 5.0


class BrokerCheckFailed(RuntimeError):
    """The broker is unreachable or refused the car: the message is the one line to print."""


def check_broker(url: str, settings: Any | None = None, variables: dict[str, Any] | None = None,
                 *, timeout_s: float = TIMEOUT_S) -> None:
    """CONNECT as a car would (``settings``: the profile's MqttSettings) and DISCONNECT."""
    address = parse_mqtt_url(url, what="MQTT broker")
    variables = variables or {}
    v5 = settings is not None and settings.protocol == "5"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fleetchaos-preflight",
                         protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
    client.connect_timeout = timeout_s
    credentials = None if settings is None else connect_credentials(
        settings.username, settings.password, variables)
    if credentials is not None:
        client.username_pw_set(*credentials)
    if settings is not None and settings.tls:
        client.tls_set(ca_certs=settings.tls.get("ca"), certfile=settings.tls.get("cert"),
                       keyfile=settings.tls.get("key"))
    answer: dict[str, Any] = {}
    done = threading.Event()

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                   properties: Any) -> None:
        answer["reason"] = reason
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(address.host, address.port, keepalive=10)
    except OSError as exc:
        raise BrokerCheckFailed(f"MQTT broker {address.url} is unreachable: "
                                f"{exc.strerror or exc}") from None
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            raise BrokerCheckFailed(f"MQTT broker {address.url} did not answer CONNECT "
                                    f"within {timeout_s:.0f} s")
        reason = answer["reason"]
        if reason.is_failure:
            who = "the profile's telemetry.username/password" if credentials is not None \
                else "an anonymous car"
            hint = ""
            if settings is not None and credentials is not None and fleet_secret() is None \
                    and "{" + PASSWORD_VAR + "}" in f"{settings.username}{settings.password}":
                hint = f" ({{{PASSWORD_VAR}}} is empty: {SECRET_ENV} is not set; docs/mqtt.md)"
            raise BrokerCheckFailed(f"MQTT broker {address.url} refused {who}: {reason}{hint}")
        client.disconnect()
    finally:
        client.loop_stop()
