"""Asked versus delivered per fault (scenarios/delivery.py), from journals in the documented
shapes: each unit's measure, min_delivery, the verdict and its one line."""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.summary import build_summary

PHASES = [{"name": "baseline", "start_s": 0.0, "end_s": 10.0},
          {"name": "fault", "start_s": 10.0, "end_s": 20.0},
          {"name": "after", "start_s": 20.0, "end_s": 30.0}]


def run(delivery: dict[str, Any], *, sample: Any, label: str = "the fault",
        step: dict[str, Any] | None = None, slos: list[dict[str, Any]] | None = None,
        manual: bool = False) -> dict[str, Any]:
    """A 30 s run with one fault on 10-20 s whose rollback carries ``delivery``;
    ``sample(t)`` gives each second's by_action and fleet."""
    timeline = [{"index": 0, "at_s": 10.0, "duration_s": 10.0, "end_s": 20.0,
                 "action": "verbosity", "spec": {"level": 60, "cohort": 0.5}, **(step or {})}]
    records: list[dict[str, Any]] = [
        {"type": "header", "t": 0.0, "run_id": "r", "scenario": "s", "duration_s": 30.0,
         "phases": PHASES, "slos": slos or [], "timeline": timeline}]
    for sec in range(1, 31):
        by_action, fleet = sample(float(sec))
        records.append({"type": "sample", "t": float(sec), "dt": 1.0,
                        "phase": PHASES[min(2, (sec - 1) // 10)]["name"],
                        "by_action": by_action, "fleet": fleet})
    records.append({"type": "step", "t": 20.0, "action": "verbosity", "step": "0",
                    "detail": {"rollback": "duration ended"}, "manual": manual,
                    "label": label, "fault": True, "on_s": 10.0, "off_s": 20.0,
                    "effect": {"count": 5, "what": "things", "could_match": "",
                               "delivery": delivery}})
    records.append({"type": "cleanup", "t": 31.0, "removed": [], "left": []})
    return build_summary(records)


def quiet(t: float) -> tuple[dict[str, Any], dict[str, Any]]:
    return {}, {}


def test_http_error_share_counted_by_the_step_is_judged_as_is():
    summary = run({"unit": "share", "asked": 0.4, "delivered": 0.41,
                   "injections": [{"proxy": "api", "method": "POST", "path": "/items/commands",
                                   "actions": ["unlock", "remote_start"]}]}, sample=quiet)
    fault = summary["faults"][0]
    assert (fault["asked"], fault["delivered"], fault["unit"]) == (0.4, 0.41, "share")
    assert fault["delivered_ratio"] == 1.025 and not fault["under_delivered"]
    assert fault["actions"] == ["unlock", "remote_start"]  # one injection, shared
    assert summary["verdict"] == "pass" and summary["under_delivered"] == []


def test_latency_added_is_measured_against_the_baseline():
    def slow(t: float) -> tuple[dict[str, Any], dict[str, Any]]:
        ms = "830" if 10 < t <= 20 else "30"
        return {"unlock": {"hist": {ms: 4}}, "canary unlock": {"hist": {ms: 2}}}, {}

    summary = run({"unit": "ms", "asked": 800, "measure": "latency",
                   "actions": ["unlock", "canary unlock"]}, sample=slow)
    fault = summary["faults"][0]
    assert fault["delivered"] == 800.0 and fault["delivered_ratio"] == 1.0


def test_an_outage_delivers_the_requests_that_failed():
    def half(t: float) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"unlock": {"requests": 4, "failures": 1 if 10 < t <= 20 else 0}}, {}

    summary = run({"unit": "requests", "asked": None, "measure": "failed_requests",
                   "actions": ["unlock"]}, sample=half, label="api proxy down")
    fault = summary["faults"][0]
    assert (fault["asked"], fault["delivered"], fault["delivered_ratio"]) == (40.0, 10.0, 0.25)
    assert fault["under_delivered"] and summary["verdict"] == "under-delivered"
    assert summary["verdict_reason"] == (
        "fault 'api proxy down' at 10.0-20.0 s asked 40 requests, delivered 10 requests "
        "(25 % of asked, below min_delivery 0.5)")


def flood(factor: float, cpu: float = 0.2) -> Any:
    """10 cars at 1 record/s; from 10 to 20 s half of them (the cohort) at ``factor``."""
    def sample(t: float) -> tuple[dict[str, Any], dict[str, Any]]:
        during = max(0.0, min(t, 20.0) - 10.0)
        sent = 10 * t + 5 * (factor - 1) * during
        return {}, {"telemetry_sent": sent, "fleet_cpu_share_max": cpu if 10 < t <= 21 else 0.1}
    return sample


def test_a_flood_throttled_by_the_backend_is_under_delivered_not_a_pass():
    slos = [{"name": "unlocks", "phase": "all", "metric": "stranded_drivers", "op": "<=",
             "threshold": 0, "min_samples": 0}]
    summary = run({"unit": "x", "asked": 60, "measure": "cohort_rate"}, sample=flood(2.8),
                  label="verbosity x60 on 50 % of cars", slos=slos)
    fault = summary["faults"][0]
    assert fault["delivered"] == 2.8 and fault["delivered_ratio"] == round(2.8 / 60, 4)
    assert fault["cause"].startswith("the backend throttled the cars")
    assert summary["verdict"] == "under-delivered"
    assert summary["verdict_reason"].startswith(
        "fault 'verbosity x60 on 50 % of cars' at 10.0-20.0 s asked x60, delivered x2.8 "
        "(5 % of asked, below min_delivery 0.5): likely the backend throttled the cars")
    saturated = run({"unit": "x", "asked": 60, "measure": "cohort_rate"},
                    sample=flood(2.8, cpu=0.97))["faults"][0]
    assert saturated["cause"] == "the load generator's CPU was saturated (97 % of a core)"
    delivered = run({"unit": "x", "asked": 60, "measure": "cohort_rate"}, sample=flood(57))
    assert delivered["faults"][0]["delivered"] == 57.0 and delivered["verdict"] == "pass"


def test_min_delivery_per_step_and_manual_faults():
    strict = run({"unit": "x", "asked": 60, "measure": "cohort_rate"}, sample=flood(45),
                 step={"min_delivery": 0.9})
    assert strict["faults"][0]["min_delivery"] == 0.9 and strict["verdict"] == "under-delivered"
    lenient = run({"unit": "x", "asked": 60, "measure": "cohort_rate"}, sample=flood(2.8),
                  step={"min_delivery": 0})
    assert lenient["verdict"] == "pass"
    by_hand = run({"unit": "x", "asked": 60, "measure": "cohort_rate"}, sample=flood(2.8),
                  manual=True)
    assert by_hand["verdict"] == "pass" and not by_hand["faults"][0]["under_delivered"]


def test_a_breach_under_an_under_delivered_fault_is_still_a_fail():
    slos = [{"name": "nobody stranded", "phase": "all", "metric": "stranded_drivers",
             "op": "<=", "threshold": 0, "min_samples": 0}]

    def stranded(t: float) -> tuple[dict[str, Any], dict[str, Any]]:
        return flood(2.8)(t)

    records_summary = run({"unit": "x", "asked": 60, "measure": "cohort_rate"},
                          sample=stranded, slos=slos)
    assert records_summary["verdict"] == "under-delivered"  # nothing breached
    failing = [{**slos[0], "op": ">=", "threshold": 5}]  # 0 stranded >= 5: breached
    summary = run({"unit": "x", "asked": 60, "measure": "cohort_rate"}, sample=stranded,
                  slos=failing)
    assert summary["verdict"] == "fail"
    assert summary["verdict_reason"].startswith("1 SLO(s) breached: nobody stranded (also "
                                                "under-delivered: fault ")


def test_connection_toxics_report_without_judging_by_default():
    def broken(t: float) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"vehicle_data": {"by_status": {"0": 1} if 12 <= t <= 14 else {"200": 3}}}, {}

    summary = run({"unit": "connections", "asked": 40.0, "measure": "failed_connections",
                   "actions": ["vehicle_data"]}, sample=broken)
    fault = summary["faults"][0]
    assert (fault["delivered"], fault["min_delivery"]) == (3.0, 0.0)
    assert not fault["under_delivered"] and summary["verdict"] == "pass"
