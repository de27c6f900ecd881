"""A status as engine.status() gives it mid-run (two faults on, one by hand) and two
judged SLOs: the input of the family and dashboard tests."""

from __future__ import annotations

FLEET = {"cars_connected": 9, "cars_total": 10, "telemetry_sent": 120, "telemetry_acked": 100,
         "telemetry_resent": 7, "telemetry_bytes": 4096, "telemetry_dropped": 3,
         "keepalive_retries": 1, "commands_received": 5, "commands_acked": 4,
         "drivers_needing": 6, "accessed": {"app": 3, "bluetooth": 1, "keycard": 0},
         "stranded": 2, "status_by_action": {"unlock": {"200": 3, "500": 4}, "telemetry": {"0": 2}}}

TOXIC = {"key": "0", "kind": "toxic", "label": "latency 800 ms on api (downstream)",
         "name": "fc-run1-0-latency", "names": ["fc-run1-0-latency"], "on_s": 10.002,
         "manual": False, "proxy": "api",
         "spec": {"proxy": "api", "type": "latency", "stream": "downstream"}}
FLOOD = {"key": "1001", "kind": "verbosity", "label": "verbosity x60 on 80 % of cars",
         "name": "verbosity x60 on 80 % of cars", "names": [], "on_s": 12.5, "manual": True,
         "proxy": None, "spec": {"level": 60, "cohort": 0.8}}


def status(**extra):
    return {"run_id": "run1", "scenario": "api-latency", "title": 'API "latency"',
            "elapsed_s": 12.7, "duration_s": 40.0, "phase": "slow", "finished": False,
            "setup_error": None, "fleet": FLEET, "active_faults": [TOXIC, FLOOD], **extra}


SLOS = [
    {"name": "unlocks keep working", "phase": "slow", "metric": "unlock_ok_ratio", "op": ">=",
     "threshold": 0.95, "observed": 0.43, "passed": False, "state": "break"},
    {"name": "p95", "phase": "recovery", "metric": "unlock_p95_ms", "op": "<=",
     "threshold": 1500, "observed": None, "passed": False, "state": "waiting"},
]
