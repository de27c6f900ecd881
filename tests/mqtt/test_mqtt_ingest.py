"""The reference backend as an MQTT ingestion service (`--mqtt-url`), against Mosquitto:
a car's QoS 1 records are stored through the shared pool and acked to the broker only
then; an unlock reaches the car through the broker and its reply answers the API; the
car's Last Will takes it offline (408); bad options are one line and exit 2."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest
import requests
from paho.mqtt.enums import CallbackAPIVersion

from fleetchaos.common.child_process import ChildProcessError

VIN = "5YJ3E1EA7KF000001"


def _wait(predicate, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def ingesting_backend(broker, tmp_path):
    from fleetchaos import reference_backend

    db = tmp_path / "backend.db"
    child = reference_backend.run_in_subprocess(db_path=str(db), admin_token="adm",
                                                mqtt_url=broker.url, mqtt_inflight=4,
                                                mqtt_batch=5)
    try:
        yield child, db
    finally:
        child.stop()


def _register_and_login(url: str) -> tuple[dict[str, str], int]:
    requests.post(f"{url}/admin/fleet", headers={"X-Admin-Token": "adm"}, timeout=10,
                  json={"vehicles": [{"vin": VIN, "owner_email": "o@example.com",
                                      "owner_password": "pw", "car_token": "ct"}]}
                  ).raise_for_status()
    token = requests.post(f"{url}/oauth/token", timeout=10,
                          json={"grant_type": "password", "email": "o@example.com",
                                "password": "pw"}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    vid = requests.get(f"{url}/api/1/vehicles", headers=auth, timeout=10).json()["response"][0]["id"]
    return auth, vid


class Car:
    """A plain paho car (threaded): answers commands, says online, leaves a Will."""

    def __init__(self, port: int) -> None:
        # Only our own lock guards these, and it is never held while paho is called: paho runs
        # on_publish holding its own message lock, so publishing under ours deadlocked (seen in
        # CI: the loop thread waiting for our lock, the test waiting for paho's, for 300 s).
        self.lock = threading.Lock()
        self.puback_mids: set[int] = set()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"car-{VIN}")
        self.client.will_set(f"fleet/{VIN}/state", json.dumps({"type": "state",
                                                                 "state": "offline"}), 1, True)
        self.client.on_message = self._command
        self.client.on_publish = self._puback
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.subscribe(f"fleet/{VIN}/command", 1)
        self.client.loop_start()
        self.mids: dict[int, int] = {}

    @property
    def acked(self) -> list[int]:
        """The records the broker acknowledged (a PUBACK can come before publish returns)."""
        with self.lock:
            return sorted(seq for mid, seq in self.mids.items() if mid in self.puback_mids)

    def _command(self, client, userdata, message) -> None:
        cmd = json.loads(message.payload)
        client.publish(f"fleet/{VIN}/reply", json.dumps(
            {"type": "command_ack", "id": cmd["id"], "result": True, "reason": ""}), qos=1)

    def _puback(self, client, userdata, mid, reason, properties) -> None:
        with self.lock:
            self.puback_mids.add(mid)

    def publish(self, seq: int) -> None:
        record = {"type": "telemetry", "seq": seq, "ts": time.time(), "is_resend": False,
                  "fields": {"soc": 50.0, "locked": True}}
        info = self.client.publish(f"fleet/{VIN}/telemetry", json.dumps(record), qos=1)
        with self.lock:
            self.mids[info.mid] = seq


def test_records_are_stored_commands_go_through_the_broker_and_the_will_takes_the_car_offline(
        ingesting_backend, broker):
    backend, db = ingesting_backend
    auth, vid = _register_and_login(backend.url)
    car = Car(broker.port)
    try:
        car.client.publish(f"fleet/{VIN}/state", json.dumps({"type": "state", "state": "online"}),
                           qos=1, retain=True)
        for seq in range(1, 31):
            car.publish(seq)
        assert _wait(lambda: len(car.acked) == 30)

        def stored() -> set[int]:
            with sqlite3.connect(db) as conn:
                return {s for (s,) in conn.execute("SELECT seq FROM telemetry WHERE vin=?",
                                                  (VIN,))}

        assert _wait(lambda: stored() == set(range(1, 31)))
        unlock = requests.post(f"{backend.url}/api/1/vehicles/{vid}/command/door_unlock",
                               headers=auth, timeout=20)
        assert unlock.status_code == 200, unlock.text
        assert unlock.json()["response"]["result"] is True
        link = car.client.socket()
        assert link is not None
        link.close()  # the link dies without DISCONNECT: the broker sends the Will

        def offline() -> bool:
            r = requests.post(f"{backend.url}/api/1/vehicles/{vid}/command/door_unlock",
                              headers=auth, timeout=20)
            return r.status_code == 408

        assert _wait(offline, 20)
    finally:
        car.client.loop_stop()


@pytest.mark.parametrize(("args", "says"), [
    (["--mqtt-url", "http://127.0.0.1:1883"], "expected mqtt://host:port"),
    (["--mqtt-url", "mqtt://192.0.2.1:1883"], "not on loopback"),
    (["--mqtt-url", "mqtt://127.0.0.1:1883", "--mqtt-inflight", "0"], "--mqtt-inflight must be"),
    (["--mqtt-url", "mqtt://127.0.0.1:1883", "--mqtt-batch", "5000"], "--mqtt-batch must be"),
])
def test_bad_mqtt_options_are_one_line_and_exit_2(args, says):
    proc = subprocess.run([sys.executable, "-m", "fleetchaos.reference_backend", "--port", "0",
                           *args], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr


def test_an_unreachable_broker_stops_the_backend_with_one_line(tmp_path):
    import socket

    from fleetchaos import reference_backend

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ChildProcessError, match=f"MQTT broker mqtt://127.0.0.1:{port} "
                                                "unreachable"):
        reference_backend.run_in_subprocess(db_path=str(tmp_path / "b.db"),
                                            mqtt_url=f"mqtt://127.0.0.1:{port}")
