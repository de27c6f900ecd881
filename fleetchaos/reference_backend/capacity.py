"""The backend's bounded resources, all configurable, with the reasons for their defaults.

The defaults make a small backend: one SQLite file behind a pool of four connections
that telemetry ingestion and the phone API share. That sharing is the point: a naive
ingestion path that commits one record per transaction eats the pool under a
verbosity flood, the API waits for a connection past its deadline and answers 500,
exactly the 2021 failure mode. Nothing here fails on purpose; the numbers only
decide where the knee is. See docs/reference-backend.md and docs/benchmarks/backend.md.
"""

from __future__ import annotations

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
        known = {f.name: f.type for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown knob {key!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, key)
            if isinstance(current, str):
                if value not in ("OFF", "NORMAL", "FULL"):
                    raise ValueError(f"{key} must be OFF, NORMAL or FULL")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{key} must be a positive number")
            else:
                value = type(current)(value)
            setattr(self, key, value)
        return sorted(changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
