"""The fleet's cars (standalone mode) with an audit of what each car sent and had acked.

At stop a car first waits (bounded) for the PUBACKs of what its MQTT client still holds,
so the audit compares settled numbers; the audit goes to AUDIT_PATH when Locust quits.
"""

import json
import os
import time

import gevent
from locust import events

from fleetchaos.fleet_sim import locust_users, stats

SENT: dict[str, int] = {}
ACKED: dict[str, list[int]] = {}
CONNECTS: dict[str, int] = {}


class AuditedCar(locust_users.CarUser):
    def on_start(self):
        super().on_start()
        ACKED.setdefault(self.ident.vin, [])

    def _on_message(self, msg):
        if msg.get("type") == "ack" and self.unacked.items.get(msg.get("seq", -1)) is not None:
            ACKED[self.ident.vin].append(msg["seq"])
        super()._on_message(msg)

    def on_stop(self):
        deadline = time.monotonic() + 10
        while self.transport.held and self.transport.connected and time.monotonic() < deadline:
            gevent.sleep(0.05)
        SENT[self.ident.vin] = self.outbox.seq
        super().on_stop()


@events.quitting.add_listener
def _dump(environment, **_):
    path = os.environ.get("AUDIT_PATH")
    if not path:
        return
    entries = {name: {"requests": e.num_requests, "failures": e.num_failures}
               for (name, _method), e in environment.stats.entries.items()}
    with open(path, "w") as fh:
        json.dump({"fleet": stats.snapshot(environment), "sent": SENT, "acked": ACKED,
                   "stats": entries}, fh)
