"""Small journals in the documented record shapes, for the recovery and summary tests.

A run of ``duration`` seconds, one fault from ``fault_on`` to ``fault_off``, one sample a
second; ``canary(t)`` gives the canary's (ok, failed) probes in the second ending at t,
``canary_ms(t)`` (optional) how long each of them took.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PHASES: list[dict[str, Any]] = [{"name": "baseline", "start_s": 0.0, "end_s": 10.0},
                                {"name": "fault", "start_s": 10.0, "end_s": 20.0},
                                {"name": "recovery", "start_s": 20.0, "end_s": 40.0}]

Probe = Callable[[float], tuple[int, int]]


def journal(canary: Probe, *, fault_on: float = 10.0, fault_off: float | None = 20.0,
            duration: float = 40.0, canary_settings: dict[str, Any] | None = None,
            slos: list[dict[str, Any]] | None = None, rollback_at: float | None = None,
            drivers: list[dict[str, Any]] | None = None,
            fleet_unlock: Probe | None = None,
            canary_ms: Callable[[float], float] | None = None) -> list[dict[str, Any]]:
    header = {"type": "header", "t": 0.0, "run_id": "r1", "scenario": "s", "seed": 7,
              "duration_s": duration, "phases": PHASES, "fleet": {"cars": 1, "drivers": 1},
              "slos": slos or [],
              "timeline": [{"index": 0, "at_s": fault_on,
                            "duration_s": None if fault_off is None else fault_off - fault_on,
                            "end_s": fault_off, "action": "proxy_down",
                            "spec": {"proxy": "api"}}]}
    records: list[dict[str, Any]] = [header]
    if canary_settings is not None:
        records.append({"type": "schedule", "t": 0.0, "canary": canary_settings})
    for sec in range(1, int(duration) + 1):
        t = float(sec)
        ok, bad = canary(t)
        by_action: dict[str, Any] = {}
        if ok or bad:
            by_action["canary unlock"] = {"requests": ok + bad, "failures": bad,
                                          "by_status": {k: n for k, n in (("200", ok), ("0", bad))
                                                        if n}}
            if canary_ms is not None:  # every probe of the second took this long
                by_action["canary unlock"]["hist"] = {str(int(canary_ms(t))): ok + bad}
        if fleet_unlock is not None:
            f_ok, f_bad = fleet_unlock(t)
            by_action["unlock"] = {"requests": f_ok + f_bad, "failures": f_bad,
                                   "by_status": {k: n for k, n in (("200", f_ok), ("500", f_bad))
                                                 if n}}
        phase = next(p["name"] for p in PHASES if p["start_s"] < t <= p["end_s"])
        records.append({"type": "sample", "t": t, "dt": 1.0, "phase": phase,
                        "requests": ok + bad, "failures": bad, "by_status": {},
                        "by_action": by_action, "fleet": {}})
        if rollback_at is not None and rollback_at == t:
            records.append({"type": "step", "t": t, "action": "proxy_up", "step": "0",
                            "phase": phase, "manual": False,
                            "detail": {"proxy": "api", "rollback": "duration ended"}})
    records.extend(drivers or [])
    end_reason = "run ended (test stopped)"
    if fault_off is None:
        records.append({"type": "step", "t": duration, "action": "proxy_up", "step": "0",
                        "phase": "recovery", "manual": False,
                        "detail": {"proxy": "api", "rollback": end_reason}})
    records.append({"type": "cleanup", "t": duration + 1, "removed": [], "left": []})
    return records


def healthy(t: float) -> tuple[int, int]:
    return 2, 0


def down_between(start: float, end: float) -> Probe:
    """Every probe fails in (start, end], succeeds otherwise."""
    return lambda t: (0, 2) if start < t <= end else (2, 0)
