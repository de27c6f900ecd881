"""The figures a person reads first, computed once for every report (issue 23).

Every report (terminal, live view's last frame, Markdown, HTML, JUnit, the web UI's Chaos
page, compare) prints these and computes none of them, so the same journal says the same
number everywhere:

- ``run_config``: how the run was configured (profile, host, Toxiproxy, seed, time scale,
  retry policy, every ``--set``, cars, drivers, workers), from the journal's header.
- ``traffic``: one phase's (or the whole run's) requests, failures, statuses, server
  errors on the phone API (``errors_5xx``: the answers the ``error_5xx_ratio`` SLO counts),
  the answers the profile declares normal (``normal``, e.g. 408 car asleep: counted apart,
  never as failures), payload bytes sent and received, and each action's latency figures
  (avg, min, med, max, p90, p95) within that phase alone. The run's figures are the sum
  of its phases' whenever every sample lies in a phase (phases cover the run from 0 s).
- ``drivers``: drivers in the fleet, drivers stranded at least once, needs (attempts to
  get in) and needs that ended stranded: "N of M drivers stranded" has M = the fleet's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fleetchaos.scenarios.metrics import (
    UNLOCK_ACTIONS,
    is_fleet_api,
    merge_counts,
    ok_ratio,
    percentile,
)

RECORD = dict[str, Any]


def run_config(header: Mapping[str, Any]) -> RECORD:
    """``summary["config"]`` from the journal's header (absent keys stay absent)."""
    target = header.get("target") or {}
    fleet = header.get("fleet") or {}
    server = target.get("toxiproxy_server")
    url = target.get("toxiproxy_url")
    toxiproxy = "built-in" if server == "built-in" else (url or server)
    overrides = header.get("overrides")
    out = {"profile": target.get("profile") or fleet.get("profile"), "host": target.get("host"),
           "toxiproxy": toxiproxy, "seed": header.get("seed", fleet.get("seed")),
           "time_scale": header.get("time_scale"), "retry_policy": fleet.get("retry_policy"),
           "overrides": list(overrides) if isinstance(overrides, list) else None,
           "cars": fleet.get("cars"), "drivers": fleet.get("drivers"),
           "workers": fleet.get("workers")}
    return {k: v for k, v in out.items() if v is not None}


def _normal_of(header: Mapping[str, Any]) -> dict[str, set[str]]:
    """action -> the statuses the profile declares normal for it (header ``target.normal``)."""
    normal = (header.get("target") or {}).get("normal") or {}
    if not isinstance(normal, Mapping):
        return {}
    return {str(a): {str(s) for s in statuses} for a, statuses in normal.items()
            if isinstance(statuses, Mapping)}


def _fleet_delta(key: str, first: Mapping[str, Any], last: Mapping[str, Any]) -> int:
    now, before = last.get(key), first.get(key)
    now = now if isinstance(now, int | float) else 0
    before = before if isinstance(before, int | float) else 0
    return max(0, int(now - before))


def traffic(samples: Sequence[Mapping[str, Any]], before: Mapping[str, Any] | None,
            header: Mapping[str, Any]) -> RECORD:
    """One phase's traffic (``samples`` its samples, ``before`` the sample just before it;
    the whole run: all samples, ``before`` None). Replaces the phase's ``failures`` and
    ``by_action`` with ones where the profile's normal answers are counted apart."""
    normal_of = _normal_of(header)
    by_action: dict[str, RECORD] = {}
    by_status: dict[str, int] = {}
    requests = 0
    received = 0
    for s in samples:
        requests += int(s.get("requests") or 0)
        merge_counts(by_status, s.get("by_status"))
        for action, a in (s.get("by_action") or {}).items():
            agg = by_action.setdefault(action, {"requests": 0, "failures": 0, "by_status": {},
                                                "hist": {}, "sum_ms": 0.0, "bytes": 0,
                                                "timed": True})
            agg["requests"] += int(a.get("requests") or 0)
            agg["failures"] += int(a.get("failures") or 0)
            merge_counts(agg["by_status"], a.get("by_status"))
            merge_counts(agg["hist"], a.get("hist"))
            if isinstance(a.get("sum_ms"), int | float):
                agg["sum_ms"] += float(a["sum_ms"])
            elif a.get("hist"):
                agg["timed"] = False  # a journal of an earlier version: no exact average
            agg["bytes"] += int(a.get("bytes") or 0)
    actions: dict[str, RECORD] = {}
    failures = errors_5xx = 0
    normal: dict[str, int] = {}
    for action, agg in by_action.items():
        statuses = agg["by_status"]
        normal_here = {s: n for s, n in statuses.items() if s in normal_of.get(action, ())}
        n_normal = sum(normal_here.values())
        fails = max(0, agg["failures"] - n_normal)
        failures += fails
        merge_counts(normal, normal_here)
        if is_fleet_api(action):
            errors_5xx += sum(n for s, n in statuses.items() if s.startswith("5"))
        received += agg["bytes"]
        actions[action] = {"requests": agg["requests"], "failures": fails, "by_status": statuses,
                           **latency(agg["hist"], agg["sum_ms"] if agg["timed"] else None),
                           **({"normal": normal_here} if normal_here else {}),
                           "bytes_received": agg["bytes"]}
    unlock_hist: dict[str, int] = {}
    unlock_statuses: dict[str, int] = {}
    for action in UNLOCK_ACTIONS:
        merge_counts(unlock_hist, by_action.get(action, {}).get("hist"))
        merge_counts(unlock_statuses, by_action.get(action, {}).get("by_status"))
    unlock_ok = ok_ratio(unlock_statuses)
    first = (before or {}).get("fleet") or {}
    last = (samples[-1].get("fleet") or {}) if samples else first
    sent = _fleet_delta("api_bytes_sent", first, last) + _fleet_delta("telemetry_bytes",
                                                                      first, last)
    return {"requests": requests, "failures": failures, "by_status": by_status,
            "errors_5xx": errors_5xx, "normal": normal, "bytes_sent": sent,
            "bytes_received": received,
            "unlock_success_ratio": None if unlock_ok is None else round(unlock_ok, 4),
            "unlock_p95_ms": percentile(unlock_hist, 0.95),
            "by_action": actions}


def run_totals(samples: Sequence[Mapping[str, Any]], header: Mapping[str, Any],
               telemetry: Mapping[str, Any]) -> RECORD:
    """``summary["totals"]``: the whole run's ``traffic`` (the sum of its phases'), with
    its telemetry, in the order the records write them."""
    figures = traffic(samples, None, header)
    first = {k: figures.pop(k) for k in ("requests", "failures", "by_status")}
    return {**first, "telemetry": dict(telemetry), **figures}


def latency(hist: Mapping[str, int], sum_ms: float | None) -> RECORD:
    """An action's response times over a phase: avg (exact, from Locust's sums), min, med,
    max, p90, p95, p99 (from the histogram, Locust's rounding: 2 significant digits above
    100 ms)."""
    n = sum(hist.values())
    if n <= 0:
        return {"avg_ms": None, "min_ms": None, "p50_ms": None, "max_ms": None,
                "p90_ms": None, "p95_ms": None, "p99_ms": None}
    keys = sorted(hist, key=float)
    avg = sum_ms / n if sum_ms is not None else sum(float(k) * hist[k] for k in keys) / n
    return {"avg_ms": round(avg, 1), "min_ms": float(keys[0]),
            "p50_ms": percentile(hist, 0.5), "max_ms": float(keys[-1]),
            "p90_ms": percentile(hist, 0.9), "p95_ms": percentile(hist, 0.95),
            "p99_ms": percentile(hist, 0.99)}


def _driver_id(record: Mapping[str, Any], index: int) -> object:
    """Who the need was: the driver's index (journals of earlier versions have none: each
    need then counts as its own driver)."""
    driver = record.get("driver")
    return ("driver", driver) if isinstance(driver, int) else ("need", index)


def stranded_drivers(drivers: Sequence[Mapping[str, Any]], phase: str | None = None) -> int:
    """Distinct drivers stranded at least once (in ``phase``, or in the run)."""
    return len({_driver_id(d, i) for i, d in enumerate(drivers)
                if d.get("outcome") == "stranded" and (phase is None or d.get("phase") == phase)})


def driver_figures(drivers: Sequence[Mapping[str, Any]], header: Mapping[str, Any],
                   phase: str | None = None) -> RECORD:
    """``in_fleet``, ``stranded_drivers``, ``needs`` and ``stranded_needs`` (of a phase:
    the needs that ended in it)."""
    mine = [(i, d) for i, d in enumerate(drivers) if phase is None or d.get("phase") == phase]
    with_needs = len({_driver_id(d, i) for i, d in mine})
    out: RECORD = {"needs": len(mine),
                   "stranded_needs": sum(1 for _, d in mine if d.get("outcome") == "stranded"),
                   "drivers_with_needs": with_needs}
    if phase is not None:
        return out  # the phase's distinct stranded drivers are its "stranded"
    out["stranded_drivers"] = stranded_drivers(drivers)
    declared = (header.get("fleet") or {}).get("drivers")
    if isinstance(declared, int) or with_needs:
        # the fleet's drivers (a users step may have added some: never fewer than were seen)
        out["in_fleet"] = max(declared if isinstance(declared, int) else 0, with_needs)
    return out
