"""Number formatting shared by every renderer, so all formats say the same thing."""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.metrics import UNLOCK_ACTIONS, ok_ratio, statuses_of


def num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    return f"{round(value):,}" if isinstance(value, int | float) else str(value)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def observed(slo: dict[str, Any]) -> str:
    value = slo.get("observed")
    if value is None:
        return "no data"
    metric = str(slo.get("metric", ""))
    if metric.endswith("_ratio"):
        return pct(value)
    if metric.endswith("_ms"):
        return f"{value:,.0f} ms"
    if metric == "recovery_s":
        return f"{value:g} s"
    return f"{value:g}"


def threshold(slo: dict[str, Any]) -> str:
    op = "≥" if slo.get("op", ">=") == ">=" else "≤"
    value = slo.get("threshold")
    if not isinstance(value, int | float):
        return "-"
    metric = str(slo.get("metric", ""))
    if metric.endswith("_ratio"):
        return f"{op} {pct(value)}"
    if metric.endswith("_ms"):
        return f"{op} {value:,.0f} ms"
    if metric == "recovery_s":
        return f"{op} {value:g} s"
    return f"{op} {value:g}"


def statuses(by_status: dict[str, int] | None, limit: int = 4) -> str:
    if not by_status:
        return "-"
    items = sorted(by_status.items(), key=lambda kv: -kv[1])[:limit]
    return " ".join(f"{'conn' if k == '0' else k}:{v}" for k, v in items)


def count_5xx(by_status: dict[str, int] | None) -> int:
    return sum(n for k, n in (by_status or {}).items() if k.startswith("5"))


def phase_unlock_ok(phase: dict[str, Any]) -> float | None:
    return ok_ratio(statuses_of(phase.get("by_action") or {}, UNLOCK_ACTIONS))


def recovery_text(summary: dict[str, Any], *, short: bool = False) -> str | None:
    """How the run recovered, in words; None when there was nothing to recover from.

    Reads the canary-based ``recovery`` object (``status``: recovered, not_recovered,
    no_canary, no_fault, fault_active; ``seconds``; ``text``) when the summary has one,
    else the older ``recovery_s``. Never prints ``None``.
    """
    rec = summary.get("recovery")
    seconds = summary.get("recovery_s")
    if isinstance(rec, dict):
        status = rec.get("status")
        if status == "no_fault":
            return None
        if status == "recovered" and rec.get("seconds") is not None:
            seconds = rec["seconds"]
        elif rec.get("text"):
            return str(rec["text"]) if short else f"unlocks: {rec['text']}"
        elif status == "not_recovered":
            return "did not recover before the run ended"
        elif status == "no_canary":
            return "not measured (no canary)"
    if seconds is not None:
        return f"{float(seconds):g} s after the last fault ended" if short else \
            f"unlocks recovered {float(seconds):g} s after the last fault ended"
    return None


def effect_text(fault: dict[str, Any]) -> str:
    """'touched 1,234 requests' from a fault's ``effect`` ({count, what}); '' if unknown."""
    effect = fault.get("effect")
    if not isinstance(effect, dict) or effect.get("count") is None:
        return ""
    text = f"touched {num(effect['count'])} {effect.get('what') or ''}".rstrip()
    if effect.get("count") == 0 and not fault.get("manual"):
        text += " (no effect)"
    return text


def duration_text(report: Any) -> str:
    """'30 s timeline, 36 s with the wind-down' / '12 s of 60 s planned (cut short)'."""
    planned = report.header.get("duration_s") or report.summary.get("duration_s")
    ran = float(report.run_end())
    if not planned:
        return f"{ran:.0f} s"
    planned = float(planned)
    if ran < planned - 1:
        return f"{ran:.0f} s of {planned:g} s planned (cut short)"
    if ran > planned + 1:
        return f"{planned:g} s timeline, {ran:.0f} s with the wind-down"
    return f"{planned:g} s"


def started_text(started: Any) -> str:
    """'2026-01-01 00:00:00 UTC' from the header's ISO ``started_at``."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(started)).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    except ValueError:
        return "start time unknown"
