"""The telemetry contract without a network: resend timing and cap, WebSocket ack matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetchaos.fleet_sim import car_link
from fleetchaos.fleet_sim.car_link import Unacked, WebSocketTransport
from fleetchaos.fleet_sim.profiles import TelemetryContract, load_profile
from fleetchaos.fleet_sim.stats import FleetCounters


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(car_link.time, "monotonic", fake)
    return fake


def record(seq: int) -> dict:
    return {"seq": seq, "is_resend": False}


def test_resends_back_off_doubling_and_stop_at_the_cap(clock):
    counters = FleetCounters()
    unacked = Unacked(TelemetryContract("http", "/t", max_resends=2, backoff_max_s=3.0), counters)
    unacked.add(record(1))
    clock.now += 0.9
    assert unacked.due(1.0, 10) == []  # not yet: the ack timeout is 1 s
    clock.now += 0.2
    first = unacked.due(1.0, 10)
    assert [r["seq"] for r in first] == [1]
    unacked.add(first[0])  # resent now
    clock.now += 1.5
    assert unacked.due(1.0, 10) == []  # the second wait is 2 s
    clock.now += 0.6
    second = unacked.due(1.0, 10)
    assert [r["seq"] for r in second] == [1]
    unacked.add(second[0])
    clock.now += 3.1  # the third wait would be 4 s, capped at 3 s
    assert unacked.due(1.0, 10) == []  # two resends done: dropped, not resent
    assert 1 not in unacked.items and counters.data["telemetry_dropped"] == 1


def test_an_ack_after_a_resend_measures_from_the_last_send(clock):
    unacked = Unacked(TelemetryContract("http", "/t", backoff_s=0.5))
    unacked.add(record(7))
    clock.now += 0.6
    unacked.add(unacked.due(5.0, 10)[0])  # backoff_s wins over the fleet's ack timeout
    clock.now += 0.25
    assert unacked.ack(7) == pytest.approx(0.25)
    assert unacked.ack(7) is None


def test_websocket_acks_follow_the_profile(tmp_path: Path):
    text = (Path(car_link.__file__).parent / "profiles" / "owner-api.yaml").read_text()
    custom = tmp_path / "p.yaml"
    custom.write_text(text + "  ack_message: {event: stored}\n  ack_seq: data.seq\n")
    got: list[dict] = []
    link = WebSocketTransport("http://127.0.0.1:1", load_profile(str(custom)),
                              {"vin": "V", "car_token": "T"}, lambda **_: None, got.append)
    assert link._as_ack({"event": "stored", "data": {"seq": 4}}) == {"type": "ack", "seq": 4}
    assert link._as_ack({"type": "ack", "seq": 4})["type"] != "ack"  # not this backend's ack
    assert link._as_ack({"type": "command", "id": 1}) == {"type": "command", "id": 1}
    default = WebSocketTransport("http://127.0.0.1:1", load_profile("reference"),
                                 {"vin": "V", "car_token": "T"}, lambda **_: None, got.append)
    assert default._as_ack({"type": "ack", "seq": 2}) == {"type": "ack", "seq": 2}
    none = tmp_path / "none.yaml"
    none.write_text(text + "  ack_message: none\n")
    silent = load_profile(str(none))
    assert silent.contract.acks_on_write
