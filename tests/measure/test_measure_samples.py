"""Sample sizes on every SLO (issue 22): an SLO judged on 3 observations is not printed
like one judged on 3,000. Below its min_samples an SLO is `insufficient`, never PASS;
SLOs of phases a stopped run never finished are `not_judged`."""

from __future__ import annotations

from fleetchaos.scenarios.summary import build_summary

from .journals import down_between, healthy, journal


def slo(name: str, phase: str, metric: str, op: str, threshold: float,
        **extra: object) -> dict[str, object]:
    return {"name": name, "phase": phase, "metric": metric, "op": op,
            "threshold": threshold, **extra}


def test_every_slo_carries_its_samples_and_too_few_is_insufficient_never_pass():
    # the fleet sends one unlock a second: 10 in the fault phase, 40 over the run
    slos = [slo("unlocks in the fault", "fault", "unlock_success_ratio", ">=", 0.9),
            slo("unlocks overall", "all", "unlock_success_ratio", ">=", 0.9),
            slo("canary before", "baseline", "canary_success_ratio", ">=", 0.9),
            slo("canary before, strict", "baseline", "canary_success_ratio", ">=", 0.9,
                min_samples=50)]
    summary = build_summary(journal(healthy, slos=slos, fleet_unlock=lambda t: (1, 0)))
    by = {s["name"]: s for s in summary["slos"]}
    fault = by["unlocks in the fault"]
    assert (fault["observed"], fault["samples"], fault["min_samples"]) == (1.0, 10, 20)
    assert fault["status"] == "insufficient" and fault["passed"] is False  # 100 % of 10
    assert by["unlocks overall"]["samples"] == 40 and by["unlocks overall"]["status"] == "pass"
    assert by["canary before"]["samples"] == 20 and by["canary before"]["status"] == "pass"
    strict = by["canary before, strict"]
    assert strict["status"] == "insufficient" and strict["min_samples"] == 50
    assert summary["insufficient"] == ["unlocks in the fault", "canary before, strict"]
    assert summary["verdict"] == "insufficient"
    assert summary["verdict_reason"] == (
        "2 SLO(s) lacked data: unlocks in the fault (10 of 20 samples); "
        "canary before, strict (20 of 50 samples)")


def test_a_breach_on_enough_samples_still_fails_beside_an_insufficient_slo():
    slos = [slo("unlocks overall", "all", "unlock_success_ratio", ">=", 0.99),
            slo("unlocks in the fault", "fault", "unlock_success_ratio", ">=", 0.5)]
    summary = build_summary(journal(healthy, slos=slos, fleet_unlock=lambda t: (0, 1)))
    assert summary["verdict"] == "fail"
    assert summary["verdict_reason"] == (
        "1 SLO(s) breached: unlocks overall (also 1 SLO(s) lacked data: unlocks in the "
        "fault (10 of 20 samples))")


def test_counts_and_recovery_carry_samples_too():
    drivers = [{"type": "driver", "t": 5.0, "phase": "baseline", "outcome": "app"},
               {"type": "driver", "t": 15.0, "phase": "fault", "outcome": "stranded"}]
    slos = [slo("stranded in recovery", "recovery", "stranded_drivers", "<=", 0),
            slo("stranded in fault", "fault", "stranded_drivers", "<=", 0),
            slo("recovers", "all", "recovery_s", "<=", 10)]
    summary = build_summary(journal(down_between(10, 23), slos=slos, drivers=drivers))
    by = {s["name"]: s for s in summary["slos"]}
    assert by["stranded in recovery"]["samples"] == 0  # no need ended: "0 stranded" is empty
    assert by["stranded in recovery"]["status"] == "insufficient"
    assert by["stranded in fault"]["status"] == "fail" and by["stranded in fault"]["samples"] == 1
    assert by["recovers"]["samples"] == 40 and by["recovers"]["status"] == "pass"  # 2/s, 20 s


def test_slos_of_phases_a_stopped_run_never_finished_are_not_judged():
    records = journal(healthy, fleet_unlock=lambda t: (5, 0),
                      slos=[slo("before", "baseline", "unlock_success_ratio", ">=", 0.9),
                            slo("after", "recovery", "unlock_success_ratio", ">=", 0.9),
                            slo("overall", "all", "unlock_success_ratio", ">=", 0.9)])
    stopped = [r for r in records if r["type"] not in ("sample", "cleanup")
               or (r["type"] == "sample" and r["t"] <= 25)]  # killed at 25 s of 40
    summary = build_summary(stopped)
    status = {s["name"]: s["status"] for s in summary["slos"]}
    assert status == {"before": "pass", "after": "not_judged", "overall": "not_judged"}
    assert summary["verdict"] == "incomplete"
    assert not any(s["passed"] for s in summary["slos"] if s["status"] == "not_judged")
