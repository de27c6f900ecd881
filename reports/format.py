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
    RunConfig,
    SloResult,
    SloSpec,
    Summary,
    Target,
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


LOWER_BOUND = "(run ended first)"


def observed(slo: SloResult) -> str:
    """The SLO's observed value; a lower bound (recovery the run ended before) is said as
    one: '> 19.3 s (run ended first)', never as a measurement."""
    value = slo.observed
    if value is None:
        return "no data"
    if slo.metric.endswith("_ratio"):
        text = pct(value)
    elif slo.metric.endswith("_ms"):
        text = f"{value:,.0f} ms"
    elif slo.metric == "recovery_s":
        text = f"{value:g} s"
    else:
        text = f"{value:g}"
    return f"> {text} {LOWER_BOUND}" if slo.lower_bound else text


SAMPLE_UNITS = {"unlock_success_ratio": "unlocks", "unlock_p95_ms": "unlocks",
                "error_5xx_ratio": "answers", "telemetry_ack_ratio": "records",
                "canary_success_ratio": "probes", "stranded_drivers": "drivers",
                "recovery_s": "probes"}


def samples(slo: SloResult) -> str:
    """'1,234 unlocks': how many observations the SLO's value stands on ('-' unknown)."""
    if slo.samples is None:
        return "-"
    return f"{slo.samples:,} {SAMPLE_UNITS.get(slo.metric, 'samples')}"


def observed_of(slo: SloResult) -> str:
    """'79.5% of 1,234 unlocks': the observation and the samples it stands on (when the
    summary says); a lower bound reads '> 19.3 s (run ended first) of 12 probes'."""
    text = observed(slo)
    if slo.observed is None or slo.samples is None:
        return text
    return f"{text} of {samples(slo)}"


def slo_mark(slo: SloResult) -> str:
    """PASS, FAIL, INSUFFICIENT or NOT JUDGED (the summary's ``status``; before it had
    one, from ``passed``)."""
    return SLO_MARKS[slo_status(slo)]


SLO_MARKS = {"pass": "PASS", "fail": "FAIL", "insufficient": "INSUFFICIENT",
             "not_judged": "NOT JUDGED"}


def size(n: int | None) -> str:
    """Bytes in SI units: '0 B', '812 B', '2.4 kB', '129.5 MB'."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def normal_text(normal: Mapping[str, int] | None, target: Target | None = None) -> str:
    """'408 car asleep: 22' for the answers the profile calls normal; '' when none."""
    parts = []
    for status, n in sorted((normal or {}).items()):
        meaning = target.normal_meaning(status) if target is not None else None
        parts.append(f"{status}{' ' + meaning if meaning else ''}: {n:,}")
    return ", ".join(parts)


def config_items(config: RunConfig | None) -> list[tuple[str, str]]:
    """The run's configuration as (what, value) pairs, the same in every report."""
    c = config or RunConfig()
    scale = "-" if c.time_scale is None else f"{c.time_scale:g}"
    sets = "-" if c.overrides is None else (" ".join(c.overrides) or "none")
    return [("profile", dash(c.profile)), ("host", dash(c.host)),
            ("Toxiproxy", dash(c.toxiproxy)),
            ("seed", "-" if c.seed is None else str(c.seed)),
            ("time scale", scale), ("retry policy", dash(c.retry_policy)),
            ("fleet", f"{num(c.cars)} cars, {num(c.drivers)} drivers"),
            ("workers", num(c.workers)), ("--set", sets)]


def config_line(config: RunConfig | None) -> str:
    """One line: 'profile reference · host http://… · Toxiproxy built-in · seed 2021 · …'."""
    return " · ".join(f"{k} {v}" for k, v in config_items(config))


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


def phase_unlock_ok(phase: PhaseSummary) -> float | None:
    return ok_ratio(phase.statuses(UNLOCK_ACTIONS))


def stranded_text(summary: Summary) -> str:
    """'64 of 150 drivers stranded (71 of 500 attempts to get in)': drivers of the fleet,
    then the needs (a driver may be stranded more than once)."""
    d = summary.drivers
    drivers = d.stranded_drivers if d.stranded_drivers is not None else summary.stranded_drivers
    if not drivers:
        return "no driver stranded"
    text = f"{drivers:,} of {num(d.in_fleet)} drivers stranded"
    needs = d.needs if d.needs is not None else d.needing
    stranded_needs = d.stranded_needs if d.stranded_needs is not None else d.stranded
    if needs is not None and stranded_needs is not None:
        text += f" ({stranded_needs:,} of {needs:,} attempts to get in)"
    return text


def errors_5xx_text(summary: Summary) -> str:
    """'595 server errors (5xx) on the phone API (flood 202, recovery 393)': the run's
    count and each phase's that had any (they sum to the run's)."""
    total = summary.totals.errors_5xx if summary.totals is not None else None
    if total is None:
        return "server errors (5xx) on the phone API: -"
    if not total:
        return "no server errors (5xx) on the phone API"
    per_phase = [f"{p.name} {p.errors_5xx:,}" for p in summary.phases if p.errors_5xx]
    return (f"{total:,} server errors (5xx) on the phone API"
            + (f" ({', '.join(per_phase)})" if per_phase else ""))


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
