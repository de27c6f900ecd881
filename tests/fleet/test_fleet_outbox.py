"""The car's open-model outbox without a network or a clock: records come due on the car's
schedule whatever the link does, wait in a bounded buffer, leave within the window, and
every record is counted once in each stage it reaches."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetchaos.fleet_sim.outbox import Outbox
from fleetchaos.fleet_sim.profiles import TelemetryContract
from fleetchaos.fleet_sim.stats import FleetCounters


def outbox(transport: str = "websocket", phase: float = 0.0, **sending: Any
           ) -> tuple[Outbox, dict[str, Any]]:
    counters = FleetCounters()
    contract = TelemetryContract(transport, "/t", **sending)
    return Outbox(contract, counters, phase=phase), counters.data


def seqs(items) -> list[int]:
    return [p.seq for p in items]


def test_records_come_due_on_schedule_however_late_the_car_looks():
    box, c = outbox()
    box.advance(100.0, 1.0, 20, False, 1.0)  # the first record is due at once (phase 0)
    box.advance(110.5, 1.0, 20, False, 1.0)  # asleep in the meantime: 100, 101, ..., 110
    assert c["telemetry_offered"] == 11 and box.waiting == 11 == c["telemetry_buffered"]
    assert box.next_due == pytest.approx(111.0)
    box.advance(110.9, 1.0, 20, False, 1.0)
    assert c["telemetry_offered"] == 11  # nothing new before 111


def test_a_new_rate_starts_at_the_pending_record_and_the_cohort_is_counted_apart():
    box, c = outbox(phase=0.5)
    box.advance(0.0, 1.0, 20, False, 1.0)  # first due at 0.5
    box.advance(10.0, 0.25, 100, True, 1.0)  # verbosity x4 from t=10: 0.5 .. 9.5 at 1 s
    assert c["telemetry_offered"] == 10 and c["telemetry_cohort_cars"] == 1
    assert box.next_due == 10.5  # the pending record is the first at the new rate
    box.advance(11.3, 0.25, 100, True, 1.0)  # 10.5, 10.75, 11.0, 11.25
    assert c["telemetry_offered"] == 14 and c["telemetry_cohort_offered"] == 4
    assert c["telemetry_cohort_baseline"] == 1.0  # 1 s at the base 1 s interval
    box.advance(11.4, 1.0, 20, False, 1.0)  # back to base from the record pending at 11.5
    assert c["telemetry_cohort_cars"] == 0 and box.next_due == 11.5
    box.advance(12.6, 1.0, 20, False, 1.0)  # 11.5, 12.5 at the base rate
    assert c["telemetry_offered"] == 16 and c["telemetry_cohort_offered"] == 4
    resends, fresh = box.take(12.6, 5.0)
    assert seqs(fresh) == list(range(1, 17)) and not resends
    assert [p.nfields for p in fresh[9:11]] == [20, 100] and fresh[10].cohort
    assert [p.due_t for p in fresh[10:16]] == [10.5, 10.75, 11.0, 11.25, 11.5, 12.5]
    assert c["telemetry_cohort_sent"] == 4


def test_a_full_buffer_drops_the_oldest_and_counts_them():
    box, c = outbox(buffer=5)
    box.advance(0.0, 1.0, 20, False, 1.0)
    box.advance(10.0, 1.0, 20, False, 1.0)  # 11 due, room for 5
    assert box.waiting == 5 and c["telemetry_dropped_unsent"] == 6 == c["telemetry_dropped"]
    _, fresh = box.take(10.0, 5.0)
    assert seqs(fresh) == [7, 8, 9, 10, 11]
    assert [p.due_t for p in fresh] == [6.0, 7.0, 8.0, 9.0, 10.0]


def test_the_window_holds_back_new_records_and_an_ack_lets_the_next_one_out():
    box, c = outbox(max_in_flight=3, max_batch=2)
    box.advance(0.0, 0.1, 20, False, 0.1)
    box.advance(1.0, 0.1, 20, False, 0.1)
    assert seqs(box.take(1.0, 5.0)[1]) == [1, 2]
    assert seqs(box.take(1.0, 5.0)[1]) == [3]
    assert box.take(1.0, 5.0) == ([], []) and box.room() == 0
    assert c["telemetry_in_flight"] == 3 and c["telemetry_buffered"] == 8
    assert box.ack(2) is not None and box.ack(2) is None  # a repeated ack counts once
    assert seqs(box.take(1.0, 5.0)[1]) == [4]
    assert c["telemetry_acked"] == 1 and c["telemetry_sent"] == 4


def test_an_http_window_is_requests_times_batch():
    box, _ = outbox("http", max_in_flight=2, max_batch=3)
    box.advance(0.0, 0.1, 20, False, 0.1)
    box.advance(2.0, 0.1, 20, False, 0.1)
    assert [len(box.take(2.0, 5.0)[1]) for _ in range(3)] == [3, 3, 0]


def test_resends_go_first_and_share_the_batch():
    box, c = outbox(max_batch=3, max_in_flight=10)
    box.advance(0.0, 1.0, 20, False, 1.0)
    box.advance(1.0, 1.0, 20, False, 1.0)
    first = box.take(1.0, 5.0)[1]
    assert seqs(first) == [1, 2]
    box.advance(6.5, 1.0, 20, False, 1.0)  # 2..6 due; 1 and 2 not acked within 5 s
    resends, fresh = box.take(6.5, 5.0)
    assert seqs(resends) == [1, 2] and seqs(fresh) == [3]
    assert c["telemetry_resent"] == 2 and c["telemetry_sent"] == 3


def test_a_failed_write_gives_the_records_back_in_order():
    box, c = outbox(max_batch=2, max_in_flight=10)
    box.advance(0.0, 1.0, 20, False, 1.0)
    box.advance(3.0, 1.0, 20, False, 1.0)
    resends, fresh = box.take(3.0, 5.0)
    box.unsend(resends, fresh)
    assert c["telemetry_sent"] == 0 and c["telemetry_in_flight"] == 0 and box.waiting == 4
    again = box.take(3.0, 5.0)[1] + box.take(3.0, 5.0)[1]
    assert seqs(again) == [1, 2, 3, 4] and [p.due_t for p in again] == [0.0, 1.0, 2.0, 3.0]


def test_a_stopped_car_takes_its_gauges_out_of_the_totals():
    box, c = outbox()
    box.advance(0.0, 0.1, 100, True, 1.0)
    box.advance(1.0, 0.1, 100, True, 1.0)
    box.take(1.0, 5.0)
    box.close(1.0)
    assert (c["telemetry_buffered"], c["telemetry_in_flight"], c["telemetry_cohort_cars"]) \
        == (0, 0, 0)
    assert c["telemetry_offered"] == 11  # what happened stays counted


ops = st.lists(st.tuples(st.sampled_from(["advance", "take", "ack", "unsend", "pause"]),
                         st.floats(0.0, 3.0), st.integers(0, 50), st.booleans()),
               max_size=60)


@settings(max_examples=200, deadline=None)
@given(ops, st.sampled_from(["websocket", "http"]), st.integers(1, 20), st.integers(1, 8),
       st.integers(1, 6), st.floats(0, 0.999))
def test_every_record_is_in_exactly_one_stage(steps, transport, buffer, batch, in_flight,
                                              phase):
    box, c = outbox(transport, phase, buffer=buffer, max_batch=batch, max_in_flight=in_flight)
    now, last = 0.0, None
    handed: set[int] = set()
    for op, dt, n, cohort in steps:
        now += dt
        if op == "advance":
            box.advance(now, [0.05, 0.3, 1.0][n % 3], 20, cohort, 1.0)
        elif op == "pause":
            box.pause(now)
        elif op == "take":
            last = box.take(now, 1.0)
            fresh = seqs(last[1])
            assert not handed & set(fresh), "a record left as new twice"
            assert fresh == sorted(fresh)
            handed |= set(fresh)
        elif op == "unsend" and last is not None:
            box.unsend(*last)
            handed -= set(seqs(last[1]))
            last = None
        elif op == "ack" and box.unacked.items:
            box.ack(list(box.unacked.items)[n % len(box.unacked.items)])
        if op != "take":
            last = None  # unsend is only for the batch just taken
        assert c["telemetry_offered"] == c["telemetry_sent"] + box.waiting \
            + c["telemetry_dropped_unsent"]
        assert c["telemetry_sent"] == c["telemetry_acked"] + len(box.unacked) \
            + c["telemetry_dropped_unacked"]
        assert c["telemetry_buffered"] == box.waiting <= buffer
        assert c["telemetry_in_flight"] == len(box.unacked) <= box.window
        assert box.waiting == sum(r.count for r in box.runs)
