"""Human labels for faults and steps, the same in every report: `verbosity x60 on 80 %`,
`latency 500 ms on api`, `http_error 500 on api (30 %)` - never a Python dict.

A step record may carry its own ``label`` (the engine's step plug-ins write one); that
wins. Otherwise the label is derived from the timeline spec (header) or the journaled
``detail``, whichever the caller has, with the same wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetchaos.scenarios.records import StepRecord

_UNITS = {"latency": "ms", "jitter": "ms", "timeout": "ms", "delay": "ms", "rate": "KB/s",
          "bytes": "B", "average_size": "B", "size_variation": "B"}


def _n(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _share(value: Any) -> str:
    if value is None:
        return "?"
    try:
        share = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{100 * share:g} %"


def toxic_effect(toxic_type: str, attrs: Mapping[str, Any]) -> str:
    """'latency 500 ms ±50', 'timeout (holds forever)', 'bandwidth 8 KB/s', ..."""
    if toxic_type == "latency":
        text = f"latency {_n(attrs.get('latency', 0))} ms"
        return text + (f" ±{_n(attrs['jitter'])}" if attrs.get("jitter") else "")
    if toxic_type == "timeout":
        ms = attrs.get("timeout", 0)
        return "timeout (holds forever)" if not ms else f"timeout after {_n(ms)} ms"
    if toxic_type == "bandwidth":
        return f"bandwidth {_n(attrs.get('rate', 0))} KB/s"
    parts = [f"{k} {_n(v)}{' ' + _UNITS[k] if k in _UNITS else ''}"
             for k, v in sorted(attrs.items())]
    return " ".join([toxic_type, *parts]) if parts else toxic_type


def step_label(action: str | None, spec: Mapping[str, Any] | None) -> str:
    """The label of a timeline spec (``{"level": 60, "cohort": .8}``) or a step record's
    ``detail`` (``{"verbosity": 60.0, "cohort": .8}``)."""
    spec = spec or {}
    action = action or "step"
    if action == "verbosity":
        level = spec.get("level", spec.get("verbosity"))
        cohort = spec.get("cohort", 1.0)
        return f"verbosity x{_n(level)} on {_share(cohort)}"
    if action in ("toxic", "toxic_add"):
        text = f"{toxic_effect(str(spec.get('type', 'toxic')), spec.get('attributes') or {})}"
        text += f" on {spec.get('proxy', '?')}"
        if spec.get("stream") == "upstream":
            text += " (upstream)"
        toxicity = spec.get("toxicity")
        if toxicity is not None and float(toxicity) < 1:
            text += f", {_share(toxicity)} of connections"
        return text
    if action in ("http_error", "http_error_add"):
        attrs = spec.get("attributes") or spec
        text = f"http_error {_n(attrs.get('status', 500))} on {spec.get('proxy', '?')}"
        if attrs.get("share") is not None and float(attrs["share"]) < 1:
            text += f" ({_share(attrs['share'])})"
        if attrs.get("path"):
            text += f" {attrs['path']}"
        return text
    if action in ("proxy_down", "outage"):
        return f"{spec.get('proxy', '?')} down"
    if action == "proxy_up":
        return f"{spec.get('proxy', '?')} up"
    if action == "backend_knob":
        knobs = spec.get("knobs", spec)
        return "backend " + " ".join(f"{k}={_n(v)}" for k, v in knobs.items()
                                     if k not in ("before", "rollback"))
    if action == "users":
        return "users " + " ".join(f"{k}={_n(v)}" for k, v in spec.items())
    if action == "toxic_remove":
        return f"remove {spec.get('name', '?')}"
    rest = " ".join(f"{k}={_n(v)}" for k, v in spec.items() if not isinstance(v, dict | list))
    return f"{action} {rest}".strip()


def record_label(record: StepRecord) -> str:
    """The label of a journaled step record (its own ``label`` first)."""
    if record.label:
        return record.label
    spec = record.extra.get("spec")  # step records of early versions
    return step_label(record.action, record.detail or (spec if isinstance(spec, dict) else {}))
