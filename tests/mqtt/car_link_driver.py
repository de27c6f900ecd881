"""Drives fleet_sim's MqttTransport under gevent's monkey-patching, as Locust runs it, in a
process of its own (pytest's process must not be patched). Prints one JSON line.

argv: broker_url case protocol qos [username password]
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from fleetchaos.fleet_sim.mqtt_link import MqttTransport  # noqa: E402
from fleetchaos.fleet_sim.profiles import parse_profile  # noqa: E402

_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))  # three descriptors per paho client
url, case, protocol, qos = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
telemetry = {"transport": "mqtt", "protocol": protocol, "qos": qos, "keepalive_s": 5,
             "clean_session": case != "persistent"}
if len(sys.argv) > 6:
    telemetry.update(username=sys.argv[5], password=sys.argv[6])
profile = parse_profile({"actions": {"unlock": {"method": "POST", "path": "/u"}},
                         "telemetry": telemetry}, "test.yaml")
host, port = url.rsplit("/", 1)[1].split(":")


def wait(pred, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not pred():
        gevent.sleep(0.02)
    return pred()


class Car:
    def __init__(self, vin):
        self.events: list[dict[str, Any]] = []
        self.msgs: list[dict[str, Any]] = []
        self.t = MqttTransport(url, profile, {"vin": vin, "car_token": "tok"},
                               lambda **e: self.events.append(e), self.msgs.append)

    def acks(self):
        return sorted(m["seq"] for m in self.msgs if m.get("type") == "ack")

    def commands(self):
        return [m for m in self.msgs if m.get("type") == "command"]


seen: list[tuple[str, Any]] = []
backend = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-backend")
if len(sys.argv) > 6:
    backend.username_pw_set(sys.argv[5], sys.argv[6])
backend.on_message = lambda c, u, m: seen.append((m.topic, json.loads(m.payload)))
backend.connect(host, int(port))
backend.subscribe([("fleet/+/telemetry", 1), ("fleet/+/reply", 1), ("fleet/+/state", 1)])
backend.loop_start()
out: dict[str, Any] = {}

if case == "basic":
    car = Car("VIN0001")
    out["connected"] = car.t.connect()
    car.t.send_control({"type": "state", "state": "online"})
    written = car.t.send([(i, json.dumps({"type": "telemetry", "seq": i, "fields": {"x": i}}))
                          for i in range(1, 11)])
    out["written"] = written
    wait(lambda: len(car.acks()) == 10 or qos == 0)
    out["acks"] = car.acks()
    gevent.sleep(0.3)
    backend.publish("fleet/VIN0001/command", json.dumps({"type": "command", "id": "c1",
                                                        "command": "unlock"}), qos=1)
    wait(lambda: car.commands())
    out["commands"] = car.commands()
    car.t.send_control({"type": "command_ack", "id": "c1", "result": True, "reason": ""})
    wait(lambda: any(t.endswith("/reply") for t, _ in seen))
    wait(lambda: any(e["name"] == "command" for e in car.events))
    # the link is lost without DISCONNECT: the broker publishes the Last Will
    car.t._drop_socket()
    wait(lambda: ("fleet/VIN0001/state", {"type": "state", "state": "offline"}) in seen)
    out["stats"] = [[e["request_type"], e["name"], e["exception"] is None] for e in car.events]
elif case == "persistent":
    car = Car("VIN0002")
    out["first"] = car.t.connect()
    gevent.sleep(0.3)
    car.t._drop_socket()
    gevent.sleep(0.5)
    backend.publish("fleet/VIN0002/command", json.dumps({"id": "while-away",
                                                        "command": "unlock"}), qos=1)
    gevent.sleep(0.5)
    out["again"] = car.t.connect()
    wait(lambda: car.commands(), 5.0)
    out["commands"] = car.commands()
elif case == "many":
    cars = [Car(f"VIN{i:04d}") for i in range(400)]
    start = time.monotonic()
    pool = [gevent.spawn(c.t.connect) for c in cars]
    gevent.joinall(pool, timeout=60)
    out["connected"] = sum(1 for g in pool if g.value)
    for c in cars:
        c.t.send([(1, json.dumps({"type": "telemetry", "seq": 1, "fields": {}}))])
    wait(lambda: all(c.acks() == [1] for c in cars), 30)
    out["acked"] = sum(1 for c in cars if c.acks() == [1])
    out["seconds"] = time.monotonic() - start
    for c in cars:
        c.t.close()
elif case == "auth":
    car = Car("VIN0003")
    out["connected"] = car.t.connect()
    out["stats"] = [[e["name"], str(e["exception"])] for e in car.events]

out["seen"] = [[t, m] for t, m in seen]
backend.loop_stop()
print(json.dumps(out))
