"""The run's verdict and the one line that says why (``summary["verdict_reason"]``).

Order, first that applies (docs/ci.md):

1. ``incomplete`` — the run has no clean-up record (killed) or stopped before the end of
   its timeline (its SLOs of unfinished phases are ``not_judged``); the engine turns a
   harness failure into ``error`` and refused credentials into ``refused``
   (scenarios/outcome.py).
2. ``no-effect`` — a scheduled fault touched nothing: the scenario did not test what it
   says, so no SLO proves anything either way.
3. ``fail`` — an SLO judged on enough samples breached. A breach under a fault that was
   delivered smaller than asked, or beside an SLO that lacked data, is still a breach (it
   can only be worse at the size asked); the line names those too.
4. ``under-delivered`` — a fault delivered less than its ``min_delivery`` share of what
   was asked: its SLOs passed against a smaller fault than the scenario names.
5. ``insufficient`` — an SLO had fewer samples than its ``min_samples``: it is never PASS.
6. ``pass``.
"""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.slo_samples import insufficient_line


def breached_line(slos: list[dict[str, Any]]) -> str:
    failed = [str(s.get("name") or s.get("metric")) for s in slos if s.get("status") == "fail"]
    return f"{len(failed)} SLO(s) breached: {'; '.join(failed)}"


def stopped_line(slos: list[dict[str, Any]], stopped_at: float, duration: float) -> str:
    not_judged = [str(s.get("name")) for s in slos if s.get("status") == "not_judged"]
    which = (f"{len(not_judged)} SLO(s) not judged (their phase never finished): "
             f"{'; '.join(not_judged)}" if not_judged else "no verdict on the SLOs")
    return (f"the run was stopped at {stopped_at:.0f} s of {duration:g} s, before its "
            f"timeline ended: {which}")


def decide(slos: list[dict[str, Any]], *, complete: bool, no_effect: list[dict[str, Any]],
           under_delivered: list[dict[str, Any]], stopped_at: float | None = None,
           duration: float = 0.0) -> tuple[str, str]:
    """(verdict, reason) from the judged SLOs and the faults' effects; ``stopped_at`` is
    when a run that did not reach the end of its timeline stopped (None: it did)."""
    short = insufficient_line(slos)
    under = "; ".join(str(f.get("message")) for f in under_delivered)
    if not complete or stopped_at is not None:
        return "incomplete", stopped_line(slos, stopped_at or 0.0, duration)
    if no_effect:
        return "no-effect", "; ".join(str(f.get("message")) for f in no_effect)
    if any(s.get("status") == "fail" for s in slos):
        also = [x for x in (f"under-delivered: {under}" if under else "", short or "") if x]
        return "fail", breached_line(slos) + (f" (also {'; '.join(also)})" if also else "")
    if under_delivered:
        return "under-delivered", under
    if short:
        return "insufficient", short
    return "pass", "every SLO held" if slos else "no SLO to judge"
