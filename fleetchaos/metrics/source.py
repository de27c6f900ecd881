"""One scrape of a live run: the engine's status, the SLOs judged on the journal so far,
Locust's user count, turned into the exposition page.

The SLOs come from the journal (the only place the run's per-phase figures live) through
``reports.webui_live.LiveStatus``, which re-reads it at most once a second however often
Prometheus (or several dashboards) scrape, so a scrape costs the run next to nothing.
"""

from __future__ import annotations

from typing import Any

from fleetchaos.metrics.collect import families
from fleetchaos.metrics.exposition import render


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

    def __init__(self, environment: Any) -> None:
        from fleetchaos.reports.webui_live import LiveStatus

        self.environment = environment
        self.live = LiveStatus()

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
        for slo in self.live.journal_view(engine).get("slos") or []:
            state = judge_slo(slo, phase_state(status, str(slo.get("phase", "all")), elapsed),
                              finished=finished)
            slos.append({**slo, "state": state})
        runner = getattr(self.environment, "runner", None)
        users = getattr(runner, "user_count", None) if runner is not None else None
        return render(families(status, slos, users=users if isinstance(users, int) else None))
