"""One scrape of a live run: the engine's status, the SLOs judged on the journal so far,
Locust's user count, turned into the exposition page.

The SLO figures come from the journal, the only place the run's per-phase figures live:
``build_summary`` over the records so far, the same judgement the web UI's SLO cards use.
That costs time that grows with the run (docs/benchmarks/metrics.md), and on the master's
gevent loop it would delay the engine's step timers and Locust's own work. So it runs in
a thread of gevent's pool, in the background:

- A scrape never waits for it. It serves the last result.
- A new read starts only when the last one is done, and not before
  ``max(MIN_REFRESH_S, BUDGET_FACTOR x the last read's cost)``. The SLO figures thus take
  about 1/BUDGET_FACTOR of the process at most, however often Prometheus scrapes.

The fleet, clock and fault figures are always current.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fleetchaos.metrics.collect import families
from fleetchaos.metrics.exposition import render

MIN_REFRESH_S = 1.0
BUDGET_FACTOR = 20.0

Spawn = Callable[..., Any]  # spawn(fn, *args): run fn(*args) in the background


def judge_journal(path: str) -> list[dict[str, Any]]:
    """SLO results (``summary.slos`` shape) of the journal so far: the run's own verdict
    once it has one, else ``build_summary`` on the records written until now."""
    from fleetchaos.scenarios.journal import read_journal
    from fleetchaos.scenarios.summary import build_summary

    try:
        records = read_journal(path)
    except OSError:  # not created yet (before set-up)
        return []
    if not any(r.get("type") == "header" for r in records):
        return []
    summary = next((r for r in reversed(records) if r.get("type") == "summary"), None)
    return list((summary or build_summary(records)).get("slos") or [])


def in_gevent_thread(fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` in a real thread of gevent's pool (the loop keeps running)."""
    import gevent

    gevent.get_hub().threadpool.spawn(fn, *args)


def phase_state(status: dict[str, Any], phase: str, elapsed: float) -> str:
    """Where the run is against one phase: waiting, now or done (``all``: the whole run)."""
    if status.get("finished"):
        return "done"
    duration = float(status.get("duration_s") or 0.0)
    span = next((p for p in status.get("phases") or [] if p.get("name") == phase), None)
    start, end = (0.0, duration) if span is None else (float(span["start_s"]), float(span["end_s"]))
    return "waiting" if elapsed < start else "done" if elapsed >= end else "now"


class RunSource:
    """Renders the current page for the run of one Locust environment."""

    def __init__(self, environment: Any, *,
                 judge: Callable[[str], list[dict[str, Any]]] = judge_journal,
                 spawn: Spawn = in_gevent_thread,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.environment = environment
        self.judge = judge
        self.spawn = spawn
        self.clock = clock
        self.slos: list[dict[str, Any]] = []
        self.last_cost_s = 0.0
        self.reads = 0
        self._next_read = -1e18
        self._busy = False
        self._read_finished = False  # the last read started after the run had finished

    def slo_results(self, journal_path: str, finished: bool) -> list[dict[str, Any]]:
        """The last SLO results; starts a background read when one is due (and once more
        after the run has finished, for its verdict)."""
        due = self.clock() >= self._next_read or (finished and not self._read_finished)
        if due and not self._busy:
            self._busy = True
            self.spawn(self._read, journal_path, finished)
        return self.slos

    def _read(self, journal_path: str, finished: bool) -> None:
        start = self.clock()
        try:
            self.slos = self.judge(journal_path)
        except Exception:  # a half-written run must never break the page: keep the last
            pass
        finally:
            self.last_cost_s = self.clock() - start
            self._next_read = start + max(MIN_REFRESH_S, BUDGET_FACTOR * self.last_cost_s)
            self._read_finished = finished
            self.reads += 1
            self._busy = False

    def page(self) -> str:
        from fleetchaos.reports.run.live import judge_slo
        from fleetchaos.scenarios.engine import current_engine
        from fleetchaos.scenarios.records import SloResult

        engine = current_engine(self.environment)
        if engine is None:  # no scenario on this process: an empty page is a valid page
            return ""
        status = engine.status()
        elapsed = float(status.get("elapsed_s") or 0.0)
        finished = bool(status.get("finished"))
        slos = []
        for slo in self.slo_results(str(engine.journal.path), finished):
            typed = SloResult.from_json(slo)
            state = judge_slo(typed, phase_state(status, typed.phase, elapsed), finished=finished)
            slos.append({**slo, "state": state})
        runner = getattr(self.environment, "runner", None)
        users = getattr(runner, "user_count", None) if runner is not None else None
        return render(families(status, slos, users=users if isinstance(users, int) else None))
