"""What the web UI shows of a run, from the engine's status plus its journal: each SLO
judged on the records so far (the same rules as the terminal live view), every fault with
its label (scheduled, fired, rolled back, by hand), a clock that stops when the run stops,
and once it has stopped: the verdict with the reason for it, SLOs whose phase never
finished "not judged" (never a green PASS for a phase cut short), whether the controls
can act, and where to download the run's report and summary.

The journal is read at most once a second however often the page and Locust's stats
poll ask, so a busy UI costs the run nothing noticeable.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fleetchaos.locust_app.session_paths import run_number
from fleetchaos.reports.format import (
    errors_5xx_text,
    observed,
    observed_of,
    stranded_text,
    threshold,
)
from fleetchaos.reports.run.live import judge_slo
from fleetchaos.reports.run.report import RunReport
from fleetchaos.scenarios.records import Journal, SloResult, Summary

CACHE_S = 1.0
CUT_SHORT_S = 1.0  # a phase ending within this of the stop counts as finished (the engine's rule)
SUMMARY_STATUSES = ("pass", "fail", "insufficient", "not_judged")  # SUMMARY_CONTRACT.md
DOWNLOADS = {"report": "download/report.html", "summary": "download/summary.json"}


class LiveStatus:
    def __init__(self) -> None:
        self._at = -1e9
        self._cached: dict[str, Any] = {}
        self._path: Path | None = None

    def invalidate(self) -> None:
        """Read the journal afresh next time (after a change made from the page)."""
        self._at = -1e9

    def journal_view(self, engine: Any) -> dict[str, Any]:
        now = time.monotonic()
        path = Path(engine.journal.path)
        if now - self._at < CACHE_S and self._cached and path == self._path:
            return self._cached
        self._at, self._path = now, path
        from fleetchaos.scenarios.journal import read_journal
        from fleetchaos.scenarios.summary import build_summary

        try:
            journal = Journal.from_json(read_journal(path))
        except OSError:
            journal = Journal()
        if not journal.has_header:
            self._cached = {"slos": [], "faults": [], "last_t": 0.0, "summary": None}
            return self._cached
        summary = journal.summary
        judged: tuple[SloResult, ...]
        try:
            judged = (summary or Summary.from_json(build_summary(journal.to_json()))).slos
        except Exception:  # a half-written run must never break the page
            judged = ()
        report = RunReport.from_journal(journal)
        self._cached = {"slos": judged, "faults": [f.to_json() for f in report.faults()],
                        "last_t": report.run_end(),
                        "verdict": summary.verdict if summary is not None else None,
                        "summary": summary,
                        "figures": _figures(report) if summary is not None else None}
        return self._cached

    def status(self, engine: Any, runner_state: str | None) -> dict[str, Any]:
        """The engine's status plus ``live``: clock, SLO cards, labelled faults, verdict."""
        status = dict(engine.status())
        view = self.journal_view(engine)
        finished = bool(status.get("finished"))
        stopped = finished or runner_state in ("stopped", "stopping")
        elapsed = float(view["last_t"]) if stopped else float(status.get("elapsed_s") or 0.0)
        duration = float(status.get("duration_s") or 0.0)
        phases = status.get("phases") or []
        summary: Summary | None = view.get("summary")
        verdict = view.get("verdict")

        def span(name: str) -> tuple[float, float]:
            found = next((p for p in phases if p.get("name") == name), None)
            return (0.0, duration) if found is None else (float(found["start_s"]),
                                                          float(found["end_s"]))

        def phase_state(name: str) -> str:
            if finished:
                return "done"
            start, end = span(name)
            return "waiting" if elapsed < start else "done" if elapsed >= end else "now"

        def card_state(slo: SloResult) -> str:
            if finished and summary:
                if slo.status in SUMMARY_STATUSES:
                    return slo.status
                # a summary from before "status": a phase the run never finished is not judged
                if verdict == "incomplete" and span(slo.phase)[1] > elapsed + CUT_SHORT_S:
                    return "not_judged"
            return judge_slo(slo, phase_state(slo.phase), finished=finished)

        cards = []
        for slo in view["slos"]:
            cards.append({"name": slo.name, "phase": slo.phase, "state": card_state(slo),
                          "observed": (observed_of(slo) if finished else observed(slo))
                          if slo.observed is not None else None,
                          "threshold": threshold(slo)})
        reason = verdict_reason(summary, cards, elapsed, duration) if verdict else None
        if status.get("setup_error"):
            clock = "set-up failed: nothing ran"
        elif stopped:
            clock = f"stopped at {elapsed:.0f} s" + (f" · verdict {verdict.upper()}"
                                                      if verdict else "")
        elif elapsed >= duration > 0:
            clock = f"stopping… timeline ended at {duration:.0f} s"
        else:
            clock = (f"{elapsed:.0f} / {duration:g} s · {max(0.0, duration - elapsed):.0f} s "
                     f"left · phase {status.get('phase') or '-'}")
        faults = [dict(f) for f in view["faults"]]
        for fault in faults:  # a fault still on reaches "now", not the journal's last sample
            if fault.get("ended_by") is None and not stopped:
                fault["end"] = max(float(fault["end"]), elapsed)
        set_up = bool(getattr(engine, "set_up", False))
        status["live"] = {
            "elapsed_s": round(elapsed, 1), "stopped": stopped, "clock": clock,
            "runner_state": runner_state, "slos": cards, "faults": faults,
            "verdict": verdict, "verdict_reason": reason,
            "run": run_number(engine.journal.path),
            "controls": controls(set_up, finished, bool(status.get("setup_error"))),
            "downloads": DOWNLOADS if finished and summary else None,
            "figures": view.get("figures") if finished else None,
        }
        return status


def _figures(report: RunReport) -> dict[str, Any]:
    """The ended run's figures as every report says them (the summary's): the headline,
    requests, 5xx on the phone API, stranded drivers of the fleet."""
    s = report.summary
    t = s.totals
    return {"headline": report.headline(), "errors_5xx": errors_5xx_text(s),
            "stranded": stranded_text(s),
            "requests": None if t is None or t.requests is None else f"{t.requests:,}",
            "failed": None if t is None or t.failures is None else f"{t.failures:,}"}


def controls(set_up: bool, finished: bool, setup_failed: bool) -> dict[str, Any]:
    """Whether the inject/remove controls can act now, and if not, why (shown beside them:
    a fault goes through the running engine, which a stopped run no longer has)."""
    if set_up and not finished:
        return {"enabled": True, "why": None}
    if setup_failed:
        why = "set-up failed, so there is nothing to inject into; fix it and press NEW"
    elif finished:
        why = ("the run has ended: faults are added while a run goes on. NEW, then START "
               "in Locust's page runs the scenario again from its start")
    else:
        why = "no run yet: press START in Locust's page, then add faults here"
    return {"enabled": False, "why": why}


def verdict_reason(summary: Summary | None, cards: list[dict[str, Any]], stopped_at: float,
                   duration: float) -> str:
    """One line saying why the verdict is what it is: the summary's own ``verdict_reason``
    when it has one (SUMMARY_CONTRACT.md), else said from the cards."""
    summary = summary or Summary(verdict="")
    if summary.verdict_reason:
        return summary.verdict_reason
    verdict = summary.verdict
    not_judged = [str(c["name"]) for c in cards if c["state"] == "not_judged"]
    failed = [str(c["name"]) for c in cards if c["state"] == "fail"]
    if verdict == "incomplete":
        which = (f"{len(not_judged)} SLO(s) not judged (their phase never finished): "
                 f"{'; '.join(not_judged)}" if not_judged else "no verdict on the SLOs")
        return (f"the run was stopped at {stopped_at:.0f} s of {duration:g} s, before its "
                f"timeline ended: {which}")
    if verdict == "error":
        return f"the harness failed: {summary.error or 'see the log'}"
    if verdict == "fail":
        return f"{len(failed)} SLO(s) breached: {'; '.join(failed)}"
    if verdict == "pass":
        return "every SLO held"
    if verdict in ("no-effect", "no_effect"):
        effects = [f.message for f in summary.no_effect if f.message]
        return "a fault had no effect: " + ("; ".join(effects) or "the verdict proves nothing")
    return verdict
