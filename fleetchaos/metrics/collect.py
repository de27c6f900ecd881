"""The run's figures as metric families, from what the engine already keeps.

Nothing here counts anything: the fleet counters are the sampler's latest snapshot
(``engine.status()["fleet"]``, cumulative, summed over workers on a master), the clock,
phase and active faults are ``engine.status()``, and the SLOs are judged on the journal
so far by the same rules as the web UI's SLO cards and the terminal live view
(``reports.run.live.judge_slo``). ``families`` is pure (dicts in, families out) so it is
tested without a run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fleetchaos.metrics.exposition import Family

PREFIX = "fleetchaos_"
SLO_STATES = ("waiting", "pending", "nodata", "ok", "break", "pass", "fail")
PASSING = {"ok": 1, "pass": 1, "break": 0, "fail": 0}
OUTCOMES = ("app", "bluetooth", "keycard", "stranded")

# fleet counter key -> (metric name, type, help)
FLEET: tuple[tuple[str, str, str, str], ...] = (
    ("cars_connected", "cars_connected", "gauge",
     "Cars whose telemetry link is up right now."),
    ("cars_total", "cars_started_total", "counter", "Cars started so far."),
    ("telemetry_sent", "telemetry_sent_total", "counter", "Telemetry messages the cars sent."),
    ("telemetry_acked", "telemetry_acked_total", "counter",
     "Telemetry messages the backend acknowledged."),
    ("telemetry_resent", "telemetry_resent_total", "counter",
     "Telemetry messages sent again after a missing acknowledgement."),
    ("telemetry_dropped", "telemetry_dropped_total", "counter",
     "Telemetry messages the cars gave up on."),
    ("telemetry_bytes", "telemetry_sent_bytes_total", "counter", "Telemetry bytes the cars sent."),
    ("keepalive_retries", "keepalive_retries_total", "counter",
     "Phone requests retried once because a kept-alive connection had been closed."),
    ("commands_received", "commands_received_total", "counter",
     "Remote commands the cars received."),
    ("commands_acked", "commands_acked_total", "counter", "Remote commands the cars acknowledged."),
    ("drivers_needing", "drivers_needing_total", "counter",
     "Drivers who needed to get into their car so far."),
)


def metric_names() -> list[str]:
    """Every family name ``families`` can emit (the dashboard test checks against it)."""
    return [f.name for f in families({"run_id": "x", "fleet": {}}, [], users=0)]


def families(status: Mapping[str, Any], slos: Sequence[Mapping[str, Any]], *,
             users: int | None) -> list[Family]:
    """All families, for one scrape.

    ``status`` is ``engine.status()``; ``slos`` are SLO results (``summary.slos`` shape)
    each with a ``state`` from ``judge_slo``; ``users`` is Locust's running user count.
    """
    out = _run(status, users)
    out += _fleet(status.get("fleet") or {})
    out += _slos(slos)
    out += _faults(status.get("active_faults") or [])
    return out


def _name(suffix: str) -> str:
    return PREFIX + suffix


def _run(status: Mapping[str, Any], users: int | None) -> list[Family]:
    info = Family(_name("run_info"), "gauge", "The run: its id and scenario (value always 1).")
    if status.get("run_id"):
        info.add(1, {"run_id": status.get("run_id"), "scenario": status.get("scenario", ""),
                     "title": status.get("title", "")})
    phase = Family(_name("run_phase"), "gauge",
                   "The scenario phase the run is in now (value 1, the phase as a label).")
    if status.get("phase") and not status.get("finished"):
        phase.add(1, {"phase": status["phase"]})
    elapsed = Family(_name("run_elapsed_seconds"), "gauge",
                     "Seconds since the run's clock started (0 before set-up).")
    elapsed.add(float(status.get("elapsed_s") or 0.0))
    duration = Family(_name("run_duration_seconds"), "gauge",
                      "The scenario's duration in seconds (after --time-scale).")
    duration.add(float(status.get("duration_s") or 0.0))
    finished = Family(_name("run_finished"), "gauge", "1 once the run has ended, else 0.")
    finished.add(1 if status.get("finished") else 0)
    failed = Family(_name("run_setup_failed"), "gauge",
                    "1 when the run's set-up failed (nothing ran), else 0.")
    failed.add(1 if status.get("setup_error") else 0)
    users_family = Family(_name("users"), "gauge", "Locust users running now (cars and phones).")
    if users is not None:
        users_family.add(users)
    return [info, phase, elapsed, duration, finished, failed, users_family]


def _fleet(fleet: Mapping[str, Any]) -> list[Family]:
    out = []
    for key, name, kind, text in FLEET:
        family = Family(_name(name), kind, text)
        family.add(_number(fleet.get(key)))
        out.append(family)
    outcomes = Family(_name("driver_outcomes_total"), "counter",
                      "Drivers who got in (outcome app, bluetooth or keycard) or were stranded "
                      "(outcome stranded: no way in within their patience).")
    accessed = fleet.get("accessed") or {}
    for outcome in OUTCOMES:
        value = fleet.get("stranded") if outcome == "stranded" else accessed.get(outcome)
        outcomes.add(_number(value), {"outcome": outcome})
    responses = Family(_name("responses_total"), "counter",
                       "Fleet responses by action (unlock, telemetry, ...) and HTTP status "
                       "(0: no response).")
    by_action = fleet.get("status_by_action") or {}
    for action in sorted(by_action):
        for status in sorted(by_action[action] or {}):
            responses.add(_number(by_action[action][status]),
                          {"action": action, "status": status})
    return [*out, outcomes, responses]


def _slos(slos: Sequence[Mapping[str, Any]]) -> list[Family]:
    observed = Family(_name("slo_observed"), "gauge",
                      "An SLO's observed value so far (ratios 0..1, times in ms or s as the "
                      "metric label says); absent while there is no data.")
    threshold = Family(_name("slo_threshold"), "gauge", "An SLO's threshold (op says min or max).")
    passing = Family(_name("slo_passing"), "gauge",
                     "1 while an SLO holds (ok, pass), 0 while it breaks (break, fail); "
                     "absent while it cannot be judged yet.")
    state = Family(_name("slo_state"), "gauge",
                   "An SLO's live state, one series per state, 1 for the current one: waiting, "
                   "pending (recovery: judged at the end), nodata, ok, break, pass, fail.")
    for slo in slos:
        labels = {"slo": slo.get("name") or slo.get("metric"), "phase": slo.get("phase", ""),
                  "metric": slo.get("metric", "")}
        value = slo.get("observed")
        if isinstance(value, int | float) and not isinstance(value, bool):
            observed.add(float(value), labels)
        if isinstance(slo.get("threshold"), int | float):
            threshold.add(float(slo["threshold"]), {**labels, "op": slo.get("op", "")})
        current = str(slo.get("state") or "")
        if current in PASSING:
            passing.add(PASSING[current], labels)
        for name in SLO_STATES:
            state.add(1 if name == current else 0, {"slo": labels["slo"], "state": name})
    return [observed, threshold, passing, state]


def _faults(active: Sequence[Mapping[str, Any]]) -> list[Family]:
    count = Family(_name("active_faults"), "gauge", "Faults on right now (scheduled or by hand).")
    count.add(len(active))
    each = Family(_name("fault_active"), "gauge",
                  "One series per fault on right now (value 1): kind is the step (toxic, "
                  "http_error, proxy_down, verbosity, backend), type the toxic type, proxy the "
                  "scenario proxy it acts on, name its Toxiproxy name or label.")
    since = Family(_name("fault_active_since_seconds"), "gauge",
                   "When each fault on right now came on, in run seconds.")
    for fault in active:
        spec = fault.get("spec") or {}
        labels = {"kind": fault.get("kind", ""), "type": spec.get("type", "") if
                  fault.get("kind") == "toxic" else "", "proxy": fault.get("proxy") or
                  spec.get("proxy") or "", "name": fault.get("name", ""),
                  "label": fault.get("label", ""), "manual": "true" if fault.get("manual")
                  else "false"}
        each.add(1, labels)
        since.add(float(fault.get("on_s") or 0.0), labels)
    return [count, each, since]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return value
