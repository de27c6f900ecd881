"""The car-to-broker link through a Toxiproxy proxy, cut by a ``timeout`` toxic and restored.

Real Locust cars (reference-mqtt's shape, QoS 1), the built-in Toxiproxy server, Mosquitto,
and the reference backend consuming from the broker. Pinned behaviour: Toxiproxy's
``timeout`` toxic drops every byte and closes the connection after ``timeout`` ms
(toxics/timeout.go); paho-mqtt 2.x resends unacknowledged QoS 1 messages after a
reconnect. So records published during the cut are either delivered after it (acked)
or counted dropped by the car, and what the cars had acked is exactly what the backend
stored.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from toxiproxy import Toxiproxy

LOCUSTFILE = Path(__file__).parent / "locustfile_audit.py"
CARS = 12


def _stored(db: Path) -> set[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT vin, seq FROM telemetry").fetchall())


def _stored_between(db: Path, t0: float, t1: float) -> int:
    """Records the cars stamped (their own clock) between t0 and t1."""
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(DISTINCT vin || ':' || seq) FROM telemetry "
                                "WHERE ts BETWEEN ? AND ?", (t0, t1)).fetchone()[0])


@pytest.mark.slow
def test_cut_by_a_timeout_toxic_cars_reconnect_and_acked_equals_stored(broker, toxiproxy,
                                                                        tmp_path):
    from fleetchaos import reference_backend

    db = tmp_path / "backend.db"
    backend = reference_backend.run_in_subprocess(db_path=str(db), admin_token="adm",
                                                  mqtt_url=broker.url)
    try:
        server = Toxiproxy()
        server.update_api_consumer("127.0.0.1", toxiproxy.port)
        proxy = server.create(upstream=f"127.0.0.1:{broker.port}", name="car-broker",
                              listen="127.0.0.1:0")
        listen = server.get_proxy("car-broker").listen
        profile = tmp_path / "cars.yaml"
        text = (Path(__file__).parents[2] / "fleet_sim/profiles/reference-mqtt.yaml").read_text()
        profile.write_text(text.replace("keepalive_s: 30", "keepalive_s: 5\n  resend: {max: 20}"))
        config = {"seed": 5, "cars": CARS, "drivers": 0, "profile": str(profile),
                  "api_url": backend.url, "telemetry_url": f"http://{listen}",
                  "admin_url": backend.url, "admin_token": "adm",
                  "telemetry": {"interval_s": 0.5, "asleep_share": 0.0}}
        audit = tmp_path / "audit.json"
        env = dict(os.environ, FLEETCHAOS_FLEET_CONFIG=json.dumps(config),
                   AUDIT_PATH=str(audit))
        locust = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u",
             str(CARS), "-r", str(CARS), "-t", "32s", "--host", backend.url, "--only-summary",
             "--loglevel", "WARNING", "--stop-timeout", "15"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(8)  # the fleet connects and streams (the cut's moment, not a wait for it)
            stored_before_cut = len(_stored(db))
            cut_at = time.time()
            for stream in ("upstream", "downstream"):
                proxy.add_toxic(type="timeout", name=f"cut_{stream}", stream=stream,
                                attributes={"timeout": 2000})
            time.sleep(8)
            during = len(_stored(db))
            for stream in ("upstream", "downstream"):
                proxy.destroy_toxic(f"cut_{stream}")
            output, _ = locust.communicate(timeout=120)
        finally:
            if locust.poll() is None:
                locust.kill()
        assert audit.exists(), output[-3000:]
        out = json.loads(audit.read_text())
        # the consumer settles what the broker still holds: poll, with a deadline
        acked = {(vin, seq) for vin, seqs in out["acked"].items() for seq in seqs}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not acked <= _stored(db):
            time.sleep(0.2)
    finally:
        backend.stop()
    stored = _stored(db)
    # published in the cut's first 2 s (the toxic dropped them on the wire, then closed the
    # link), delivered by the client's resend after the reconnect
    assert _stored_between(db, cut_at + 0.2, cut_at + 1.8) > 0
    fleet = out["fleet"]
    connects = out["stats"]["mqtt_connect"]
    assert stored_before_cut > CARS  # streaming before the cut
    assert during - stored_before_cut < CARS * 3  # the cut held (a few were in the pool)
    assert connects["requests"] - connects["failures"] >= 2 * CARS  # every car came back
    assert connects["failures"] >= 1  # ... after failing to while the toxic was on
    assert fleet["telemetry_dropped"] == 0
    sent = {(vin, seq) for vin, last in out["sent"].items() for seq in range(1, last + 1)}
    assert len(acked) > 20 * CARS
    assert acked <= stored, sorted(acked - stored)[:5]  # no acknowledged record lost
    # A stopping car waits up to 1 s for its last acks; a record stored whose PUBACK came
    # later still (a loaded machine) can only be one of the last its car sent.
    unacked = stored - acked
    assert all(seq > out["sent"][vin] - 3 for vin, seq in unacked), sorted(unacked)[:5]
    assert len(unacked) <= CARS, sorted(unacked)[:5]
    assert stored <= sent
