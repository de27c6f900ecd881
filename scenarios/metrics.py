"""Small arithmetic shared by the sampler, the summary and the reports: histograms
(Locust's rounded response times → counts) and their percentiles, status merges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

UNLOCK_ACTIONS = ("unlock", "remote_start")
TELEMETRY_ACTIONS = ("telemetry", "telemetry_connect")
CANARY_PREFIX = "canary "  # the canary's stats names (fleet_sim/canary.py): never the fleet's


def is_fleet_api(action: str) -> bool:
    """A phone API action of the fleet (not telemetry, not the canary's probes)."""
    return action not in TELEMETRY_ACTIONS and not action.startswith(CANARY_PREFIX)


def merge_counts(into: dict[str, int], more: Mapping[str, int] | None) -> dict[str, int]:
    for key, n in (more or {}).items():
        into[str(key)] = into.get(str(key), 0) + int(n)
    return into


def percentile(hist: Mapping[str, int], q: float) -> float | None:
    total = sum(hist.values())
    if total <= 0:
        return None
    target = q * total
    seen = 0
    for key in sorted(hist, key=float):
        seen += hist[key]
        if seen >= target:
            return float(key)
    return float(max(hist, key=float))


def hist_diff(now: Mapping[Any, int], before: Mapping[Any, int]) -> dict[str, int]:
    out = {}
    for key, n in now.items():
        d = n - before.get(key, 0)
        if d > 0:
            out[str(key)] = d
    return out


def ok_ratio(by_status: Mapping[str, int]) -> float | None:
    total = sum(by_status.values())
    if total == 0:
        return None
    return sum(n for s, n in by_status.items() if s.startswith("2")) / total


def ratio_5xx(by_status: Mapping[str, int]) -> float | None:
    total = sum(by_status.values())
    if total == 0:
        return None
    return sum(n for s, n in by_status.items() if s.startswith("5")) / total


def statuses_of(by_action: Mapping[str, Any], actions: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for action in actions:
        merge_counts(out, (by_action.get(action) or {}).get("by_status"))
    return out
