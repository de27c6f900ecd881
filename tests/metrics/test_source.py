"""RunSource: the SLO figures are re-read from the journal within a time budget (at most
1/BUDGET_FACTOR of the master's loop, never more than once a second), judged with the
live rules, and an environment without a scenario gives an empty, valid page."""

from __future__ import annotations

from types import SimpleNamespace

from metrics_parse import parse, value
from metrics_sample import status

from fleetchaos.metrics.source import BUDGET_FACTOR, RunSource, phase_state
from fleetchaos.scenarios.engine import ENGINE_ATTR

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


class SlowLive:
    """A LiveStatus whose journal read costs ``cost`` seconds of the fake clock."""

    def __init__(self, clock: Clock, cost: float) -> None:
        self.clock, self.cost, self.reads = clock, cost, 0

    def invalidate(self) -> None:
        pass

    def journal_view(self, engine):
        self.reads += 1
        self.clock.t += self.cost
        return {"slos": [SLO]}


def environment(st):
    engine = SimpleNamespace(status=lambda: st)
    return SimpleNamespace(**{ENGINE_ATTR: engine}, runner=SimpleNamespace(user_count=7))


def test_a_costly_journal_read_is_repeated_only_after_20_times_its_cost():
    clock = Clock()
    live = SlowLive(clock, cost=0.5)  # an hour-long journal on a busy machine
    source = RunSource(environment(status(phases=PHASES)), live=live, clock=clock)
    source.page()
    assert live.reads == 1
    clock.t += 0.5 * BUDGET_FACTOR - 1.0  # just before the budget allows another read
    source.page()
    assert live.reads == 1
    clock.t += 1.0
    source.page()
    assert live.reads == 2


def test_a_cheap_read_is_repeated_once_a_second_at_most():
    clock = Clock()
    live = SlowLive(clock, cost=0.001)
    source = RunSource(environment(status(phases=PHASES)), live=live, clock=clock)
    for _ in range(5):
        source.page()
    assert live.reads == 1
    clock.t += 1.0
    source.page()
    assert live.reads == 2


def test_the_end_of_the_run_is_read_at_once_for_the_verdict():
    clock = Clock()
    live = SlowLive(clock, cost=0.5)
    st = status(phases=PHASES)
    source = RunSource(environment(st), live=live, clock=clock)
    source.page()
    st["finished"] = True
    _, samples = parse(source.page())
    assert live.reads == 2
    assert value(samples, "fleetchaos_slo_state", slo="unlocks keep working", state="pass") == 1


def test_slos_are_judged_against_where_the_run_is():
    clock = Clock()
    _, samples = parse(RunSource(environment(status(phases=PHASES, elapsed_s=12.0)),
                                 live=SlowLive(clock, 0.0), clock=clock).page())
    assert value(samples, "fleetchaos_slo_state", slo="unlocks keep working", state="ok") == 1
    assert value(samples, "fleetchaos_slo_passing", slo="unlocks keep working", phase="slow",
                 metric="unlock_ok_ratio") == 1
    assert value(samples, "fleetchaos_users") == 7
    _, early = parse(RunSource(environment(status(phases=PHASES, elapsed_s=3.0)),
                               live=SlowLive(clock, 0.0), clock=clock).page())
    assert value(early, "fleetchaos_slo_state", slo="unlocks keep working", state="waiting") == 1
    assert "fleetchaos_slo_passing" not in early


def test_phase_state():
    st = {"duration_s": 40.0, "phases": PHASES}
    assert [phase_state(st, "slow", t) for t in (9.9, 10.0, 29.9, 30.0)] == \
        ["waiting", "now", "now", "done"]
    assert phase_state(st, "all", 39.0) == "now"
    assert phase_state({**st, "finished": True}, "slow", 12.0) == "done"


def test_no_scenario_on_this_process_is_an_empty_page():
    assert RunSource(SimpleNamespace(runner=None), live=SlowLive(Clock(), 0.0)).page() == ""
