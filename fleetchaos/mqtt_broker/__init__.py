"""The run's MQTT broker: Mosquitto (Debian's package) started as a child process.

Mosquitto cannot listen on port 0 and say which port it got, and it prints no
readiness line, so the parent picks a free loopback port, writes a config for it
(listener on 127.0.0.1 only, persistence only inside the run folder, ``$SYS`` every
second), starts ``mosquitto -c`` with the same log and parent-death rules as the other
children (:mod:`fleetchaos.common.child_process`), and calls it ready once an MQTT
CONNECT is answered. It is stopped by its PID like every other child.

``MQTT_URL`` points a run at a broker the user already runs instead (loopback-checked
like ``TOXIPROXY_URL``); see :func:`parse_mqtt_url`.
"""

from __future__ import annotations

from fleetchaos.common.mqtt_url import MqttAddress, parse_mqtt_url
from fleetchaos.mqtt_broker.process import (
    BrokerProcess,
    BrokerUnavailable,
    find_mosquitto,
    run_in_subprocess,
)

__all__ = ["BrokerProcess", "BrokerUnavailable", "MqttAddress", "find_mosquitto",
           "parse_mqtt_url", "run_in_subprocess"]
