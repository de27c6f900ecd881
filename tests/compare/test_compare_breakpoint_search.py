"""The breakpoint bisection, driven by a fake runner (no processes): where it probes, how
repeats near the boundary undo a noisy run, the band, the budget, and resuming."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetchaos.common.errors import UsageError
from fleetchaos.runs.breakpoint import (
    Probe,
    SearchJournal,
    SearchRun,
    Space,
    conclude,
    next_value,
    parse_budget,
    parse_space,
    search,
)

IDENTITY = {"scenario": "s", "key": "k", "lo": 1.0, "hi": 60.0, "slo": "x"}


class FakeRunner:
    """The SLO holds below ``breaks_at``; ``flips`` lists (value, nth run at it) outcomes that
    come out the other way, as a noisy run would. Each run takes ``run_s`` of a fake clock."""

    def __init__(self, breaks_at: float, flips: set[tuple[float, int]] | None = None,
                 run_s: float = 100.0) -> None:
        self.breaks_at = breaks_at
        self.flips = flips or set()
        self.run_s = run_s
        self.now = 0.0
        self.calls: list[float] = []

    def clock(self) -> float:
        return self.now

    def __call__(self, value: float) -> Probe:
        nth = self.calls.count(value) + 1
        self.calls.append(value)
        self.now += self.run_s
        held = value < self.breaks_at
        if (value, nth) in self.flips:
            held = not held
        return Probe(value, held, 1.0 if held else 0.5, "pass" if held else "fail",
                     0 if held else 1, f"run-{len(self.calls)}.journal.jsonl", self.run_s)


def run_search(space: Space, runner: FakeRunner, tmp_path: Path, *, budget_s: float = 1e9,
               repeat_near: int = 3, name: str = "search.jsonl"
               ) -> tuple[SearchJournal, SearchRun]:
    journal = SearchJournal(tmp_path / name, IDENTITY)
    result = search(space, runner, journal, repeat_near=repeat_near, budget_s=budget_s,
                    first_estimate_s=runner.run_s, clock=runner.clock)
    return journal, result


INT_SPACE = Space("timeline.0.verbosity.level", 1.0, 60.0, integer=True, resolution=1.0)


def test_clean_bisection_finds_the_smallest_breaking_value(tmp_path: Path) -> None:
    runner = FakeRunner(breaks_at=23)
    journal, result = run_search(INT_SPACE, runner, tmp_path)
    f = result.finding
    assert (f.status, f.breaking_point, f.held_at, f.broke_at, f.flaky) == \
        ("found", 23.0, 22.0, 23.0, [])
    # LO, HI, then halving: 30, 15, 22, 26, 24, 23 ...; then 3 runs at each of 22 and 23
    assert runner.calls[:3] == [1.0, 60.0, 30.0]
    assert runner.calls.count(22.0) == 3 and runner.calls.count(23.0) == 3
    assert len(runner.calls) <= 2 + 6 + 4  # ends, log2(59) halvings, repeats
    lines = journal.path.read_text().splitlines()
    assert lines[0].startswith('{"type": "search"') and len(lines) == 1 + len(runner.calls)
    assert "breaks at timeline.0.verbosity.level = 23" in f.sentence(INT_SPACE, "x")


def test_a_noisy_run_near_the_boundary_is_outvoted(tmp_path: Path) -> None:
    """22 breaks once (its first run): the bracket moves down, repeats at 22 then show it
    holds, the bisection resumes above it, and 23 is still the answer, with 22 as flaky."""
    runner = FakeRunner(breaks_at=23, flips={(22.0, 1)})
    _, result = run_search(INT_SPACE, runner, tmp_path)
    f = result.finding
    assert (f.status, f.breaking_point) == ("found", 23.0)
    assert f.flaky == [22.0] and f.held_at == 21.0 and f.broke_at == 23.0
    assert runner.calls.count(22.0) >= 3
    assert "both ways at 22" in f.sentence(INT_SPACE, "x")


def test_a_lucky_hold_above_the_boundary_is_outvoted(tmp_path: Path) -> None:
    runner = FakeRunner(breaks_at=23, flips={(23.0, 2)})
    _, result = run_search(INT_SPACE, runner, tmp_path)
    f = result.finding
    assert f.breaking_point == 23.0 and f.flaky == [23.0]
    # 23 held once of three: the band's top is the next value that broke every time
    assert (f.held_at, f.broke_at) == (22.0, 24.0)


def test_the_band_is_narrowed_below_a_flaky_edge(tmp_path: Path) -> None:
    """Every value from 10 to 15 breaks on its first run and holds after (noise that
    reaches far below the real break at 16): the boundary stays at 16, and the band's
    low edge is bisected down to a value that held in all its runs (9), not left at LO."""
    runner = FakeRunner(breaks_at=16, flips={(v, 1) for v in range(10, 16)})
    _, result = run_search(INT_SPACE, runner, tmp_path)
    f = result.finding
    assert (f.status, f.breaking_point, f.held_at, f.broke_at) == ("found", 16.0, 9.0, 16.0)
    assert set(f.flaky) <= set(range(10, 16)) and 15.0 in f.flaky
    assert runner.calls.count(9.0) == 3


def test_a_flaky_last_hold_does_not_leave_the_band_at_lo(tmp_path: Path) -> None:
    """As in a real search of the 2021 flood (15 held, broke, held; 16 broke 3 of 3): the
    band's low edge was LO (1), the only value that had held every time; it is bisected
    up to 14 now, each candidate held in three runs."""
    runner = FakeRunner(breaks_at=16, flips={(15.0, 2)})
    _, result = run_search(INT_SPACE, runner, tmp_path)
    f = result.finding
    assert (f.breaking_point, f.held_at, f.broke_at, f.flaky) == (16.0, 14.0, 16.0, [15.0])
    assert all(runner.calls.count(v) == 3 for v in (14.0, 15.0, 16.0))


def test_holds_everywhere_and_broken_everywhere(tmp_path: Path) -> None:
    _, result = run_search(INT_SPACE, FakeRunner(breaks_at=1000), tmp_path, name="a.jsonl")
    assert result.finding.status == "holds_at_hi" and result.finding.breaking_point is None
    runner = FakeRunner(breaks_at=0)
    _, result = run_search(INT_SPACE, runner, tmp_path, name="b.jsonl")
    assert result.finding.status == "breaks_at_lo" and runner.calls == [1.0, 1.0, 1.0]


def test_budget_stops_before_a_run_would_overrun_and_resume_continues(tmp_path: Path) -> None:
    whole = FakeRunner(breaks_at=41)
    _, uninterrupted = run_search(INT_SPACE, whole, tmp_path, name="whole.jsonl")

    first = FakeRunner(breaks_at=41)
    _, result = run_search(INT_SPACE, first, tmp_path, budget_s=350, name="cut.jsonl")
    assert len(first.calls) == 3 and result.finding.status == "stopped"
    assert "so far (stopped by the budget)" in result.finding.sentence(INT_SPACE, "x")
    second = FakeRunner(breaks_at=41)  # the same command again: replays, then goes on
    _, resumed = run_search(INT_SPACE, second, tmp_path, name="cut.jsonl")
    assert first.calls + second.calls == whole.calls
    assert resumed.finding == uninterrupted.finding
    assert len(resumed.probes) == len(uninterrupted.probes)


def test_a_failed_run_is_not_an_outcome_and_is_retried_on_resume(tmp_path: Path) -> None:
    journal = SearchJournal(tmp_path / "s.jsonl", IDENTITY)
    journal.start()
    journal.add(Probe(1.0, False, None, "incomplete", 3, "x", 1.0))
    assert next_value(INT_SPACE, {}, 3) == 1.0
    runner = FakeRunner(breaks_at=10)
    _, result = run_search(INT_SPACE, runner, tmp_path, name="s.jsonl")
    assert runner.calls[0] == 1.0 and result.finding.breaking_point == 10.0


@pytest.mark.parametrize("status, verdict", [("insufficient", "insufficient"),
                                             ("not_judged", "incomplete"),
                                             ("fail", "under-delivered")])
def test_a_run_that_measured_nothing_stops_the_search_and_is_no_break(
        tmp_path: Path, status: str, verdict: str) -> None:
    """An SLO short of samples reads passed=False; counted as BROKE, the search would report
    'broken already at LO' on 3 samples (seen in CI: 'BROKE (observed 100.0%)' three times)."""
    def runner(value: float) -> Probe:
        return Probe(value, False, 1.0, verdict, 4 if verdict != "incomplete" else 1,
                     "run.journal.jsonl", 1.0, status=status, samples=3, min_samples=20)

    journal = SearchJournal(tmp_path / "s.jsonl", IDENTITY)
    result = search(INT_SPACE, runner, journal, repeat_near=3, budget_s=1e9,
                    first_estimate_s=1.0)
    assert result.failed is not None and len(result.probes) == 1
    assert result.finding.status == "stopped" and result.finding.breaking_point is None
    assert not result.failed.measured
    if status == "insufficient":
        assert "3 sample(s), fewer than its min_samples 20" in result.failed.why_not_measured()
    [loaded] = journal.load()  # the journal keeps the status, so a resume skips it as well
    assert loaded.status == status and not loaded.measured


def test_the_journal_of_another_search_is_refused(tmp_path: Path) -> None:
    SearchJournal(tmp_path / "s.jsonl", IDENTITY).start()
    other = SearchJournal(tmp_path / "s.jsonl", {**IDENTITY, "hi": 90.0})
    with pytest.raises(UsageError, match=r"the journal of another search .*hi: 60\.0 there"):
        other.load()


def test_float_range_stops_at_the_resolution(tmp_path: Path) -> None:
    space = parse_space("fleet.cohort=0.0..1.0", None)
    assert not space.integer and space.resolution == pytest.approx(0.05)
    runner = FakeRunner(breaks_at=0.62)
    _, result = run_search(space, runner, tmp_path, repeat_near=1)
    f = result.finding
    assert f.breaking_point is not None and f.held_at is not None
    assert f.held_at < 0.62 <= f.breaking_point and f.breaking_point - f.held_at <= 0.05


def test_conclude_without_runs_and_parsers() -> None:
    assert conclude(INT_SPACE, {}, finished=False).status == "stopped"  # budget < one run
    assert conclude(INT_SPACE, {}, finished=True).status == "no_runs"
    assert parse_budget("10m") == 600 and parse_budget("90") == 90 and parse_budget("1h") == 3600
    for bad in ("", "ten", "-5m", "0"):
        with pytest.raises(UsageError):
            parse_budget(bad)
    assert parse_space("fleet.cars=100..3000", None).integer
    for bad in ("fleet.cars", "fleet.cars=5..1", "=1..2", "fleet.cars=a..b"):
        with pytest.raises(UsageError):
            parse_space(bad, None)
