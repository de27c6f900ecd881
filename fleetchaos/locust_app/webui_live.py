"""What the web UI shows of a run in progress, from the engine's status plus its journal:
each SLO judged on the records so far (the same rules as the terminal live view), every
fault with its label (scheduled, fired, rolled back, by hand), and a clock that stops
when the run stops.

The journal is read at most once a second however often the page and Locust's stats
poll ask, so a busy UI costs the run nothing noticeable.
"""

from __future__ import annotations

import time
from typing import Any

from fleetchaos.reports.format import observed, threshold
from fleetchaos.reports.live import judge_slo
from fleetchaos.reports.model import RunReport

CACHE_S = 1.0


class LiveStatus:
    def __init__(self) -> None:
        self._at = -1e9
        self._cached: dict[str, Any] = {}

    def invalidate(self) -> None:
        """Read the journal afresh next time (after a change made from the page)."""
        self._at = -1e9

    def journal_view(self, engine: Any) -> dict[str, Any]:
        now = time.monotonic()
        if now - self._at < CACHE_S and self._cached:
            return self._cached
        self._at = now
        from fleetchaos.scenarios.journal import read_journal
        from fleetchaos.scenarios.summary import build_summary

        try:
            records = read_journal(engine.journal.path)
        except OSError:
            records = []
        if not any(r.get("type") == "header" for r in records):
            self._cached = {"slos": [], "faults": [], "last_t": 0.0}
            return self._cached
        summary = next((r for r in reversed(records) if r.get("type") == "summary"), None)
        try:
            judged = (summary or build_summary(records)).get("slos") or []
        except Exception:  # a half-written run must never break the page
            judged = []
        report = RunReport.from_records(records)
        self._cached = {"slos": judged, "faults": report.faults(), "last_t": report.run_end(),
                        "verdict": (summary or {}).get("verdict")}
        return self._cached

    def status(self, engine: Any, runner_state: str | None) -> dict[str, Any]:
        """The engine's status plus ``live``: clock, SLO cards, labelled faults."""
        status = dict(engine.status())
        view = self.journal_view(engine)
        finished = bool(status.get("finished"))
        stopped = finished or runner_state in ("stopped", "stopping")
        elapsed = float(view["last_t"]) if stopped else float(status.get("elapsed_s") or 0.0)
        duration = float(status.get("duration_s") or 0.0)
        phases = status.get("phases") or []

        def phase_state(name: str) -> str:
            if finished:
                return "done"
            span = next((p for p in phases if p.get("name") == name), None)
            start, end = (0.0, duration) if span is None else (float(span["start_s"]),
                                                                 float(span["end_s"]))
            return "waiting" if elapsed < start else "done" if elapsed >= end else "now"

        cards = []
        for slo in view["slos"]:
            state = judge_slo(slo, phase_state(str(slo.get("phase", "all"))), finished=finished)
            cards.append({"name": slo.get("name"), "phase": slo.get("phase"),
                          "state": state, "observed": observed(slo)
                          if slo.get("observed") is not None else None,
                          "threshold": threshold(slo)})
        if status.get("setup_error"):
            clock = "set-up failed: nothing ran"
        elif stopped:
            clock = f"stopped at {elapsed:.0f} s" + (f" · verdict {view['verdict'].upper()}"
                                                      if view.get("verdict") else "")
        elif elapsed >= duration > 0:
            clock = f"stopping… timeline ended at {duration:.0f} s"
        else:
            clock = (f"{elapsed:.0f} / {duration:g} s · {max(0.0, duration - elapsed):.0f} s "
                     f"left · phase {status.get('phase') or '-'}")
        faults = [dict(f) for f in view["faults"]]
        for fault in faults:  # a fault still on reaches "now", not the journal's last sample
            if fault.get("ended_by") is None and not stopped:
                fault["end"] = max(float(fault["end"]), elapsed)
        status["live"] = {"elapsed_s": round(elapsed, 1), "stopped": stopped, "clock": clock,
                          "runner_state": runner_state, "slos": cards, "faults": faults}
        return status
