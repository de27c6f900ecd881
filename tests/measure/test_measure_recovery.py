"""Recovery read from the canary (scenarios/recovery.py) and the summary built on it:
every outcome has its own status and words, none is a bare None."""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.recovery import measure
from fleetchaos.scenarios.summary import build_summary

from .journals import down_between, healthy, journal

RECOVERY_SLO = {"name": "recovers within 10 s", "phase": "all", "metric": "recovery_s",
                "op": "<=", "threshold": 10.0}


def test_recovered_seconds_count_from_the_last_fault_off():
    # fault 10-20 s, the canary fails until 23 s, then succeeds to the end
    result = measure(journal(down_between(10, 23)))
    assert result["status"] == "recovered"
    assert result["seconds"] == 3.0  # the second (23, 24] is the first good one
    assert "recovered 3 s after" in result["text"]
    assert result["steady_ratio"] == 1.0 and result["target_ratio"] == 0.9


def test_recovery_waits_for_latency_not_only_success():
    """Issue 22: after the flood on a CMS unlocks answered 2xx at once while their p95 stayed
    at 5-6 s for ~8 s, and recovery said 0 s. Here the canary succeeds from the fault's end
    (20 s) but answers in 5.5 s until 28 s: recovered 8 s after, both times reported."""
    slow_after = journal(down_between(10, 20),
                         canary_ms=lambda t: 5500 if 20 < t <= 28 else 20)
    result = measure(slow_after)
    assert result["status"] == "recovered"
    assert (result["success_s"], result["latency_s"], result["seconds"]) == (0.0, 8.0, 8.0)
    assert result["baseline_p95_ms"] == 20.0 and result["latency_factor"] == 1.5
    assert "p95 back within 1.5x of 20 ms after 8 s" in result["text"]
    never = measure(journal(down_between(10, 20), canary_ms=lambda t: 20 if t <= 10 else 900))
    assert never["status"] == "not_recovered" and never["success_s"] == 0.0
    assert never["latency_s"] is None and "latency" in never["text"]
    lenient = measure(journal(down_between(10, 20), canary_settings={"latency_factor": 50},
                              canary_ms=lambda t: 20 if t <= 10 else 900))
    assert lenient["status"] == "recovered" and lenient["seconds"] == 0.0
    # one slow probe late in the run is noise, not a relapse: the p95 is pooled
    blip = measure(journal(down_between(10, 20), canary_ms=lambda t: 4000 if t == 35 else 20))
    assert blip["status"] == "recovered" and blip["latency_s"] == 0.0


def test_rollback_later_than_planned_moves_the_fault_end():
    result = measure(journal(down_between(10, 23), rollback_at=21.0))
    assert result["fault_end_s"] == 21.0 and result["seconds"] == 2.0


def test_a_relapse_restarts_the_clock_it_must_stay_recovered():
    def canary(t: float) -> tuple[int, int]:
        if 10 < t <= 22 or 29 < t <= 31:  # good for a while, then fails again
            return 0, 2
        return 2, 0

    result = measure(journal(canary))
    assert result["status"] == "recovered" and result["seconds"] == 11.0


def test_not_recovered_before_the_run_ended_has_its_own_words():
    result = measure(journal(down_between(10, 40)))
    assert result["status"] == "not_recovered"
    assert result["seconds"] == 20.0  # a lower bound: the run went on 20 s after the fault
    assert result["text"].startswith("did not recover before the run ended")


def test_good_for_less_than_a_window_at_the_end_is_not_recovery():
    result = measure(journal(down_between(10, 37)))  # good only in the last 3 s, window 5 s
    assert result["status"] == "not_recovered"


def test_a_window_where_no_probe_finished_is_not_good():
    def canary(t: float) -> tuple[int, int]:
        if 10 < t <= 20:
            return 0, 2
        if 20 < t <= 34:
            return 0, 0  # every probe hanging: no evidence of success
        return 2, 0

    result = measure(journal(canary))
    assert result["status"] == "recovered" and result["seconds"] == 10.0  # (29, 34] is empty
    hanging = measure(journal(lambda t: (0, 2) if t <= 20 else (0, 0)))
    assert hanging["status"] == "not_recovered"


def test_no_canary_only_when_the_canary_did_not_run():
    off = measure(journal(lambda t: (0, 0)))
    assert off["status"] == "no_canary" and "could not send a probe" in off["text"]
    disabled = measure(journal(healthy, canary_settings={"count": 0}))
    assert disabled["status"] == "no_canary" and "turned off" in disabled["text"]


def test_a_fault_left_on_until_the_end_is_not_a_recovery_measurement():
    result = measure(journal(down_between(10, 40), fault_off=None))
    assert result["status"] == "fault_active"


def test_scenario_threshold_replaces_the_steady_level():
    def canary(t: float) -> tuple[int, int]:
        return (1, 1) if t > 20 else ((0, 2) if t > 10 else (2, 0))  # 50 % after the fault

    assert measure(journal(canary))["status"] == "not_recovered"  # steady was 100 %
    lenient = measure(journal(canary, canary_settings={"recovered_ratio": 0.5}))
    assert lenient["status"] == "recovered" and lenient["seconds"] == 0.0


def test_summary_recovery_slo_and_margins():
    summary = build_summary(journal(down_between(10, 23), slos=[RECOVERY_SLO]))
    assert summary["recovery"]["status"] == "recovered" and summary["recovery_s"] == 3.0
    slo = summary["slos"][0]
    assert slo["passed"] and slo["observed"] == 3.0 and slo["margin"] == 7.0
    assert "recovered 3 s" in slo["detail"]


def test_summary_not_recovered_fails_the_slo_even_below_the_threshold():
    # the run ended 5 s after the fault: 5 <= 10 but nothing says it recovered
    summary = build_summary(journal(down_between(10, 25), duration=25.0, slos=[RECOVERY_SLO]))
    slo = summary["slos"][0]
    assert summary["recovery"]["status"] == "not_recovered"
    assert slo["passed"] is False and slo["margin"] is None and slo["lower_bound"] is True
    assert slo["detail"].startswith("did not recover")
    assert "recovery_s" not in summary  # never a bare null in an export


def test_canary_success_ratio_per_phase_and_kept_out_of_fleet_metrics():
    slos = [{"name": "canary in baseline", "phase": "baseline",
             "metric": "canary_success_ratio", "op": ">=", "threshold": 0.95},
            {"name": "canary in fault", "phase": "fault", "metric": "canary_success_ratio",
             "op": ">=", "threshold": 0.95},
            {"name": "fleet unlocks", "phase": "all", "metric": "unlock_success_ratio",
             "op": ">=", "threshold": 0.5},
            {"name": "5xx", "phase": "all", "metric": "error_5xx_ratio", "op": "<=",
             "threshold": 0.01}]
    summary = build_summary(journal(down_between(10, 20), slos=slos,
                                    fleet_unlock=lambda t: (3, 1)))
    by_name = {s["name"]: s for s in summary["slos"]}
    assert by_name["canary in baseline"]["observed"] == 1.0
    assert by_name["canary in fault"]["observed"] == 0.0
    assert by_name["canary in fault"]["margin"] == -0.95
    assert by_name["fleet unlocks"]["observed"] == 0.75  # the canary's failures not in it
    assert by_name["5xx"]["observed"] == 0.25


def test_odd_journals_read_as_defaults_not_exceptions():
    odd: list[dict[str, Any]] = [
           {"type": "header", "t": 0.0, "duration_s": "?", "fleet": {"canary": {
               "window_s": "x", "actions": 5}},
            "timeline": [{"action": "proxy_down"}, "junk", {"at_s": 1.0, "end_s": "later"}]},
           {"type": "sample"}, {"type": "step", "detail": {"rollback": "duration ended"}},
           {"type": "sample", "t": 1.0, "by_action": {"canary unlock": {"by_status": {"200": 2}}}},
           {"type": "cleanup", "t": 2.0}]
    assert measure(odd)["status"] in ("fault_active", "not_recovered", "no_fault")
    assert build_summary(odd)["recovery"]["text"]
