"""Number and word formatting shared by every report (one run, compare, sweep), so all
formats say the same thing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from fleetchaos.scenarios.delivery import fmt_amount
from fleetchaos.scenarios.metrics import UNLOCK_ACTIONS, ok_ratio
from fleetchaos.scenarios.records import (
    Effect,
    Fault,
    PhaseSummary,
    SloResult,
    SloSpec,
    Summary,
)


def num(value: float | str | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    return f"{round(value):,}" if isinstance(value, int | float) else str(value)


def dash(value: str | None) -> str:
    """A text as it is; '-' when there is none."""
    return "-" if value is None else value


def verdict_reason(summary: Summary) -> str | None:
    """The one line saying why the verdict is what it is (a harness failure: which child
    died, and when), when the summary has one."""
    return summary.verdict_reason or summary.error


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def format_value(metric: str, value: float | None) -> str:
    """A metric's value: ratios as percentages, times with their unit, counts as numbers."""
    if value is None:
        return "no data"
    if metric.endswith("_ratio"):
        return f"{100 * value:.1f}%"
    if metric.endswith("_ms"):
        return f"{value:,.0f} ms"
    if metric.endswith("_s"):
        return f"{value:g} s"
    return f"{value:g}"


def observed(slo: SloResult) -> str:
    value = slo.observed
    if value is None:
        return "no data"
    if slo.metric.endswith("_ratio"):
        return pct(value)
    if slo.metric.endswith("_ms"):
        return f"{value:,.0f} ms"
    if slo.metric == "recovery_s":
        return f"{value:g} s"
    return f"{value:g}"


def observed_of(slo: SloResult) -> str:
    """'50.0% of 14': the observation and how many samples it stands on (issue 22); a
    lower bound (not recovered when the run ended) reads '> 19 s'."""
    text = observed(slo)
    if slo.observed is None:
        return text
    if slo.lower_bound:
        text = "> " + text
    if slo.samples is not None:
        text += f" of {slo.samples:,}"
    return text


SLO_MARKS = {"pass": "PASS", "fail": "FAIL", "insufficient": "INSUFFICIENT",
             "not_judged": "NOT JUDGED"}


def slo_status(slo: SloResult) -> str:
    """pass, fail, insufficient or not_judged (a summary from before issue 22: from
    ``passed``)."""
    if slo.status in SLO_MARKS:
        return str(slo.status)
    return "pass" if slo.passed else "fail"


def delivery_text(fault: Fault | None) -> str:
    """'asked x60, delivered x2.8' for a fault of the summary; '' when nothing was asked."""
    if fault is None or fault.unit is None or fault.asked is None:
        return ""
    delivered = "not measured" if fault.delivered is None \
        else fmt_amount(fault.delivered, fault.unit)
    text = f"asked {fmt_amount(fault.asked, fault.unit)}, delivered {delivered}"
    if fault.actions:
        text += f" (one injection shared by {', '.join(fault.actions)})"
    if fault.under_delivered:
        text += " UNDER-DELIVERED" + (f": {fault.cause}" if fault.cause else "")
    return text


def threshold(slo: SloSpec | SloResult) -> str:
    op = "≥" if slo.op == ">=" else "≤"
    value = slo.threshold
    if value is None:
        return "-"
    if slo.metric.endswith("_ratio"):
        return f"{op} {pct(value)}"
    if slo.metric.endswith("_ms"):
        return f"{op} {value:,.0f} ms"
    if slo.metric == "recovery_s":
        return f"{op} {value:g} s"
    return f"{op} {value:g}"


def statuses(by_status: Mapping[str, int] | None, limit: int = 4) -> str:
    if not by_status:
        return "-"
    items = sorted(by_status.items(), key=lambda kv: -kv[1])[:limit]
    return " ".join(f"{'conn' if k == '0' else k}:{v}" for k, v in items)


def count_5xx(by_status: Mapping[str, int] | None) -> int:
    return sum(n for k, n in (by_status or {}).items() if k.startswith("5"))


def phase_unlock_ok(phase: PhaseSummary) -> float | None:
    return ok_ratio(phase.statuses(UNLOCK_ACTIONS))


def recovery_text(summary: Summary, *, short: bool = False) -> str | None:
    """How the run recovered, in words; None when there was nothing to recover from.

    Reads the canary-based ``recovery`` object (``status``: recovered, not_recovered,
    no_canary, no_fault, fault_active; ``seconds``; ``text``) when the summary has one,
    else the older ``recovery_s``. Never prints ``None``.
    """
    rec = summary.recovery
    seconds = summary.recovery_s
    if rec is not None:
        if rec.status == "no_fault":
            return None
        if rec.status == "recovered" and rec.seconds is not None:
            seconds = rec.seconds
        elif rec.text:
            return rec.text if short else f"unlocks: {rec.text}"
        elif rec.status == "not_recovered":
            return "did not recover before the run ended"
        elif rec.status == "no_canary":
            return "not measured (no canary)"
    if seconds is not None:
        return f"{float(seconds):g} s after the last fault ended" if short else \
            f"unlocks recovered {float(seconds):g} s after the last fault ended"
    return None


def effect_text(effect: Effect | None, *, manual: bool = False) -> str:
    """'touched 1,234 requests' from a fault's effect; '' if unknown."""
    if effect is None or effect.count is None:
        return ""
    text = f"touched {num(effect.count)} {effect.what or ''}".rstrip()
    if effect.count == 0 and not manual:
        text += " (no effect)"
    return text


def started_text(started: str | None) -> str:
    """'2026-01-01 00:00:00 UTC' from the header's ISO ``started_at``."""
    try:
        return datetime.fromisoformat(str(started)).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    except ValueError:
        return "start time unknown"
