"""Once a second: what happened in that second, from Locust's stats and the fleet counters.

Locust's stats are cumulative (and, on a master, the sum of the workers' reports);
the sampler keeps the previous snapshot and writes the difference, including the
interval's latency histogram per action, so phases can compute true percentiles, the
sum of its response times (``sum_ms``: a phase's exact average) and the bytes of its
responses' bodies (``bytes``: Locust's response lengths).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetchaos.scenarios.metrics import hist_diff, percentile

if TYPE_CHECKING:
    from locust.env import Environment


def _locust_totals(environment: Environment) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (name, _method), entry in environment.stats.entries.items():
        agg = out.setdefault(name, {"requests": 0, "failures": 0, "rt": {}, "sum_ms": 0.0,
                                    "bytes": 0})
        agg["requests"] += entry.num_requests
        agg["failures"] += entry.num_failures
        agg["sum_ms"] += float(entry.total_response_time)
        agg["bytes"] += int(entry.total_content_length)
        for ms, n in entry.response_times.items():
            agg["rt"][ms] = agg["rt"].get(ms, 0) + n
    return out


GAUGES = frozenset({"cars_connected"})  # fleet figures that are a level, not a running count


def since(now: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Cumulative fleet counters counted from ``base`` (gauges as they are)."""
    out: dict[str, Any] = {}
    for key, value in now.items():
        before = base.get(key)
        if key in GAUGES or before is None:
            out[key] = value
        elif isinstance(value, dict):
            out[key] = since(value, before if isinstance(before, dict) else {})
        elif isinstance(value, int | float) and isinstance(before, int | float):
            out[key] = max(0, value - before)
        else:
            out[key] = value
    return out


class Sampler:
    """Made when a run sets up. The fleet's counters live as long as the Locust process
    (and each worker): a second run in the same web UI counts from where they stood when
    it set up, as Locust's own stats start from zero on each start (runner.start clears
    them)."""

    def __init__(self, environment: Environment, fleet_snapshot: Any) -> None:
        self.environment = environment
        self.fleet_snapshot = fleet_snapshot
        self.prev_locust: dict[str, dict[str, Any]] = {}
        self.base_fleet: dict[str, Any] = dict(fleet_snapshot(environment))
        self.prev_status: dict[str, dict[str, int]] = {}
        self.latest_fleet: dict[str, Any] = {}

    def sample(self) -> dict[str, Any]:
        now = _locust_totals(self.environment)
        fleet = since(self.fleet_snapshot(self.environment), self.base_fleet)
        self.latest_fleet = fleet
        status_now = fleet.get("status_by_action", {})
        by_action: dict[str, dict[str, Any]] = {}
        all_hist: dict[str, int] = {}
        requests = failures = 0
        for name, agg in now.items():
            before = self.prev_locust.get(name, {"requests": 0, "failures": 0, "rt": {},
                                                 "sum_ms": 0.0, "bytes": 0})
            hist = hist_diff(agg["rt"], before["rt"])
            d_req = agg["requests"] - before["requests"]
            d_fail = agg["failures"] - before["failures"]
            if not (d_req or d_fail or hist):
                continue
            requests += d_req
            failures += d_fail
            for k, n in hist.items():
                all_hist[k] = all_hist.get(k, 0) + n
            by_action[name] = {"requests": d_req, "failures": d_fail, "hist": hist,
                               "p50_ms": percentile(hist, 0.5), "p95_ms": percentile(hist, 0.95),
                               "p99_ms": percentile(hist, 0.99), "by_status": {},
                               "sum_ms": round(max(0.0, agg["sum_ms"] - before["sum_ms"]), 1),
                               "bytes": max(0, agg["bytes"] - before["bytes"])}
        by_status: dict[str, int] = {}
        for action, statuses in status_now.items():
            diff = hist_diff(statuses, self.prev_status.get(action, {}))
            if not diff:
                continue
            entry = by_action.setdefault(action, {"requests": 0, "failures": 0, "hist": {},
                                                  "p50_ms": None, "p95_ms": None,
                                                  "p99_ms": None, "by_status": {}})
            entry["by_status"] = diff
            for s, n in diff.items():
                by_status[s] = by_status.get(s, 0) + n
        self.prev_locust = now
        self.prev_status = {a: dict(s) for a, s in status_now.items()}
        return {"requests": requests, "failures": failures, "by_status": by_status,
                "p50_ms": percentile(all_hist, 0.5), "p95_ms": percentile(all_hist, 0.95),
                "p99_ms": percentile(all_hist, 0.99), "by_action": by_action,
                "fleet": {k: v for k, v in fleet.items() if k != "status_by_action"}}
