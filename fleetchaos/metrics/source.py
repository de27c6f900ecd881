"""One scrape of a live run: the engine's status, the SLOs judged on the journal so far,
Locust's user count, turned into the exposition page.

The SLOs come from the journal (the only place the run's per-phase figures live) through
``reports.webui_live.LiveStatus``. Reading it blocks the master's gevent loop for a time
that grows with the journal (about 20-50 ms for a 60 s run's 330 KB on the shared
2-core machine, so seconds after an hour), so it is re-read at most every
``max(1 s, BUDGET_FACTOR x the last read's cost)``: however often Prometheus (or several
dashboards) scrape, the SLO figures take at most 1/BUDGET_FACTOR of the loop. The other
figures (fleet, clock, faults) are always current.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fleetchaos.metrics.collect import families
from fleetchaos.metrics.exposition import render

MIN_REFRESH_S = 1.0
BUDGET_FACTOR = 20.0


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

    def __init__(self, environment: Any, live: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if live is None:
            from fleetchaos.reports.webui_live import LiveStatus

            live = LiveStatus()
        self.environment = environment
        self.live = live
        self.clock = clock
        self._slos: list[dict[str, Any]] = []
        self._next_read = -1e18
        self._finished_read = False

    def slo_results(self, engine: Any, finished: bool) -> list[dict[str, Any]]:
        """The SLO results judged on the journal, re-read within the time budget (and
        once more when the run has finished, for the verdict)."""
        now = self.clock()
        if now >= self._next_read or (finished and not self._finished_read):
            self.live.invalidate()
            self._slos = list(self.live.journal_view(engine).get("slos") or [])
            cost = self.clock() - now
            self._next_read = now + max(MIN_REFRESH_S, BUDGET_FACTOR * cost)
            self._finished_read = finished
        return self._slos

    def page(self) -> str:
        from fleetchaos.reports.live import judge_slo
        from fleetchaos.scenarios.engine import current_engine

        engine = current_engine(self.environment)
        if engine is None:  # no scenario on this process: an empty page is a valid page
            return ""
        status = engine.status()
        elapsed = float(status.get("elapsed_s") or 0.0)
        finished = bool(status.get("finished"))
        slos = []
        for slo in self.slo_results(engine, finished):
            state = judge_slo(slo, phase_state(status, str(slo.get("phase", "all")), elapsed),
                              finished=finished)
            slos.append({**slo, "state": state})
        runner = getattr(self.environment, "runner", None)
        users = getattr(runner, "user_count", None) if runner is not None else None
        return render(families(status, slos, users=users if isinstance(users, int) else None))
