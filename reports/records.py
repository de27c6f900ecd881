"""Journal records in the shapes the renderers rely on, whatever wrote them.

A journal may come from another version, be cut short by a kill, or be hand-edited: a key
missing, ``null`` where a number was, a list where a mapping was. Rather than guard every
``.get`` in every renderer, records pass through ``clean_record`` once: a value of the
wrong kind is dropped (so the renderer's default applies and prints ``-``), list items that
are not mappings are dropped, and a sample or driver outcome without a time is skipped
(it cannot be placed on a time axis).
"""

from __future__ import annotations

from typing import Any

NUMBERS = ("t", "dt", "on_s", "off_s", "at_s", "end_s", "duration_s", "until_s", "users",
           "requests", "failures", "p50_ms", "p95_ms", "p99_ms", "time_to_access_s",
           "waited_s", "attempts", "seed", "stranded_drivers", "faults_left", "recovery_s",
           "threshold", "observed", "start_s", "stranded")
MAPPINGS = ("target", "fleet", "versions", "drivers", "totals", "by_action", "by_status",
            "detail", "effect", "recovery", "telemetry", "spec", "attributes")
LISTS_OF_MAPPINGS = ("phases", "slos", "timeline", "faults", "no_effect")
TEXTS = ("name", "phase", "metric", "op", "action", "outcome", "label", "title", "scenario",
         "run_id", "verdict", "started_at", "hostname")
TIMED = ("sample", "driver")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value \
        and abs(value) != float("inf")


def clean_mapping(raw: dict[str, Any]) -> dict[str, Any]:
    """One level of a record (nested mappings and lists of mappings cleaned too)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in NUMBERS and not _is_number(value):
            continue
        if key in MAPPINGS and not isinstance(value, dict):
            continue
        if key in LISTS_OF_MAPPINGS:
            if not isinstance(value, list):
                continue
            value = [clean_mapping(v) for v in value if isinstance(v, dict)]
        elif key == "by_action":
            value = {str(k): clean_mapping(v) for k, v in value.items() if isinstance(v, dict)}
        elif key in ("by_status", "fleet"):
            value = {str(k): v for k, v in value.items() if _is_number(v) or isinstance(v, dict)}
        elif key in MAPPINGS:
            value = clean_mapping(value) if key in ("drivers", "recovery", "effect",
                                                    "telemetry") else value
        if key in TEXTS and value is not None and not isinstance(value, str):
            value = str(value)
        if value is None:
            continue
        out[key] = value
    return out


def clean_record(record: Any) -> dict[str, Any] | None:
    """The record with wrong-kind values dropped, or None when it cannot be used."""
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        return None
    out = clean_mapping(record)
    out["type"] = record["type"]
    if out["type"] in TIMED and "t" not in out:
        return None
    for phase in out.get("phases", []):
        phase.setdefault("name", "?")
        phase.setdefault("start_s", 0.0)
        phase.setdefault("end_s", phase["start_s"])
    for slo in out.get("slos", []):
        slo.setdefault("name", slo.get("metric", "?"))
        slo.setdefault("phase", "all")
        slo.setdefault("metric", "?")
        slo.setdefault("op", ">=")
    return out


def clean_records(records: list[Any]) -> list[dict[str, Any]]:
    return [r for r in (clean_record(x) for x in records) if r is not None]
