"""The run's verdict from its journal alone: phase figures, SLO results, recovery time.

Used at the end of a run, and by the reports for a journal cut short by a kill
(whose verdict is then "incomplete").
"""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.metrics import (
    TELEMETRY_ACTIONS,
    UNLOCK_ACTIONS,
    merge_counts,
    ok_ratio,
    percentile,
    ratio_5xx,
    statuses_of,
)

RECOVERED_RATIO = 0.95
RECOVERED_SAMPLES = 3


def _aggregate(samples: list[dict[str, Any]], before: dict[str, Any] | None) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    by_action: dict[str, dict[str, Any]] = {}
    api_hist: dict[str, int] = {}
    requests = failures = 0
    for s in samples:
        requests += s.get("requests", 0)
        failures += s.get("failures", 0)
        merge_counts(by_status, s.get("by_status"))
        for action, a in (s.get("by_action") or {}).items():
            agg = by_action.setdefault(action, {"requests": 0, "failures": 0, "by_status": {},
                                                "hist": {}})
            agg["requests"] += a.get("requests", 0)
            agg["failures"] += a.get("failures", 0)
            merge_counts(agg["by_status"], a.get("by_status"))
            merge_counts(agg["hist"], a.get("hist"))
            if action not in TELEMETRY_ACTIONS:
                merge_counts(api_hist, a.get("hist"))
    for agg in by_action.values():
        hist = agg.pop("hist")
        for q, key in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
            agg[key] = percentile(hist, q)
    first = (before or {}).get("fleet") or {}
    last = samples[-1].get("fleet", {}) if samples else first
    telemetry = {k: last.get(f"telemetry_{k}", 0) - first.get(f"telemetry_{k}", 0)
                 for k in ("sent", "acked", "resent", "bytes")}
    unlock_hist: dict[str, int] = {}
    for s in samples:
        for action in UNLOCK_ACTIONS:
            merge_counts(unlock_hist, ((s.get("by_action") or {}).get(action) or {}).get("hist"))
    return {"requests": requests, "failures": failures, "by_status": by_status,
            "p95_ms": percentile(api_hist, 0.95), "by_action": by_action,
            "telemetry": telemetry, "_unlock_p95": percentile(unlock_hist, 0.95)}


def _metrics(agg: dict[str, Any], stranded: int) -> dict[str, float | None]:
    unlock = statuses_of(agg["by_action"], UNLOCK_ACTIONS)
    api = statuses_of(agg["by_action"],
                      [a for a in agg["by_action"] if a not in TELEMETRY_ACTIONS])
    tel = agg["telemetry"]
    return {
        "unlock_success_ratio": ok_ratio(unlock),
        "unlock_p95_ms": agg["_unlock_p95"],
        "stranded_drivers": float(stranded),
        "error_5xx_ratio": ratio_5xx(api),
        "telemetry_ack_ratio": (min(1.0, tel["acked"] / tel["sent"]) if tel["sent"] > 0 else None),
    }


def recovery_seconds(samples: list[dict[str, Any]], fault_end: float | None) -> float | None:
    """Seconds after the last fault ended until unlocks succeed again (3 good samples)."""
    if fault_end is None:
        return None
    good_run: list[float] = []
    for s in samples:
        if s["t"] < fault_end:
            continue
        ratio = ok_ratio(statuses_of(s.get("by_action") or {}, UNLOCK_ACTIONS))
        if ratio is None:
            continue
        if ratio >= RECOVERED_RATIO:
            good_run.append(s["t"])
            if len(good_run) >= RECOVERED_SAMPLES:
                return round(max(0.0, good_run[0] - fault_end - 1.0), 1)
        else:
            good_run = []
    return None


def _fault_end(header: dict[str, Any], steps: list[dict[str, Any]]) -> float | None:
    ends = [s.get("end_s") for s in header.get("timeline", [])
            if s.get("action") != "users" and s.get("end_s") is not None]
    ends += [s["t"] for s in steps if s.get("action") in ("toxic_remove", "proxy_up",
                                                           "http_error_remove") and s.get("manual")]
    return max(ends) if ends else None


def evaluate(slo: dict[str, Any], observed: float | None) -> bool:
    if observed is None:
        return False
    threshold = float(slo["threshold"])
    return observed >= threshold if slo["op"] == ">=" else observed <= threshold


def build_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    header = next((r for r in records if r["type"] == "header"), {})
    samples = [r for r in records if r["type"] == "sample"]
    drivers = [r for r in records if r["type"] == "driver"]
    steps = [r for r in records if r["type"] == "step"]
    cleanup = next((r for r in reversed(records) if r["type"] == "cleanup"), None)
    phases_out = []
    phase_metrics: dict[str, dict[str, float | None]] = {}
    previous: dict[str, Any] | None = None
    for phase in header.get("phases", []):
        in_phase = [s for s in samples if s.get("phase") == phase["name"]]
        agg = _aggregate(in_phase, previous)
        if in_phase:
            previous = in_phase[-1]
        stranded = sum(1 for d in drivers
                       if d.get("phase") == phase["name"] and d.get("outcome") == "stranded")
        phase_metrics[phase["name"]] = _metrics(agg, stranded)
        agg.pop("_unlock_p95")
        phases_out.append({"name": phase["name"], "start_s": phase["start_s"],
                           "end_s": phase["end_s"], **agg, "stranded": stranded})
    whole = _aggregate(samples, None)
    all_stranded = sum(1 for d in drivers if d.get("outcome") == "stranded")
    phase_metrics["all"] = _metrics(whole, all_stranded)
    recovery = recovery_seconds(samples, _fault_end(header, steps))
    slos_out = []
    for slo in header.get("slos", []):
        if slo["metric"] == "recovery_s":
            observed = recovery
        else:
            observed = phase_metrics.get(slo["phase"], {}).get(slo["metric"])
        slos_out.append({**slo, "observed": None if observed is None else round(observed, 4),
                         "passed": evaluate(slo, observed)})
    times = sorted(d["time_to_access_s"] for d in drivers if d.get("time_to_access_s") is not None)
    outcome_counts = {k: sum(1 for d in drivers if d.get("outcome") == k)
                      for k in ("app", "bluetooth", "keycard", "stranded")}
    complete = cleanup is not None
    verdict = ("pass" if all(s["passed"] for s in slos_out) else "fail") if complete \
        else "incomplete"
    last_t = records[-1]["t"] if records else 0.0
    return {
        "scenario": header.get("scenario"), "title": header.get("title"),
        "run_id": header.get("run_id"), "seed": header.get("seed"), "verdict": verdict,
        "duration_s": round(float(last_t), 1), "slos": slos_out, "phases": phases_out,
        "stranded_drivers": all_stranded,
        "drivers": {"needing": len(drivers), **outcome_counts,
                    "p50_time_to_access_s": _q(times, 0.5),
                    "p95_time_to_access_s": _q(times, 0.95)},
        "recovery_s": recovery,
        "faults_left": len(cleanup.get("left", [])) if cleanup else None,
        "totals": {"requests": whole["requests"], "failures": whole["failures"],
                   "by_status": whole["by_status"], "telemetry": whole["telemetry"]},
    }


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)
