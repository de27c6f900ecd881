"""The live headless view, fed the journal's records one by one as the CLI's journal tail
does, rendered at a fixed width."""

from __future__ import annotations

import io
from typing import Any

from journal_factory import write_journal
from rich.console import Console

from fleetchaos.reports.run.live import LiveState
from fleetchaos.scenarios.journal import read_journal


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def text(state: LiveState) -> str:
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    console.print(state.render())
    return console.export_text()


def feed_until(state: LiveState, clock: Clock, records: list[dict[str, Any]], t: float) -> None:
    """Feed records up to (and including) the sample at time t, one second per sample."""
    while records:
        record = records.pop(0)
        if record["type"] == "sample":
            clock.now += 1.0
        state.on_record(record)
        if record["type"] == "sample" and record["t"] >= t:
            return


def test_live_view_shows_the_fault_as_it_is_time_left_and_slos_live(tmp_path):
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    clock = Clock()
    state = LiveState(clock=clock)
    feed_until(state, clock, records, 2.0)
    early = text(state)
    assert "10 s left" in early and "phase baseline" in early
    assert "unlocks work in the flood: phase flood not started" in early
    feed_until(state, clock, records, 6.0)
    flood = text(state)
    # the fault as it is, not the values it will roll back to
    assert "faults on   verbosity x60 on 50 %" in flood
    assert "was" not in flood and "knobs" not in flood
    assert "6/12 s  6 s left  phase flood" in flood
    assert "BREAK unlocks work in the flood: 40.0% (needs ≥ 95.0%)" in flood
    feed_until(state, clock, records, 10.0)  # the factory adds it after the 9 s sample
    manual = text(state)
    assert "faults on   by hand: latency 500 ms on api" in manual
    assert "verbosity x60" not in manual.split("faults on", 1)[1].split("\n", 1)[0]
    assert "FAIL  unlocks work in the flood" in manual  # its phase is over: final


def test_live_view_says_stopping_once_the_timeline_has_ended_then_the_verdict(tmp_path):
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    clock = Clock()
    state = LiveState(clock=clock)
    feed_until(state, clock, records, 12.0)
    ended = text(state)
    assert "stopping… timeline ended at 12 s" in ended
    assert "12/12 s" not in ended and "left" not in ended
    for record in records:
        state.on_record(record)
    final = text(state)
    assert "finished at 12 s  verdict FAIL" in final
    assert "FAIL  nobody stranded: 1 of 4 drivers (needs ≤ 0)" in final
    # the last frame is the run's, as the summary counts it: not the last second's rate
    assert "requests    240 in 12 s" in final and "requests/s" not in final
    assert "1 of 5 drivers stranded (1 of 4 attempts to get in)" in final


def test_live_view_copes_with_a_bare_journal():
    state = LiveState()
    assert "starting…" in text(state) and "waiting for the run to start" in text(state)
    assert "0/0 s" not in text(state)
    state.on_record({"type": "header", "t": 0.0})  # no duration, phases or SLOs
    state.on_record({"type": "sample", "t": 1.0})
    state.on_record({"type": "step", "t": 1.0, "action": "toxic_add", "step": 3,
                     "detail": {"type": "timeout", "proxy": "api", "attributes": {}}})
    assert "timeout (holds forever) on api" in text(state)


def test_a_time_scaled_run_shows_a_clock_that_adds_up():
    """The issue's "9/14 s, 4 s left": both figures rounded apart. A 60 s timeline at time
    scale 0.23 lasts 13.8 s: tenths of a second, the rest is their difference, the scale said."""
    state = LiveState()
    state.on_record({"type": "header", "t": 0.0, "duration_s": 13.8, "time_scale": 0.23,
                     "phases": [{"name": "flood", "start_s": 0.0, "end_s": 13.8}]})
    state.on_record({"type": "sample", "t": 9.44, "phase": "flood"})
    shown = text(state)
    assert "9.4/13.8 s  4.4 s left (time scale 0.23)  phase flood" in shown
    state = LiveState()
    state.on_record({"type": "header", "t": 0.0, "duration_s": 14.0,
                     "phases": [{"name": "flood", "start_s": 0.0, "end_s": 14.0}]})
    state.on_record({"type": "sample", "t": 9.5, "phase": "flood"})
    assert "10/14 s  4 s left" in text(state)  # 10 + 4 = 14, whatever the rounding
