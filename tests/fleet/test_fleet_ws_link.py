"""The car's own WebSocket link (fleet_sim/ws_link.py) against a peer written from RFC
6455 in tests/fleet/ws_peer.py: client frames masked (section 5.3), 7-, 16- and 64-bit
lengths (5.2), fragments reassembled (5.4), a ping answered with a pong carrying its data
(5.5.2/5.5.3), a close answered with a close (5.5.1), the upgrade's Sec-WebSocket-Accept
checked (4.1), and a peer that stops reading never blocks the car (its writes wait in the
link). Driven by gevent in this process: no greenlet reads the socket, the hub's watcher
does."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import pytest

from fleetchaos.fleet_sim.profiles import parse_profile
from fleetchaos.fleet_sim.ws_link import WebSocketTransport

PEER = Path(__file__).parent / "ws_peer.py"


@pytest.fixture
def peer():
    procs = []

    def start(case: str) -> tuple[str, subprocess.Popen[str]]:
        proc = subprocess.Popen([sys.executable, str(PEER), case], stdout=subprocess.PIPE,
                                text=True, stdin=subprocess.DEVNULL)
        procs.append(proc)
        assert proc.stdout is not None
        port = json.loads(proc.stdout.readline())["port"]
        return f"http://127.0.0.1:{port}", proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def link(url: str, headers: dict[str, str] | None = None
         ) -> tuple[WebSocketTransport, list[dict[str, Any]], list[dict[str, Any]]]:
    telemetry = {"transport": "websocket", "path": "/stream/{vin}",
                 "headers": headers or {"Authorization": "Bearer {car_token}"}}
    profile = parse_profile({"actions": {"unlock": {"method": "POST", "path": "/u"}},
                             "telemetry": telemetry}, "test.yaml")
    got: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    return (WebSocketTransport(url, profile, {"vin": "VIN1", "car_token": "tok"},
                               lambda **e: events.append(e), got.append), got, events)


def wait_for(pred, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not pred():
        gevent.sleep(0.01)
    return pred()


def test_frames_fragments_ping_and_close(peer):
    url, proc = peer("echo")
    car, got, events = link(url)
    assert car.connect()
    records = [(i, json.dumps({"type": "telemetry", "seq": i, "x": "é" * i})) for i in (1, 2, 3)]
    assert car.send(records) == []  # acks come later
    assert wait_for(lambda: any(m.get("type") == "report" for m in got))
    acks = [m["seq"] for m in got if m.get("type") == "ack"]
    kinds = [m["type"] for m in got if m.get("type") != "ack"]
    report = next(m for m in got if m.get("type") == "report")["seen"]
    assert acks == [1, 2, 3]
    assert [r["x"] for r in report["records"]] == ["é", "éé", "ééé"]  # unmasked exactly
    assert report["request"] == "GET /stream/VIN1 HTTP/1.1" and report["auth"] == "Bearer tok"
    assert kinds == ["fragmented", "big", "mid", "report"]
    assert len(next(m for m in got if m.get("type") == "big")["pad"]) == 70_000
    assert report["pong"] == "ping!"
    assert wait_for(lambda: not car.connected)  # the peer's close ends the link
    assert json.loads(proc.stdout.readline()) == {"close_answered": True}
    assert [(e["name"], e["exception"]) for e in events] == [("telemetry_connect", None)]
    assert car.send(records) is None  # a closed link says so


def test_a_refused_upgrade_is_a_failed_connect(peer):
    url, _proc = peer("refuse")
    car, _got, events = link(url)
    assert car.connect() is False and not car.connected
    [event] = events
    assert event["name"] == "telemetry_connect" and "401" in str(event["exception"])


def test_a_peer_that_stops_reading_never_blocks_the_car(peer):
    url, _proc = peer("stall")
    n = 8000
    car, got, _events = link(url, {"X-Expect": str(n)})
    assert car.connect()
    text = json.dumps({"type": "telemetry", "pad": "z" * 4000})
    start = time.monotonic()
    for i in range(n):  # 32 MB: far more than the kernel's buffers hold
        assert car.send([(i, text)]) == []
    assert time.monotonic() - start < 1.0  # never waited for the peer
    assert car.pending  # the rest waits in the link
    assert wait_for(lambda: any(m.get("type") == "report" for m in got), 20)
    report = next(m for m in got if m.get("type") == "report")
    assert report == {"type": "report", "records": n, "bytes": n * len(text)}
    assert not car.pending
    car.close()
