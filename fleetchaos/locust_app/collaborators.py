"""The real collaborators the steps use during a Locust run: the fleet (knobs broadcast
to every fleet process, its size, its counters) and the backend's admin API.

The engine and the steps only see the protocols in ``scenarios.steps.base``; tests
pass fakes instead of these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from locust.env import Environment


class LocustFleet:
    """``Fleet`` over a Locust environment (master or local runner)."""

    def __init__(self, environment: Environment, cars: int, drivers: int) -> None:
        self.environment = environment
        self._size = (cars, drivers)

    def set_knobs(self, changes: Mapping[str, Any]) -> None:
        from fleetchaos.fleet_sim import knobs

        knobs.broadcast(self.environment, dict(changes))

    def set_size(self, cars: int, drivers: int) -> None:
        from fleetchaos.fleet_sim.locust_users import set_fleet_size

        self._size = (cars, drivers)
        set_fleet_size(cars, drivers)

    def size(self) -> tuple[int, int]:
        return self._size

    def telemetry_sent(self) -> int:
        from fleetchaos.fleet_sim import stats

        return int(stats.snapshot(self.environment).get("telemetry_sent", 0))

    def requests(self, actions: Sequence[str]) -> int:
        """Requests (answered or failed) of these Locust stats names so far, cumulative."""
        wanted = set(actions)
        return sum(entry.num_requests for (name, _method), entry
                   in self.environment.stats.entries.items() if name in wanted)


class BackendAdminError(RuntimeError):
    """The backend's admin API refused or did not answer."""


class HttpBackendAdmin:
    """``BackendAdmin`` over the reference backend's /admin API."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base = base_url.rstrip("/")
        self.headers = {"X-Admin-Token": token or ""}

    def knobs(self) -> dict[str, Any]:
        try:
            resp = requests.get(f"{self.base}/admin/stats", headers=self.headers, timeout=10)
        except requests.RequestException as exc:
            raise BackendAdminError(f"backend admin API at {self.base} did not answer: {exc}") \
                from None
        if resp.status_code != 200:
            raise BackendAdminError(f"backend knobs need the reference backend's admin API "
                                    f"(GET /admin/stats answered {resp.status_code})")
        return dict(resp.json().get("capacity") or {})

    def set_knobs(self, changes: Mapping[str, Any]) -> None:
        try:
            resp = requests.post(f"{self.base}/admin/knobs", json=dict(changes),
                                 headers=self.headers, timeout=10)
        except requests.RequestException as exc:
            raise BackendAdminError(f"backend admin API at {self.base} did not answer: {exc}") \
                from None
        if resp.status_code != 200:
            raise BackendAdminError(f"backend refused knobs {dict(changes)}: "
                                    f"{resp.status_code} {resp.text[:200]}")
