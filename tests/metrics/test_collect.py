"""Families built from the engine's status and the judged SLOs: every figure the issue
names, the right types, one-hot SLO states, one series per active fault."""

from __future__ import annotations

from metrics_parse import parse, value
from metrics_sample import SLOS, status

from fleetchaos.metrics.collect import SLO_STATES, families, metric_names
from fleetchaos.metrics.exposition import render
from fleetchaos.scenarios.engine import ActiveFault
from fleetchaos.scenarios.loader import load_scenario
from fleetchaos.scenarios.steps.base import Applied


def scrape(st=None, slos=SLOS, users=21):
    return parse(render(families(st or status(), slos, users=users)))


def test_every_figure_the_issue_names_is_there_with_its_value():
    _, s = scrape()
    assert value(s, "fleetchaos_cars_connected") == 9
    assert value(s, "fleetchaos_telemetry_sent_total") == 120
    assert value(s, "fleetchaos_telemetry_acked_total") == 100
    assert value(s, "fleetchaos_telemetry_resent_total") == 7
    assert value(s, "fleetchaos_telemetry_dropped_total") == 3
    assert value(s, "fleetchaos_driver_outcomes_total", outcome="app") == 3
    assert value(s, "fleetchaos_driver_outcomes_total", outcome="bluetooth") == 1
    assert value(s, "fleetchaos_driver_outcomes_total", outcome="keycard") == 0
    assert value(s, "fleetchaos_driver_outcomes_total", outcome="stranded") == 2
    assert value(s, "fleetchaos_responses_total", action="unlock", status="500") == 4
    assert value(s, "fleetchaos_run_elapsed_seconds") == 12.7
    assert value(s, "fleetchaos_run_duration_seconds") == 40
    assert value(s, "fleetchaos_run_phase", phase="slow") == 1
    assert value(s, "fleetchaos_users") == 21
    assert value(s, "fleetchaos_run_info", run_id="run1", scenario="api-latency",
                 title='API "latency"') == 1


def test_counters_are_counters_and_gauges_gauges():
    fams, _ = scrape()
    assert fams["fleetchaos_telemetry_sent"].type == "counter"  # the parser drops _total
    assert fams["fleetchaos_driver_outcomes"].type == "counter"
    assert fams["fleetchaos_cars_connected"].type == "gauge"
    assert fams["fleetchaos_fault_active"].type == "gauge"
    assert all(f.documentation for f in fams.values())


def test_one_series_per_active_fault_with_kind_type_proxy_name():
    _, s = scrape()
    assert value(s, "fleetchaos_active_faults") == 2
    faults = s["fleetchaos_fault_active"]
    assert len(faults) == 2 and set(faults.values()) == {1}
    toxic = dict(next(k for k in faults if ("kind", "toxic") in k))
    assert toxic["type"] == "latency" and toxic["proxy"] == "api"
    assert toxic["name"] == "fc-run1-0-latency" and toxic["manual"] == "false"
    flood = dict(next(k for k in faults if ("kind", "verbosity") in k))
    assert flood["proxy"] == "" and flood["type"] == "" and flood["manual"] == "true"
    assert sorted(s["fleetchaos_fault_active_since_seconds"].values()) == [10.002, 12.5]


def test_no_fault_on_means_a_zero_count_and_no_fault_series():
    fams, s = scrape(status(active_faults=[]))
    assert value(s, "fleetchaos_active_faults") == 0
    assert fams["fleetchaos_fault_active"].samples == []


def test_slo_state_is_one_hot_and_passing_only_when_judged():
    _, s = scrape()
    for slo, current in (("unlocks keep working", "break"), ("p95", "waiting")):
        states = {dict(k)["state"]: v for k, v in s["fleetchaos_slo_state"].items()
                  if dict(k)["slo"] == slo}
        assert states == {name: (1 if name == current else 0) for name in SLO_STATES}
    assert value(s, "fleetchaos_slo_passing", slo="unlocks keep working", phase="slow",
                 metric="unlock_ok_ratio") == 0
    assert len(s["fleetchaos_slo_passing"]) == 1  # waiting: not judged, no series
    assert value(s, "fleetchaos_slo_observed", slo="unlocks keep working", phase="slow",
                 metric="unlock_ok_ratio") == 0.43
    assert len(s["fleetchaos_slo_observed"]) == 1  # no data yet: absent, not 0
    assert value(s, "fleetchaos_slo_threshold", slo="p95", phase="recovery",
                 metric="unlock_p95_ms", op="<=") == 1500


def test_before_set_up_the_page_is_valid_and_zero():
    fams, s = scrape({"run_id": "run1", "scenario": "x", "elapsed_s": 0.0, "duration_s": 60,
                      "phase": "baseline", "finished": False, "fleet": {},
                      "active_faults": []}, [], users=None)
    assert value(s, "fleetchaos_telemetry_sent_total") == 0
    assert value(s, "fleetchaos_driver_outcomes_total", outcome="stranded") == 0
    assert fams["fleetchaos_users"].samples == []


def test_a_finished_run_has_no_current_phase():
    _, s = scrape(status(finished=True, active_faults=[]))
    assert value(s, "fleetchaos_run_finished") == 1
    assert "fleetchaos_run_phase" not in s


def test_metric_names_lists_every_family_a_full_scrape_has():
    fams, _ = scrape()
    emitted = {name for name in metric_names()}
    page = render(families(status(), SLOS, users=1))
    assert emitted == {line.split()[2] for line in page.splitlines() if line.startswith("# TYPE")}
    assert len(fams) == len(emitted)


def test_the_engine_status_of_an_active_toxic_names_its_proxy_and_type():
    """The labels come from the engine's own active-fault status (scenarios/engine.py)."""
    scenario = load_scenario("api-latency")
    step = scenario.timeline[0]
    fault = ActiveFault(step, Applied(detail={}, names=("fc-x-0-latency",)), on_s=10.0)
    st = fault.status("0")
    assert st["proxy"] == "api" and st["spec"]["type"] == "latency"
    _, s = scrape(status(active_faults=[st]))
    (labels,) = s["fleetchaos_fault_active"]
    assert dict(labels)["proxy"] == "api" and dict(labels)["type"] == "latency"
    assert dict(labels)["name"] == "fc-x-0-latency"
