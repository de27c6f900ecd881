"""RunSource: the SLO figures are judged on the journal in the background, never on the
scrape's path: a read is started only when the last is done and at most every
max(1 s, BUDGET_FACTOR x its cost); the gevent loop keeps running while it reads; SLOs
are judged against where the run is; no scenario means an empty, valid page."""

from __future__ import annotations

import itertools
import threading
import time
from types import SimpleNamespace

import gevent
import gevent.event
from metrics_parse import parse, value
from metrics_sample import status

from fleetchaos.locust_app.metrics_source import (
    BUDGET_FACTOR,
    RunSource,
    in_gevent_thread,
    judge_journal,
    phase_state,
)
from fleetchaos.scenarios.engine import ENGINE_ATTR
from fleetchaos.scenarios.journal import JournalWriter

PHASES = [{"name": "baseline", "start_s": 0.0, "end_s": 10.0},
          {"name": "slow", "start_s": 10.0, "end_s": 30.0},
          {"name": "recovery", "start_s": 30.0, "end_s": 40.0}]
SLO = {"name": "unlocks keep working", "phase": "slow", "metric": "unlock_ok_ratio", "op": ">=",
       "threshold": 0.95, "observed": 0.99, "passed": True}


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Judge:
    """A journal read that costs ``cost`` seconds of the fake clock."""

    def __init__(self, clock: Clock, cost: float) -> None:
        self.clock, self.cost, self.reads = clock, cost, 0

    def __call__(self, path: str):
        self.reads += 1
        self.clock.t += self.cost
        return [SLO]


def now(fn, *args):
    fn(*args)


def environment(st, journal="unused.jsonl"):
    engine = SimpleNamespace(status=lambda: st, journal=SimpleNamespace(path=journal))
    return SimpleNamespace(**{ENGINE_ATTR: engine}, runner=SimpleNamespace(user_count=7))


def source(st, judge, clock, spawn=now):
    return RunSource(environment(st), judge=judge, spawn=spawn, clock=clock)


def test_a_costly_journal_read_is_repeated_only_after_20_times_its_cost():
    clock = Clock()
    judge = Judge(clock, cost=0.5)  # an hour-long journal on a busy machine
    src = source(status(phases=PHASES), judge, clock)
    src.page()
    assert judge.reads == 1
    clock.t += 0.5 * BUDGET_FACTOR - 1.0  # the budget counts from the read's start
    src.page()
    assert judge.reads == 1
    clock.t += 0.6
    src.page()
    assert judge.reads == 2


def test_a_cheap_read_is_repeated_once_a_second_at_most():
    clock = Clock()
    judge = Judge(clock, cost=0.001)
    src = source(status(phases=PHASES), judge, clock)
    for _ in range(5):
        src.page()
    assert judge.reads == 1
    clock.t += 1.0
    src.page()
    assert judge.reads == 2


def test_a_scrape_never_waits_for_the_read_and_starts_no_second_one():
    clock = Clock()
    pending = []
    src = source(status(phases=PHASES, elapsed_s=12.0), Judge(clock, 0.0), clock,
                 spawn=lambda fn, *a: pending.append((fn, a)))
    _, before = parse(src.page())
    assert "fleetchaos_slo_state" not in before  # nothing judged yet: no SLO series
    clock.t += 100
    src.page()
    assert len(pending) == 1  # still busy: no second read
    fn, args = pending.pop()
    fn(*args)
    _, after = parse(src.page())
    assert value(after, "fleetchaos_slo_state", slo="unlocks keep working", state="ok") == 1


def test_the_end_of_the_run_is_read_once_more_for_the_verdict():
    clock = Clock()
    judge = Judge(clock, cost=0.5)
    st = status(phases=PHASES)
    src = source(st, judge, clock)
    src.page()
    st["finished"] = True
    _, samples = parse(src.page())
    assert judge.reads == 2
    assert value(samples, "fleetchaos_slo_state", slo="unlocks keep working", state="pass") == 1
    src.page()
    assert judge.reads == 2


def test_slos_are_judged_against_where_the_run_is():
    clock = Clock()
    _, samples = parse(source(status(phases=PHASES, elapsed_s=12.0), Judge(clock, 0), clock).page())
    assert value(samples, "fleetchaos_slo_state", slo="unlocks keep working", state="ok") == 1
    assert value(samples, "fleetchaos_slo_passing", slo="unlocks keep working", phase="slow",
                 metric="unlock_ok_ratio") == 1
    assert value(samples, "fleetchaos_users") == 7
    _, early = parse(source(status(phases=PHASES, elapsed_s=3.0), Judge(clock, 0), clock).page())
    assert value(early, "fleetchaos_slo_state", slo="unlocks keep working", state="waiting") == 1
    assert "fleetchaos_slo_passing" not in early


def test_the_gevent_loop_keeps_running_while_the_journal_is_read():
    """The old inline read froze the loop (and the engine's step timers) for its length."""
    ticks = []
    done = gevent.event.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.monotonic())
            gevent.sleep(0.01)

    def slow_read():
        assert threading.current_thread() is not threading.main_thread()
        time.sleep(0.5)  # a read that takes half a second
        done.set()

    loop = gevent.spawn(ticker)
    in_gevent_thread(slow_read)
    assert done.wait(timeout=30)
    loop.join(timeout=5)
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) >= 10 and max(gaps) < 0.4, max(gaps)


def test_judge_journal_reads_a_journal_in_progress(tmp_path):
    path = tmp_path / "j.jsonl"
    assert judge_journal(str(path)) == []  # not created yet
    journal = JournalWriter(str(path))
    journal.write("header", t=0.0, run_id="r", scenario="s", duration_s=10.0,
                  phases=[{"name": "all", "start_s": 0.0, "end_s": 10.0}],
                  slos=[{"name": "no stranded", "phase": "all", "metric": "stranded_drivers",
                         "op": "<=", "threshold": 0}], timeline=[])
    journal.write("driver", t=1.0, outcome="stranded", need_started_s=0.0, need_ended_s=1.0)
    (slo,) = judge_journal(str(path))
    assert slo["name"] == "no stranded" and slo["observed"] == 1 and slo["passed"] is False
    journal.close()


def test_phase_state():
    st = {"duration_s": 40.0, "phases": PHASES}
    assert [phase_state(st, "slow", t) for t in (9.9, 10.0, 29.9, 30.0)] == \
        ["waiting", "now", "now", "done"]
    assert phase_state(st, "all", 39.0) == "now"
    assert phase_state({**st, "finished": True}, "slow", 12.0) == "done"


def test_no_scenario_on_this_process_is_an_empty_page():
    assert RunSource(SimpleNamespace(runner=None)).page() == ""
