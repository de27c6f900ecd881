"""The car's MQTT link against a real Mosquitto, under gevent's monkey-patching as in Locust.

Pinned behaviours: paho-mqtt 2.x keeps unacknowledged QoS 1 messages and sends them
again after a reconnect; MQTT 3.1.1 section 3.1.2.5: the broker publishes the Will
when the network connection closes without DISCONNECT; section 3.1.2.4: with
CleanSession=0 the broker keeps the session's QoS 1 messages for a reconnecting client.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DRIVER = Path(__file__).parent / "car_link_driver.py"


def drive(broker_url: str, case: str, protocol: str = "3.1.1", qos: int = 1,
          *creds: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(DRIVER), broker_url, case, protocol, str(qos),
                           *creds], capture_output=True, text=True, timeout=90,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_telemetry_acked_by_puback_commands_answered_and_the_last_will(broker, protocol):
    out = drive(broker.url, "basic", protocol, 1)
    assert out["connected"] is True
    assert out["written"] == []  # QoS 1: nothing counts as acked until its PUBACK
    assert out["acks"] == list(range(1, 11))
    assert out["commands"][0]["command"] == "unlock"
    seen = out["seen"]
    assert sum(1 for t, _ in seen if t == "fleet/VIN0001/telemetry") == 10
    assert ["fleet/VIN0001/reply", {"type": "command_ack", "id": "c1", "result": True,
                                    "reason": ""}] in seen
    assert ["fleet/VIN0001/state", {"type": "state", "state": "online"}] in seen
    assert ["fleet/VIN0001/state", {"type": "state", "state": "offline"}] in seen  # the Will
    stats = {(kind, name) for kind, name, ok in out["stats"] if ok}
    assert {("MQTT", "mqtt_connect"), ("MQTT", "command")} <= stats


def test_qos0_counts_a_record_acked_once_written(broker):
    out = drive(broker.url, "basic", "3.1.1", 0)
    assert out["written"] == list(range(1, 11)) and out["acks"] == []


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_persistent_session_gets_the_command_sent_while_it_was_away(broker, protocol):
    out = drive(broker.url, "persistent", protocol, 1)
    assert out["first"] is True and out["again"] is True
    assert [c["id"] for c in out["commands"]] == ["while-away"]


def test_four_hundred_cars_in_one_gevent_process_connect_and_get_acked(broker):
    """One greenlet per car runs paho's loop; 400 cars hold 1,200 descriptors, past
    select()'s FD_SETSIZE of 1024: paho's own loop() failed a third of 500 cars with
    'The connection was lost'; waiting in gevent's poll has no such limit."""
    out = drive(broker.url, "many")
    assert out["connected"] == 400 and out["acked"] == 400
    assert out["seconds"] < 60  # generous: about 1 s here


def test_bad_credentials_fail_mqtt_connect_with_the_brokers_reason(tmp_path):
    from fleetchaos import mqtt_broker

    from .conftest import needs_mosquitto

    if needs_mosquitto.args[0]:
        pytest.skip(needs_mosquitto.kwargs["reason"])
    with mqtt_broker.run_in_subprocess(tmp_path / "b", users={"car": "right"}) as b:
        ok = drive(b.url, "auth", "3.1.1", 1, "car", "right")
        assert ok["connected"] is True
        bad = drive(b.url, "auth", "3.1.1", 1, "car", "wrong")
    assert bad["connected"] is False
    [(name, reason)] = bad["stats"]
    assert name == "mqtt_connect" and "Not authorized" in reason
