"""The backend's bounded resources, all configurable, with the reasons for their defaults.

The defaults make a small backend: one SQLite file behind a pool of four connections
that telemetry ingestion and the phone API share. That sharing is the point: a naive
ingestion path that commits one record per transaction eats the pool under a
verbosity flood, the API waits for a connection past its deadline and answers 500,
exactly the 2021 failure mode. Nothing here fails on purpose; the numbers only
decide where the knee is. See docs/reference-backend.md and docs/benchmarks/backend.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class Capacity:
    db_pool_size: int = 4            # connections shared by ingestion and the API
    db_acquire_timeout_s: float = 2.0  # API deadline to get a connection; past it: 500
    telemetry_acquire_timeout_s: float = 5.0  # ingestion gives up; record stays unacked
    sqlite_synchronous: str = "FULL"  # durable commits: acked == stored even on power loss
    command_timeout_s: float = 10.0  # the vehicle-command client's 10 s timeout (facts file)
    token_ttl_s: float = 300.0       # 5-minute SSO access token (facts file)
    ws_rate_limit: int = 1000        # messages per window per car connection (facts file:
    ws_rate_window_s: float = 30.0   # the open telemetry server's 1000 messages / 30 s)
    max_telemetry_bytes: int = 64 * 1024  # per WS message or HTTP batch; larger: 413 / error
    ws_inflight: int = 256           # records one car connection may have in storage at once

    def update(self, changes: dict[str, Any]) -> list[str]:
        """Apply run-time knob changes; unknown names or wrong types raise ValueError."""
        checked = {key: check_knob(key, value) for key, value in changes.items()}
        for key, value in checked.items():  # all checked first: a bad one changes nothing
            setattr(self, key, value)
        return sorted(changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Inclusive bounds of every numeric knob: what one backend process can honour. A pool
# of 10^9 connections would grow the process to gigabytes; the scenario validator
# reads these too, so `fleetchaos validate` refuses what the backend would.
KNOB_LIMITS: dict[str, tuple[float, float]] = {
    "db_pool_size": (1, 256),
    "db_acquire_timeout_s": (0.001, 600.0),
    "telemetry_acquire_timeout_s": (0.001, 600.0),
    "command_timeout_s": (0.001, 600.0),
    "token_ttl_s": (1.0, 30 * 86400.0),
    "ws_rate_limit": (1, 10_000_000),
    "ws_rate_window_s": (0.001, 86400.0),
    "max_telemetry_bytes": (1, 64 * 1024 * 1024),
    "ws_inflight": (1, 1_000_000),
}
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL")


def check_knob(key: str, value: Any) -> Any:
    """The value a knob may take, converted to its type; ValueError names what is wrong."""
    defaults = Capacity()
    known = sorted(f.name for f in fields(defaults))
    if key not in known:
        raise ValueError(f"unknown knob {key!r}; known: {', '.join(known)}")
    current = getattr(defaults, key)
    if isinstance(current, str):
        if value not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"{key} must be one of {', '.join(SQLITE_SYNCHRONOUS)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number")
    low, high = KNOB_LIMITS[key]
    if not low <= value <= high:
        raise ValueError(f"{key} must be between {low:g} and {high:g}, got {value:g}")
    if isinstance(current, int) and value != int(value):
        raise ValueError(f"{key} must be a whole number, got {value:g}")
    return type(current)(value)
