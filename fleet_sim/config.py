"""The fleet's configuration: one object, sent whole to every worker, changed by knobs.

Defaults and where they come from (../shared/reference/connected-car-facts.md):
- telemetry interval 10 s per car baseline: a mix of 1 s (location/gear, on change),
  30 s and 60 s fields averages out to a record every few seconds while driving and
  far fewer parked; 10 s is the bench's "1 record per 10 s" figure (est).
- 20 fields per record: the third-party cap of about 20 fields.
- verbosity 60 in the flood: "intervals from 60 s to 1 s on about 20 fields" (est).
- retry fixed-1s: the open vehicle-command client retries every 1 s, no jitter.
- patience 20 s (est): a driver taps again for a while, then looks for a key card.
- fallbacks (est): Bluetooth phone key needs enrolment, a logged-in app and Bluetooth
  on; many owners rely on the phone alone, and few carry the card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

RETRY_POLICIES = ("fixed-1s", "exponential-full-jitter", "retry-budget")


def _default_fallbacks() -> dict[str, float]:
    return {"bluetooth_enrolled": 0.5, "logged_in": 0.8, "bluetooth_on": 0.7, "keycard": 0.2}


def _default_canary() -> dict[str, Any]:
    return {"count": 1, "actions": ["unlock"], "interval_s": 0.5, "window_s": 5.0,
            "recovered_ratio": None, "latency_factor": 1.5}


CANARY_KEYS = frozenset(_default_canary())


def _default_telemetry() -> dict[str, Any]:
    return {"transport": "websocket", "interval_s": 10.0, "fields": 20, "ack_timeout_s": 5.0,
            "min_interval_s": 0.05, "max_fields": 100, "asleep_share": 0.1,
            "wake_delay_s": 3.0}


@dataclass(frozen=True)
class FleetConfig:
    seed: int = 2021
    cars: int = 100
    drivers: int = 100
    profile: str = "reference"
    api_url: str = ""
    telemetry_url: str = ""
    admin_url: str | None = None
    admin_token: str | None = None
    verbosity: float = 1.0
    cohort: float = 1.0
    retry_policy: str = "fixed-1s"
    patience_s: float = 20.0
    need_interval_s: float = 30.0
    workers: int = 1
    # several Toxiproxy servers: where each share of the workers reaches the proxies
    # ({api_url, telemetry_url}; a worker takes share worker_index % len, fleet_sim/knobs.py)
    proxy_shares: list[dict[str, str]] = field(default_factory=list)
    started_at: float = 0.0  # the run's start (epoch s); drivers' needs are planned from it
    canary: dict[str, Any] = field(default_factory=_default_canary)
    fallbacks: dict[str, float] = field(default_factory=_default_fallbacks)
    telemetry: dict[str, Any] = field(default_factory=_default_telemetry)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FleetConfig:
        return cls().merged(data)

    def merged(self, changes: dict[str, Any]) -> FleetConfig:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fleet setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        updates = dict(changes)
        for key in ("fallbacks", "telemetry", "canary"):
            if key in updates:
                if not isinstance(updates[key], dict):
                    raise ValueError(f"fleet setting {key!r} must be a mapping")
                updates[key] = {**getattr(self, key), **updates[key]}
        new = replace(self, **updates)
        new.validate()
        return new

    def validate(self) -> None:
        if self.retry_policy not in RETRY_POLICIES:
            raise ValueError(f"retry_policy must be one of {', '.join(RETRY_POLICIES)}, "
                             f"got {self.retry_policy!r}")
        for name in ("cars", "drivers"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a whole number >= 0")
        if not 0 <= self.cohort <= 1:
            raise ValueError("cohort must be a share between 0 and 1")
        if self.verbosity <= 0 or self.patience_s <= 0 or self.need_interval_s <= 0:
            raise ValueError("verbosity, patience_s and need_interval_s must be positive")
        if self.telemetry.get("transport") not in ("websocket", "http"):
            raise ValueError("telemetry.transport must be websocket or http")
        _validate_canary(self.canary)
        for share in self.proxy_shares:
            if not isinstance(share, dict) or not all(
                    isinstance(share.get(k), str) for k in ("api_url", "telemetry_url")):
                raise ValueError("proxy_shares must be a list of {api_url, telemetry_url}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _validate_canary(canary: dict[str, Any]) -> None:
    unknown = sorted(set(canary) - CANARY_KEYS)
    if unknown:
        raise ValueError(f"unknown canary setting {unknown[0]!r}; known: "
                         f"{', '.join(sorted(CANARY_KEYS))}")
    count = canary.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10:
        raise ValueError("canary.count must be a whole number from 0 to 10")
    actions = canary.get("actions")
    if isinstance(actions, str):
        actions = [actions]
    if not isinstance(actions, list) or not actions \
            or not all(isinstance(a, str) and a for a in actions):
        raise ValueError("canary.actions must be a non-empty list of profile action names")
    for key, low, high in (("interval_s", 0.05, 60.0), ("window_s", 1.0, 600.0),
                           ("latency_factor", 1.0, 100.0)):
        value = canary.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not low <= value <= high:
            raise ValueError(f"canary.{key} must be a number from {low:g} to {high:g}")
    ratio = canary.get("recovered_ratio")
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, int | float)
                              or not 0 < ratio <= 1):
        raise ValueError("canary.recovered_ratio must be a share above 0 and at most 1")
