"""The run's verdict from its journal alone: phase figures, SLO results, recovery time.

Used at the end of a run, and by the reports for a journal cut short by a kill
(whose verdict is then "incomplete"). Recovery and ``canary_success_ratio`` come from the
canary's probes (scenarios/recovery.py); the fleet's own metrics never include them.
Every SLO carries its ``margin``: how far the observation is from the threshold, in
the metric's unit, positive on the passing side (a small margin is a fragile verdict).
"""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.delivery import judge as judge_delivery
from fleetchaos.scenarios.effects import fault_effects, faults_during, no_effect
from fleetchaos.scenarios.harness_failure import apply as apply_harness_failure
from fleetchaos.scenarios.lateness import judge as judge_lateness
from fleetchaos.scenarios.metrics import (
    UNLOCK_ACTIONS,
    is_fleet_api,
    merge_counts,
    ok_ratio,
    percentile,
    ratio_5xx,
    statuses_of,
)
from fleetchaos.scenarios.recovery import canary_settings, canary_statuses, measure
from fleetchaos.scenarios.slo_samples import judge, metric_samples
from fleetchaos.scenarios.totals import (
    driver_figures,
    run_config,
    run_totals,
    stranded_drivers,
    traffic,
)
from fleetchaos.scenarios.verdict import decide


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
            if is_fleet_api(action):
                merge_counts(api_hist, a.get("hist"))
    for agg in by_action.values():
        hist = agg.pop("hist")
        for q, key in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
            agg[key] = percentile(hist, q)
    first = (before or {}).get("fleet") or {}
    last = samples[-1].get("fleet", {}) if samples else first
    telemetry = {k: last.get(f"telemetry_{k}", 0) - first.get(f"telemetry_{k}", 0)
                 for k in ("sent", "acked", "resent", "dropped", "bytes")}
    unlock_hist: dict[str, int] = {}
    for s in samples:
        for action in UNLOCK_ACTIONS:
            merge_counts(unlock_hist, ((s.get("by_action") or {}).get(action) or {}).get("hist"))
    return {"requests": requests, "failures": failures, "by_status": by_status,
            "p95_ms": percentile(api_hist, 0.95), "by_action": by_action,
            "telemetry": telemetry, "_unlock_p95": percentile(unlock_hist, 0.95),
            "_unlock_n": sum(unlock_hist.values())}


def _metrics(agg: dict[str, Any], stranded: int, canary_actions: list[str]
             ) -> dict[str, float | None]:
    unlock = statuses_of(agg["by_action"], UNLOCK_ACTIONS)
    api = statuses_of(agg["by_action"], [a for a in agg["by_action"] if is_fleet_api(a)])
    tel = agg["telemetry"]
    return {
        "unlock_success_ratio": ok_ratio(unlock),
        "unlock_p95_ms": agg["_unlock_p95"],
        "stranded_drivers": float(stranded),
        "error_5xx_ratio": ratio_5xx(api),
        "telemetry_ack_ratio": (min(1.0, tel["acked"] / tel["sent"]) if tel["sent"] > 0 else None),
        "canary_success_ratio": ok_ratio(canary_statuses(agg["by_action"], canary_actions)),
    }


def evaluate(slo: dict[str, Any], observed: float | None) -> bool:
    if observed is None:
        return False
    threshold = float(slo["threshold"])
    return observed >= threshold if slo["op"] == ">=" else observed <= threshold


def margin(slo: dict[str, Any], observed: float | None) -> float | None:
    """Distance from the threshold in the metric's unit; positive on the passing side."""
    if observed is None:
        return None
    threshold = float(slo["threshold"])
    return round(observed - threshold if slo["op"] == ">=" else threshold - observed, 4)


def _slo_result(slo: dict[str, Any], phase_metrics: dict[str, dict[str, float | None]],
                recovery: dict[str, Any], samples: dict[str, dict[str, int]],
                finished: dict[str, bool]) -> dict[str, Any]:
    done = finished.get(slo["phase"], False)
    if slo["metric"] != "recovery_s":
        observed = phase_metrics.get(slo["phase"], {}).get(slo["metric"])
        n = samples.get(slo["phase"], {}).get(slo["metric"])
        return {**slo, "observed": None if observed is None else round(observed, 4),
                "margin": margin(slo, observed), "lower_bound": False,
                **judge(slo, evaluate(slo, observed), n, done)}
    seconds = recovery.get("seconds")
    recovered = recovery["status"] == "recovered"
    probes = recovery.get("probes") if recovery["status"] != "too_short" else None
    out = {**slo, "observed": seconds, "margin": margin(slo, seconds) if recovered else None,
           "detail": recovery["text"], "lower_bound": recovery["status"] == "not_recovered",
           **judge(slo, recovered and evaluate(slo, seconds), probes, done)}
    return out  # lower_bound: not recovered after `observed` s, print "> 19.6 s"


def build_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    header = next((r for r in records if r["type"] == "header"), {})
    samples = [r for r in records if r["type"] == "sample"]
    drivers = [r for r in records if r["type"] == "driver"]
    cleanup = next((r for r in reversed(records) if r["type"] == "cleanup"), None)
    phases_out = []
    phase_metrics: dict[str, dict[str, float | None]] = {}
    schedule = next((r for r in records if r["type"] == "schedule"), None)
    canary_actions = list(canary_settings(header, schedule)["actions"])
    previous: dict[str, Any] | None = None
    phase_samples: dict[str, dict[str, int]] = {}
    for phase in header.get("phases", []):
        in_phase = [s for s in samples if s.get("phase") == phase["name"]]
        agg = _aggregate(in_phase, previous)
        figures = traffic(in_phase, previous, header)  # issue 23: scenarios/totals.py
        if in_phase:
            previous = in_phase[-1]
        stranded = stranded_drivers(drivers, phase["name"])
        phase_metrics[phase["name"]] = _metrics(agg, stranded, canary_actions)
        phase_drivers = driver_figures(drivers, header, phase["name"])  # issue 23
        phase_samples[phase["name"]] = metric_samples(
            agg, phase_drivers["drivers_with_needs"], canary_actions)
        agg.pop("_unlock_p95")
        agg.pop("_unlock_n")
        phases_out.append({"name": phase["name"], "start_s": phase["start_s"],
                           "end_s": phase["end_s"], **agg, "stranded": stranded, **figures,
                           **phase_drivers})
    whole = _aggregate(samples, None)
    all_stranded = stranded_drivers(drivers)
    phase_metrics["all"] = _metrics(whole, all_stranded, canary_actions)
    run_drivers = driver_figures(drivers, header)  # issue 23
    phase_samples["all"] = metric_samples(whole, run_drivers["drivers_with_needs"],
                                          canary_actions)
    ran_until = max((float(s["t"]) for s in samples if isinstance(s.get("t"), int | float)),
                    default=0.0)
    finished = {p["name"]: float(p.get("end_s") or 0.0) <= ran_until + 1.0
                for p in header.get("phases", [])}
    duration = header.get("duration_s")
    planned = float(duration) if isinstance(duration, int | float) \
        else max([0.0, *(float(p.get("end_s") or 0.0) for p in header.get("phases", []))])
    finished["all"] = ran_until >= planned - 1.0
    recovery = measure(records)
    slos_out = [_slo_result(slo, phase_metrics, recovery, phase_samples, finished)
                for slo in header.get("slos", [])]
    times = sorted(d["time_to_access_s"] for d in drivers if d.get("time_to_access_s") is not None)
    outcome_counts = {k: sum(1 for d in drivers if d.get("outcome") == k)
                      for k in ("app", "bluetooth", "keycard", "stranded")}
    complete = cleanup is not None
    faults = fault_effects(records)
    for phase_out in phases_out:  # which faults were really on in each phase, and when
        phase_out["faults"] = faults_during(faults, phase_out["start_s"], phase_out["end_s"])
    under = judge_delivery(faults, records)  # asked vs delivered, per fault
    judge_lateness(faults, records)  # late_on_s, late_off_s, timing_note: never the verdict
    untouched = no_effect(faults)
    verdict, reason = decide(slos_out, complete=complete, no_effect=untouched,
                             under_delivered=under,
                             stopped_at=None if finished["all"] else ran_until,
                             duration=planned)
    last_t = next((r["t"] for r in reversed(records) if "t" in r), 0.0)
    return apply_harness_failure({
        "scenario": header.get("scenario"), "title": header.get("title"),
        "run_id": header.get("run_id"), "seed": header.get("seed"), "verdict": verdict,
        "duration_s": round(float(last_t), 1), "slos": slos_out, "phases": phases_out,
        "stranded_drivers": all_stranded,
        "drivers": {"needing": len(drivers), **outcome_counts,
                    "p50_time_to_access_s": _q(times, 0.5),
                    "p95_time_to_access_s": _q(times, 0.95), **run_drivers},
        "recovery": recovery,
        # the older field, kept for readers of earlier summaries: only when there is a
        # recovery time (never a bare null; `recovery` says what happened otherwise)
        **({"recovery_s": recovery["seconds"]} if recovery["status"] == "recovered" else {}),
        "faults_left": len(cleanup.get("left", [])) if cleanup else None,
        "faults": faults, "no_effect": untouched,
        "totals": run_totals(samples, header, whole["telemetry"]),
        "verdict_reason": reason,
        "config": run_config(header),
        "insufficient": [s["name"] for s in slos_out if s["status"] == "insufficient"],
        "under_delivered": under,
    }, records)


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)
