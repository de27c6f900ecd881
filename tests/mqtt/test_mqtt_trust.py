"""Issue 27, MQTT trust: nothing anonymous, and no other car, can steer a car through the
broker; the MQTT record limit is the HTTP and WebSocket one.

Before: with the backend's MQTT ingestion on, an anonymous client publishing
``{"state": "offline"}`` to ``fleet/<VIN>/state`` cut a WebSocket-connected car's command
link (unlocks answered 408 while its socket was open), a forged ``online`` then gave 504
after 10 s, and a 10 MiB record published over MQTT was stored where HTTP and the
WebSocket refuse past 64 KiB. Now the run's broker refuses anonymous clients and its ACL
lets a car publish only its own topics (Mosquitto's ``password_file``, ``acl_file`` with
``pattern ... %u``, ``use_username_as_clientid``: mqtt_broker/access.py); the consumer
lets a broker state govern only a broker channel (a WebSocket link wins) and refuses,
unparsed and counted, a message past ``--max-telemetry-bytes``. Real Mosquitto, a real
backend, real sockets; every wait polls with a deadline.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests
import websocket
from paho.mqtt.enums import CallbackAPIVersion

from fleetchaos import mqtt_broker, reference_backend
from fleetchaos.common.child_process import ChildProcessError
from fleetchaos.common.mqtt_credentials import (
    BACKEND_USER,
    MONITOR_USER,
    car_password,
    derived_password,
    monitor_credentials,
)
from fleetchaos.mqtt_broker.access import fleet_access, password_line
from fleetchaos.mqtt_broker.process import MAX_PACKET_BYTES, RECORD_LIMIT_BYTES

from .conftest import needs_mosquitto

pytestmark = needs_mosquitto
SECRET = "test-fleet-secret"
ADMIN = {"X-Admin-Token": "adm"}
CAR_A, CAR_B = "5YJ3E1EA7KF000001", "5YJ3E1EA7KF000002"
BACKEND = (BACKEND_USER, "backend-password")


def wait_until(pred: Callable[..., Any], timeout_s: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s:.0f} s")
        time.sleep(0.05)


def fleet_broker_access() -> Any:
    cars = {vin: car_password(vin, SECRET) for vin in (CAR_A, CAR_B)}
    return fleet_access(cars, BACKEND, monitor_credentials(SECRET))


@pytest.fixture
def fleet_broker(tmp_path) -> Iterator[Any]:
    """The broker as `fleetchaos run` starts it: every user in its password file, the ACL."""
    with mqtt_broker.run_in_subprocess(tmp_path / "broker", access=fleet_broker_access()) as b:
        yield b


class World:
    """A backend consuming from ``broker``, with cars A and B registered."""

    def __init__(self, broker: Any, tmp_path: Path, credentials: tuple[str, str] | None) -> None:
        self.broker = broker
        self.db = tmp_path / "backend.db"
        self.be = reference_backend.run_in_subprocess(
            db_path=str(self.db), admin_token="adm", mqtt_url=broker.url,
            mqtt_credentials=credentials)
        self.url = self.be.url
        vehicles = [{"vin": vin, "owner_email": f"o{i}@example.com", "owner_password": "pw",
                     "car_token": f"token-{vin}"} for i, vin in enumerate((CAR_A, CAR_B))]
        ids = requests.post(f"{self.url}/admin/fleet", json={"vehicles": vehicles},
                            headers=ADMIN, timeout=30).json()["vehicles"]
        self.vid = {v["vin"]: v["id"] for v in ids}
        token = requests.post(f"{self.url}/oauth/token", timeout=30, json={
            "grant_type": "password", "email": "o0@example.com",
            "password": "pw"}).json()["access_token"]
        self.auth = {"Authorization": f"Bearer {token}"}

    def unlock_a(self) -> int:
        return requests.post(f"{self.url}/api/1/vehicles/{self.vid[CAR_A]}/command/door_unlock",
                             headers=self.auth, timeout=30).status_code

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/admin/stats", headers=ADMIN, timeout=30).json()

    def stored(self, vin: str) -> set[int]:
        with sqlite3.connect(self.db) as conn:
            return {s for (s,) in conn.execute("SELECT seq FROM telemetry WHERE vin=?", (vin,))}


@pytest.fixture
def trusted(fleet_broker, tmp_path) -> Iterator[World]:
    world = World(fleet_broker, tmp_path, BACKEND)
    try:
        yield world
    finally:
        world.be.stop()


@pytest.fixture
def open_broker_world(tmp_path) -> Iterator[World]:
    """A broker of a user's own with no ACL and no size limit (anonymous, 32 MiB packets):
    what the backend's own rules must hold against."""
    with mqtt_broker.run_in_subprocess(tmp_path / "broker", max_packet_size=32 << 20) as b:
        world = World(b, tmp_path, None)
        try:
            yield world
        finally:
            world.be.stop()


class WsCar:
    """Car A on the backend's WebSocket, answering every command."""

    def __init__(self, url: str, vin: str) -> None:
        self.ws = websocket.create_connection(
            url.replace("http://", "ws://") + f"/api/1/streaming/{vin}",
            header=[f"Authorization: Bearer token-{vin}"], timeout=30)
        self.ws.send(json.dumps({"type": "state", "state": "online"}))
        self.reader = threading.Thread(target=self._answer, daemon=True)
        self.reader.start()

    def _answer(self) -> None:
        while True:
            try:
                msg = json.loads(self.ws.recv())
            except (OSError, websocket.WebSocketException, ValueError):
                return
            if msg.get("type") == "command":
                self.ws.send(json.dumps({"type": "command_ack", "id": msg["id"],
                                         "result": True, "reason": ""}))

    def close(self) -> None:
        self.ws.close()


class Client:
    """A paho client (its own network thread) that records what happens to it."""

    def __init__(self, port: int, client_id: str, user: str | None = None,
                 password: str | None = None, v5: bool = False) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.connack: Any = None
        self.disconnected = threading.Event()
        self.acked: set[int] = set()
        self.received: list[tuple[str, bytes | bytearray]] = []
        self.subacks = 0
        self.client.on_subscribe = lambda c, u, mid, codes, p: setattr(self, "subacks",
                                                                        self.subacks + 1)
        self.client.on_connect = lambda c, u, f, reason, p: setattr(self, "connack", reason)
        self.client.on_disconnect = lambda c, u, f, reason, p: self.disconnected.set()
        self.client.on_publish = lambda c, u, mid, reason, p: self.acked.add(mid)
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        wait_until(lambda: self.connack is not None, what="CONNACK")

    def subscribe(self, topics: list[tuple[str, int]]) -> None:
        """Subscribe and wait for the SUBACK (Mosquitto 2.0 grants every filter; its ACL
        decides per message what is delivered)."""
        before = self.subacks
        self.client.subscribe(topics)
        wait_until(lambda: self.subacks > before, what="SUBACK")

    def publish(self, topic: str, payload: Any, retain: bool = False) -> int:
        body = payload if isinstance(payload, bytes) else json.dumps(payload)
        return int(self.client.publish(topic, body, qos=1, retain=retain).mid)

    def published(self, mid: int) -> bool:
        return mid in self.acked

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def car(port: int, vin: str, v5: bool = False) -> Client:
    return Client(port, f"car-{vin}", vin, car_password(vin, SECRET), v5=v5)


def car_b_online_seen(world: World, car_b: Client) -> None:
    """A message B may publish, through the same broker to the same consumer: once the
    backend shows B online, whatever B published before it was delivered or dropped."""
    car_b.publish(f"fleet/{CAR_B}/state", {"type": "state", "state": "online"}, retain=True)
    wait_until(lambda: world.stats()["cars"]["online"] == 2, what="car B online")


def test_anonymous_clients_are_refused_and_no_other_car_can_steer_a_car(trusted):
    world = trusted
    car_a = WsCar(world.url, CAR_A)
    car_b = car(world.broker.port, CAR_B)
    try:
        assert wait_until(lambda: world.unlock_a() == 200, what="unlock over the WebSocket")
        anonymous = Client(world.broker.port, "anonymous")
        assert anonymous.connack.is_failure and "authori" in str(anonymous.connack).lower()
        anonymous.stop()
        # Car B, authenticated as itself, forges A's state, telemetry and a command reply.
        for payload in ({"type": "state", "state": "offline"},
                        {"type": "state", "state": "online"}):
            mid = car_b.publish(f"fleet/{CAR_A}/state", payload, retain=True)
            wait_until(lambda mid=mid: car_b.published(mid), what="PUBACK")
        car_b.publish(f"fleet/{CAR_A}/telemetry", {"type": "telemetry", "seq": 77, "ts": 0})
        car_b_online_seen(world, car_b)
        assert world.unlock_a() == 200  # was 408 (offline), then 504 (online)
        mqtt_stats = world.stats()["mqtt"]
        assert mqtt_stats["received"] == 0 and mqtt_stats["state_ignored"] == 0
        assert world.stored(CAR_A) == set()
    finally:
        car_b.stop()
        car_a.close()


def test_the_acl_keeps_each_client_to_its_own_topics(fleet_broker):
    """Per topic and per user, what Mosquitto delivers under the run's ACL."""
    port = fleet_broker.port
    backend = Client(port, "backend", *BACKEND, v5=True)
    monitor = Client(port, "monitor", MONITOR_USER, derived_password(SECRET, MONITOR_USER))
    car_a, car_b = car(port, CAR_A), car(port, CAR_B)
    try:
        backend.subscribe([("$share/g/fleet/+/telemetry", 1), ("fleet/+/state", 1),
                           ("fleet/+/reply", 1)])
        monitor.subscribe([("$SYS/broker/clients/connected", 0)])
        car_a.subscribe([(f"fleet/{CAR_A}/command", 1), (f"fleet/{CAR_B}/command", 1),
                         ("$SYS/#", 0), ("fleet/+/telemetry", 1)])
        wait_until(lambda: monitor.received, what="$SYS for the monitor")
        backend.publish(f"fleet/{CAR_B}/command", {"id": "x"})
        backend.publish(f"fleet/{CAR_A}/command", {"id": "to-a"})
        car_b.publish(f"fleet/{CAR_B}/telemetry", {"seq": 1})
        car_b.publish(f"fleet/{CAR_A}/state", {"state": "offline"})
        car_b.publish(f"fleet/{CAR_B}/command", {"id": "self-made"})  # a car cannot command
        car_b.publish(f"fleet/{CAR_B}/state", {"state": "online"})
        wait_until(lambda: (f"fleet/{CAR_B}/state", b'{"state": "online"}') in backend.received,
                   what="car B's own state at the backend")
        wait_until(lambda: any(t == f"fleet/{CAR_A}/command" for t, _ in car_a.received),
                   what="car A's command")
        topics_at_backend = [t for t, _ in backend.received]
        assert topics_at_backend == [f"fleet/{CAR_B}/telemetry", f"fleet/{CAR_B}/state"]
        assert [t for t, _ in car_a.received] == [f"fleet/{CAR_A}/command"]
        # Another car's user cannot take car A's session (client ids are user names).
        thief = Client(port, f"car-{CAR_A}", CAR_B, car_password(CAR_B, SECRET))
        assert not thief.connack.is_failure
        car_a.publish(f"fleet/{CAR_A}/telemetry", {"seq": 2})
        wait_until(lambda: (f"fleet/{CAR_A}/telemetry", b'{"seq": 2}') in backend.received,
                   what="car A still publishing")
        assert not car_a.disconnected.is_set()
        thief.stop()
        wrong = Client(port, "w", CAR_A, car_password(CAR_A, "another run's secret"))
        assert wrong.connack.is_failure
        wrong.stop()
    finally:
        for c in (backend, monitor, car_a, car_b):
            c.stop()


def test_a_car_on_the_websocket_is_not_steered_by_broker_state_even_without_an_acl(
        open_broker_world):
    """A broker without ACLs lets anyone publish anywhere; the backend's own rule still
    holds: a broker state governs only a broker channel, a WebSocket link wins."""
    world = open_broker_world
    car_a = WsCar(world.url, CAR_A)
    anyone = Client(world.broker.port, "anyone")
    try:
        assert wait_until(lambda: world.unlock_a() == 200, what="unlock over the WebSocket")
        for state, seen in (("offline", 1), ("online", 2)):
            anyone.publish(f"fleet/{CAR_A}/state", {"type": "state", "state": state},
                           retain=True)
            wait_until(lambda seen=seen: world.stats()["mqtt"]["state_ignored"] == seen,
                       what=f"the forged {state} at the backend")
            assert world.unlock_a() == 200  # before issue 27: 408, then 504 after 10 s
        # A VIN the backend does not know: refused, no car link made up for it.
        before = world.stats()
        anyone.publish("fleet/NOTACAR0000000000/state", {"type": "state", "state": "online"})
        wait_until(lambda: world.stats()["mqtt"]["refused"] > before["mqtt"]["refused"],
                   what="the unknown VIN refused")
        assert world.stats()["cars"]["connected"] == before["cars"]["connected"] == 1
    finally:
        anyone.stop()
        car_a.close()


def record(seq: int, size: int) -> bytes:
    """A telemetry record of about ``size`` bytes of JSON."""
    body = {"type": "telemetry", "seq": seq, "ts": 0, "is_resend": False,
            "fields": {"blob": ""}}
    pad = size - len(json.dumps(body))
    body["fields"] = {"blob": "x" * max(0, pad)}
    return json.dumps(body).encode()


def test_the_mqtt_record_limit_is_the_http_and_websocket_limit(trusted):
    world = trusted
    car_a = car(world.broker.port, CAR_A, v5=True)
    try:
        over = record(1, RECORD_LIMIT_BYTES + 200)  # fits the broker's packet limit
        assert RECORD_LIMIT_BYTES < len(over) < MAX_PACKET_BYTES - 100
        http = requests.post(f"{world.url}/api/1/telemetry/{CAR_A}",
                             data=b'{"records": [' + over + b"]}", timeout=30, headers={
                                 "Authorization": f"Bearer token-{CAR_A}",
                                 "Content-Type": "application/json"})
        assert http.status_code == 413  # HTTP's answer to the same record
        car_a.publish(f"fleet/{CAR_A}/telemetry", over)
        car_a.publish(f"fleet/{CAR_A}/telemetry", record(2, RECORD_LIMIT_BYTES - 100))
        wait_until(lambda: world.stored(CAR_A) == {2}, what="the record under the limit stored")
        assert world.stats()["mqtt"]["too_large"] == 1
        # The limit is the backend's knob, for every transport at once.
        requests.post(f"{world.url}/admin/knobs", json={"max_telemetry_bytes": 2048},
                      headers=ADMIN, timeout=30).raise_for_status()
        car_a.publish(f"fleet/{CAR_A}/telemetry", record(3, 3000))
        car_a.publish(f"fleet/{CAR_A}/telemetry", record(4, 1000))
        wait_until(lambda: 4 in world.stored(CAR_A), what="the small record stored")
        assert world.stored(CAR_A) == {2, 4}
        assert world.stats()["mqtt"]["too_large"] == 2
        metrics = requests.get(f"{world.url}/metrics", timeout=30).text.splitlines()
        assert "backend_mqtt_too_large_total 2" in metrics
        # 10 MiB never enters the broker: the client is disconnected, nothing is stored.
        car_a.publish(f"fleet/{CAR_A}/telemetry", record(5, 10 << 20))
        assert car_a.disconnected.wait(20)
        assert world.stored(CAR_A) == {2, 4}
        assert world.stats()["mqtt"]["received"] == 4
    finally:
        car_a.stop()


def test_a_broker_without_a_size_limit_still_cannot_get_a_10_mib_record_stored(
        open_broker_world):
    world = open_broker_world
    sender = Client(world.broker.port, "sender")
    try:
        mid = sender.publish(f"fleet/{CAR_A}/telemetry", record(1, 10 << 20))
        wait_until(lambda: sender.published(mid), 30, "the broker's PUBACK")
        sender.publish(f"fleet/{CAR_A}/telemetry", record(2, 500))
        wait_until(lambda: world.stored(CAR_A) == {2}, what="the next record stored")
        assert world.stats()["mqtt"]["too_large"] == 1  # before issue 27: stored
    finally:
        sender.stop()


def test_the_backend_needs_its_own_credentials(fleet_broker, tmp_path):
    def start(credentials: tuple[str, str] | None) -> None:
        child = reference_backend.run_in_subprocess(
            db_path=str(tmp_path / "b.db"), mqtt_url=fleet_broker.url,
            mqtt_credentials=credentials)
        child.stop()

    with pytest.raises(ChildProcessError, match=r"refused the backend \(anonymous: set "
                                                r"FLEETCHAOS_BACKEND_MQTT_USERNAME"):
        start(None)
    with pytest.raises(ChildProcessError, match="refused the backend's user "
                                                "'fleetchaos-backend': Not authorized"):
        start((BACKEND_USER, "wrong"))


def test_a_password_without_a_user_is_one_line_and_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "fleetchaos.reference_backend", "--port", "0", "--mqtt-url",
         "mqtt://127.0.0.1:1883"], capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL, env={**os.environ, "FLEETCHAOS_BACKEND_MQTT_PASSWORD": "x",
                                       "FLEETCHAOS_BACKEND_MQTT_USERNAME": ""})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "FLEETCHAOS_BACKEND_MQTT_PASSWORD is set but no MQTT user" in proc.stderr


def test_password_lines_are_mosquitto_passwd_s(tmp_path):
    """The same line as mosquitto_passwd for the same salt (its $7$ PBKDF2-SHA512 format)."""
    tool = "/usr/bin/mosquitto_passwd"
    if not os.path.exists(tool):
        pytest.skip("mosquitto_passwd not installed")
    path = tmp_path / "pw"
    path.write_text("")
    subprocess.run([tool, "-b", str(path), CAR_A, "s3cret"], check=True, timeout=30)
    theirs = path.read_text().strip()
    salt = base64.b64decode(theirs.split("$")[3])
    assert password_line(CAR_A, "s3cret", salt=salt) == theirs
    with pytest.raises(ValueError):
        password_line("a:b", "x")


def test_the_broker_s_packet_limit_follows_the_backend_s_record_limit():
    """The broker's max_packet_size is the backend's default record limit plus room for the
    topic and properties: every record the backend takes fits, 10 MiB does not."""
    from fleetchaos.reference_backend.capacity import Capacity

    assert Capacity().max_telemetry_bytes == RECORD_LIMIT_BYTES
    assert RECORD_LIMIT_BYTES + 1024 < MAX_PACKET_BYTES < 2 * RECORD_LIMIT_BYTES
