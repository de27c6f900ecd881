"""The telemetry contract without a network: resend timing and cap, WebSocket ack matching."""

from __future__ import annotations

from pathlib import Path

from fleetchaos.fleet_sim import car_link
from fleetchaos.fleet_sim.outbox import Pending, Unacked
from fleetchaos.fleet_sim.profiles import TelemetryContract, load_profile
from fleetchaos.fleet_sim.stats import FleetCounters
from fleetchaos.fleet_sim.ws_link import as_ack


def item(seq: int) -> Pending:
    return Pending(seq, 0.0, 20, False)


def test_resends_back_off_doubling_and_stop_at_the_cap():
    counters = FleetCounters()
    unacked = Unacked(TelemetryContract("http", "/t", max_resends=2, backoff_max_s=3.0), counters)
    now = 1000.0
    unacked.sent(item(1), now)
    now += 0.9
    assert unacked.due(now, 1.0, 10) == []  # not yet: the ack timeout is 1 s
    now += 0.2
    first = unacked.due(now, 1.0, 10)
    assert [r.seq for r in first] == [1]
    unacked.sent(first[0], now)  # resent now
    now += 1.5
    assert unacked.due(now, 1.0, 10) == []  # the second wait is 2 s
    now += 0.6
    second = unacked.due(now, 1.0, 10)
    assert [r.seq for r in second] == [1]
    unacked.sent(second[0], now)
    now += 3.1  # the third wait would be 4 s, capped at 3 s
    assert unacked.due(now, 1.0, 10) == []  # two resends done: dropped, not resent
    assert 1 not in unacked.items and counters.data["telemetry_dropped"] == 1
    assert counters.data["telemetry_dropped_unacked"] == 1


def test_the_profiles_backoff_wins_over_the_fleets_ack_timeout():
    unacked = Unacked(TelemetryContract("http", "/t", backoff_s=0.5))
    unacked.sent(item(7), 10.0)
    assert unacked.next_resend_at(5.0) == 10.5
    assert [r.seq for r in unacked.due(10.6, 5.0, 10)] == [7]
    assert unacked.ack(7) is not None and unacked.ack(7) is None


def test_websocket_acks_follow_the_profile(tmp_path: Path):
    text = (Path(car_link.__file__).parent / "profiles" / "owner-api.yaml").read_text()
    custom = tmp_path / "p.yaml"
    custom.write_text(text + "  ack_message: {event: stored}\n  ack_seq: data.seq\n")
    contract = load_profile(str(custom)).contract
    assert as_ack(contract, {"event": "stored", "data": {"seq": 4}}) == {"type": "ack", "seq": 4}
    assert as_ack(contract, {"type": "ack", "seq": 4})["type"] != "ack"  # not this backend's
    assert as_ack(contract, {"type": "command", "id": 1}) == {"type": "command", "id": 1}
    default = load_profile("reference").contract
    assert as_ack(default, {"type": "ack", "seq": 2}) == {"type": "ack", "seq": 2}
    assert as_ack(default, {"type": "ack", "seq": True}) == {"type": "ack (no seq)"}
    none = tmp_path / "none.yaml"
    none.write_text(text + "  ack_message: none\n")
    silent = load_profile(str(none))
    assert silent.contract.acks_on_write
