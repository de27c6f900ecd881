"""Journals with the documented record shapes, written by the real JournalWriter, so the
renderers can be tested without a run. Numbers are arbitrary but fixed."""

from __future__ import annotations

from pathlib import Path

from fleetchaos.scenarios.journal import JournalWriter, read_journal
from fleetchaos.scenarios.summary import build_summary

PHASES = [{"name": "baseline", "start_s": 0.0, "end_s": 4.0},
          {"name": "flood", "start_s": 4.0, "end_s": 8.0},
          {"name": "recovery", "start_s": 8.0, "end_s": 12.0}]


def write_journal(path: Path, *, complete: bool = True, late_off_s: float = 0.0,
                  cpu_share_max: float | None = None) -> Path:
    """``late_off_s``: the flood's rollback starts this long after its scheduled 8.0 s (a
    CPU-bound Locust process's gevent timer); ``cpu_share_max``: the busiest fleet
    process's CPU share in every sample."""
    off = 8.0 + late_off_s
    cpu = {} if cpu_share_max is None else {"fleet_cpu_share_max": cpu_share_max}
    j = JournalWriter(path)
    j.write("header", t=0.0, run_id="r1234567", scenario="verbosity-flood-2021",
            title="The lockout (test)", description="", seed=7, started_at="2026-01-01T00:00:00",
            versions={"python": "3.11"}, target={"profile": "reference",
                                                 "host": "http://127.0.0.1:1",
                                                 "toxiproxy_server": "built-in"},
            fleet={"cars": 10, "drivers": 5}, duration_s=12.0, phases=PHASES,
            slos=[{"name": "unlocks work in the flood", "phase": "flood",
                   "metric": "unlock_success_ratio", "op": ">=", "threshold": 0.95},
                  {"name": "nobody stranded", "phase": "all", "metric": "stranded_drivers",
                   "op": "<=", "threshold": 0.0}],
            timeline=[{"index": 0, "at_s": 4.0, "duration_s": 4.0, "end_s": 8.0,
                       "action": "verbosity", "spec": {"level": 60, "cohort": 0.5}}],
            leftovers_removed=[])
    sent = acked = 0
    for sec in range(1, 13):
        flood = 5 <= sec <= 9
        sent += 100 if flood else 10
        acked += 40 if flood else 10
        unlock = {"200": 2, "500": 3} if flood else {"200": 4}
        j.write("sample", t=float(sec), dt=1.0, phase=PHASES[min(2, (sec - 1) // 4)]["name"],
                users=15, requests=20, failures=3 if flood else 0,
                by_status={"200": 10, **({"500": 3} if flood else {})},
                p50_ms=20.0, p95_ms=900.0 if flood else 40.0, p99_ms=1500.0 if flood else 60.0,
                by_action={"unlock": {"requests": 5, "failures": 3 if flood else 0,
                                      "by_status": unlock,
                                      "hist": {"20": 2, "2000": 3} if flood else {"20": 4},
                                      "p50_ms": 20.0, "p95_ms": 2000.0, "p99_ms": 2000.0},
                           "canary unlock": {"requests": 2, "failures": 2 if flood else 0,
                                             "by_status": {"500": 2} if flood else {"200": 2},
                                             "hist": {"30": 2}, "p50_ms": 30.0,
                                             "p95_ms": 30.0, "p99_ms": 30.0},
                           "telemetry": {"requests": 40 if flood else 10, "failures": 0,
                                         "by_status": {}, "hist": {"5": 10},
                                         "p50_ms": 5.0, "p95_ms": 5.0, "p99_ms": 5.0}},
                fleet={"cars_connected": 10, "telemetry_sent": sent, "telemetry_acked": acked,
                       "telemetry_resent": 0, "telemetry_bytes": sent * 400, **cpu},
                active_faults=["knobs"] if flood else [])
        if sec == 4:
            j.write("step", t=4.0, action="verbosity", step=0, phase="flood",
                    detail={"verbosity": 60, "cohort": 0.5}, manual=False, scheduled_s=4.0,
                    call_s=[4.0, 4.0], until_s=8.0)
        if sec == int(off):  # the engine's rollback: same step key, detail.rollback says why
            j.write("step", t=off, action="verbosity", step="0", phase="recovery",
                    detail={"verbosity": 1.0, "cohort": 1.0, "rollback": "duration ended"},
                    manual=False, label="verbosity x60 on 50 %", fault=True, on_s=4.0,
                    off_s=off, call_s=[off, off],
                    effect={"count": 240, "what": "telemetry records"})
        if sec == 9:  # a fault added by hand in the web UI, removed by hand
            j.write("step", t=9.0, action="toxic_add", step=1001, phase="recovery",
                    detail={"proxy": "api", "name": "fleetchaos-r1234567-1001-latency",
                            "type": "latency", "stream": "downstream", "toxicity": 1.0,
                            "attributes": {"latency": 500}}, manual=True, until_s=None)
        if sec == 10:
            j.write("step", t=10.5, action="toxic_remove", step="1001", phase="recovery",
                    detail={"name": "fleetchaos-r1234567-1001-latency",
                            "rollback": "removed by hand"}, manual=True, fault=True,
                    on_s=9.0, off_s=10.5)
        if sec == 7:
            j.write("driver", t=7.0, phase="flood", outcome="stranded", time_to_access_s=None,
                    attempts=12, policy="fixed-1s", vin="5YJ3E1EA7KF000001", waited_s=15)
            j.write("driver", t=7.5, phase="flood", outcome="keycard", time_to_access_s=25.0,
                    attempts=12, policy="fixed-1s", vin="5YJ3E1EA7KF000002", waited_s=15)
        if sec in (2, 11):
            j.write("driver", t=float(sec), phase="baseline" if sec == 2 else "recovery",
                    outcome="app", time_to_access_s=0.5, attempts=1, policy="fixed-1s",
                    vin="5YJ3E1EA7KF000003", waited_s=0.5)
    if complete:
        j.write("cleanup", t=12.5, reason="test", removed=[], left=[], leftovers_found=[])
        j.write("summary", t=12.6, **build_summary(read_journal(path)))
    j.close()
    return path


STORY_DRIVERS = [  # (t, phase, driver, outcome): driver 1 is stranded twice, driver 2 once
    (2.0, "baseline", 0, "app"), (3.0, "baseline", 1, "app"), (6.0, "flood", 1, "stranded"),
    (7.0, "flood", 2, "stranded"), (7.5, "flood", 3, "keycard"),
    (10.0, "recovery", 1, "stranded"), (11.0, "recovery", 4, "bluetooth")]


def write_story_journal(path: Path, *, run_id: str = "story-1",
                        retry_policy: str = "exponential-full-jitter", retries: int = 0,
                        flood_ok: int = 2) -> Path:
    """A finished run whose figures a careless report could tell differently: server
    errors in two phases (and the canary's 500s, which are not the fleet's), 408 car
    asleep answers the profile declares normal, a driver stranded twice (7 needs of 5
    drivers), a canary still failing when the run ended (recovery is a lower bound), the
    run's settings in the header (time scale, --set), response times and bytes per action.
    ``retries``: more unlocks answered 500 each second of the flood (a retry policy's
    amplification); ``flood_ok``: unlocks answered 200 each second of the flood."""
    j = JournalWriter(path)
    j.write("header", t=0.0, run_id=run_id, scenario="verbosity-flood-2021",
            title="The lockout (story)", description="", seed=11,
            started_at="2026-01-02T03:04:05+00:00", hostname="ci-1",
            versions={"python": "3.11", "fleetchaos": "0.3.0"},
            target={"profile": "reference", "host": "http://127.0.0.1:8080",
                    "toxiproxy_url": "http://127.0.0.1:8474", "toxiproxy_server": "built-in",
                    "normal": {"vehicle_data": {"408": "car asleep"}}},
            fleet={"cars": 10, "drivers": 5, "retry_policy": retry_policy,
                   "workers": 2, "canary": {"actions": ["unlock"], "window_s": 2}},
            duration_s=12.0, phases=PHASES, time_scale=0.5,
            overrides=["fleet.cars=10", f"fleet.retry_policy={retry_policy}"],
            slos=[{"name": "unlocks work in the flood", "phase": "flood",
                   "metric": "unlock_success_ratio", "op": ">=", "threshold": 0.95},
                  {"name": "nobody stranded", "phase": "all", "metric": "stranded_drivers",
                   "op": "<=", "threshold": 0.0},
                  {"name": "server errors stay rare", "phase": "all",
                   "metric": "error_5xx_ratio", "op": "<=", "threshold": 0.01},
                  {"name": "unlocks recover within 2 s", "phase": "all",
                   "metric": "recovery_s", "op": "<=", "threshold": 2.0}],
            timeline=[{"index": 0, "at_s": 4.0, "duration_s": 4.0, "end_s": 8.0,
                       "action": "verbosity", "spec": {"level": 60, "cohort": 0.5},
                       "label": "verbosity x60 on 50 %", "fault": True}],
            leftovers_removed=[])
    sent = acked = api_sent = 0
    for sec in range(1, 13):
        phase = PHASES[min(2, (sec - 1) // 4)]["name"]
        flood, late = phase == "flood", phase == "recovery"
        sent += 100 if flood else 10
        acked += 40 if flood else 10
        api_sent += 600
        unlock = {"200": flood_ok, "500": 3 + retries} if flood \
            else {"200": 3, "500": 1} if late else {"200": 5}
        n_unlock = sum(unlock.values())
        vehicle = {"200": 3, "408": 2} if phase == "baseline" else {"200": 5}
        canary = {"500": 3} if sec >= 5 else {"200": 3}  # never back: recovery a lower bound
        n5 = unlock.get("500", 0)
        j.write("sample", t=float(sec), dt=1.0, phase=phase, users=15,
                requests=n_unlock + 5 + 3 + (40 if flood else 10),
                failures=n5 + vehicle.get("408", 0) + canary.get("500", 0),
                by_status={**unlock, "408": vehicle.get("408", 0)},
                p50_ms=20.0, p95_ms=900.0, p99_ms=1500.0,
                by_action={
                    "unlock": {"requests": n_unlock, "failures": n5, "by_status": unlock,
                               "hist": {"20": n_unlock - n5, "2000": n5} if n5
                               else {"20": n_unlock},
                               "sum_ms": 100.0 + 2000.0 * n5 - 20.0 * n5, "bytes": 250,
                               "p50_ms": 20.0, "p95_ms": 2000.0 if n5 else 20.0,
                               "p99_ms": 2000.0 if n5 else 20.0},
                    "vehicle_data": {"requests": 5, "failures": vehicle.get("408", 0),
                                     "by_status": vehicle, "hist": {"8": 5}, "sum_ms": 40.0,
                                     "bytes": 2000, "p50_ms": 8.0, "p95_ms": 8.0,
                                     "p99_ms": 8.0},
                    "canary unlock": {"requests": 3, "failures": canary.get("500", 0),
                                      "by_status": canary, "hist": {"30": 3}, "sum_ms": 90.0,
                                      "bytes": 100, "p50_ms": 30.0, "p95_ms": 30.0,
                                      "p99_ms": 30.0},
                    "telemetry": {"requests": 40 if flood else 10, "failures": 0,
                                  "by_status": {}, "hist": {"5": 40 if flood else 10},
                                  "sum_ms": 200.0 if flood else 50.0, "bytes": 0,
                                  "p50_ms": 5.0, "p95_ms": 5.0, "p99_ms": 5.0}},
                fleet={"cars_connected": 10, "telemetry_sent": sent, "telemetry_acked": acked,
                       "telemetry_resent": 0, "telemetry_bytes": sent * 400,
                       "api_bytes_sent": api_sent},
                active_faults=["verbosity x60 on 50 %"] if flood else [])
        if sec == 4:
            j.write("step", t=4.0, action="verbosity", step=0, phase="flood",
                    detail={"verbosity": 60, "cohort": 0.5}, manual=False,
                    label="verbosity x60 on 50 %", fault=True)
        if sec == 8:
            j.write("step", t=8.0, action="verbosity", step="0", phase="recovery",
                    detail={"verbosity": 1.0, "cohort": 1.0, "rollback": "duration ended"},
                    manual=False, label="verbosity x60 on 50 %", fault=True, on_s=4.0,
                    off_s=8.0, effect={"count": 240, "what": "telemetry records"})
        for t, where, driver, outcome in STORY_DRIVERS:
            if sec - 1 < t <= sec:
                j.write("driver", t=t, phase=where, outcome=outcome, driver=driver,
                        time_to_access_s=None if outcome == "stranded" else 0.5,
                        attempts=3, policy=retry_policy,
                        vin=f"5YJ3E1EA7KF00000{driver}", waited_s=15 if outcome == "stranded"
                        else 0.5, need_ended_s=t)
    j.write("cleanup", t=12.5, reason="test", removed=[], left=[], leftovers_found=[])
    j.write("summary", t=12.6, **build_summary(read_journal(path)))
    j.close()
    return path
