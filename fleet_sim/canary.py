"""The canary: a fixed-rate synthetic probe of the profile's critical actions.

Drivers need their car at seeded, random moments, so a phase can pass with no driver
trying to unlock, and then nothing says whether unlocks worked. The canary probes every
``interval_s`` whatever the drivers do: one owner with a phone and a car of its own
(reserved identities past any fleet index, registered like the fleet), calling each of
``actions`` (``unlock`` by default) through the same API proxy as the drivers, and, when
the profile's telemetry is a WebSocket, keeping its car connected through the telemetry
proxy to ack commands, as a real car must for an unlock to succeed.

The canary is open-loop: each probe runs in its own greenlet on its own connection (the
session's pool is as large as the probes in flight; geventhttpclient's default of one
connection would queue every probe behind a hanging one), so a probe hanging on a
10 s timeout does not delay the next one (a closed loop would send fewer probes exactly
when the backend is slow, and read as "no data" when it matters most). Its requests are
named ``canary <action>`` in Locust's stats and the fleet's status counters, so the
fleet's own figures (unlock success, 5xx ratio, p95) never include them; the summary
turns the canary's figures into recovery time and ``canary_success_ratio``. A probe whose
login or vehicle lookup failed counts as a failed probe of its action, with that status.
The canary's car reconnects every second (not the fleet's doubling backoff): it probes
the backend, not the edge agent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
import gevent.pool
import requests
from locust import User, task
from locust.contrib.fasthttp import FastHttpSession

from fleetchaos.fleet_sim.config import FleetConfig
from fleetchaos.fleet_sim.identities import CANARY_INDEX_BASE, Identity, identity
from fleetchaos.fleet_sim.phone_app import PhoneApp
from fleetchaos.fleet_sim.profiles import Profile, load_profile, render
from fleetchaos.fleet_sim.registration import RegistrationError, registration_payload
from fleetchaos.fleet_sim.runtime import runtime_of
from fleetchaos.fleet_sim.timing import sleep_until

if TYPE_CHECKING:
    from locust.env import Environment

PREFIX = "canary "
INDEX_BASE = CANARY_INDEX_BASE  # past any fleet index (fleets are capped at 1,000,000)
HTTP_TIMEOUT_S = 10.0  # the same client timeout as the drivers' phones
RECONNECT_S = 1.0
MAX_IN_FLIGHT = 64  # probes waiting at once; beyond it a probe is skipped and counted


@dataclass(frozen=True)
class CanarySettings:
    """The ``fleet.canary`` section (docs/fleet.md); defaults when absent."""

    count: int = 1
    actions: tuple[str, ...] = ("unlock",)
    interval_s: float = 0.5
    window_s: float = 5.0
    recovered_ratio: float | None = None
    latency_factor: float = 1.5  # recovery: the canary's p95 back within this x its baseline

    @classmethod
    def from_mapping(cls, raw: dict[str, Any] | None) -> CanarySettings:
        raw = dict(raw or {})
        actions = raw.pop("actions", cls.actions)
        if isinstance(actions, str):
            actions = (actions,)
        return cls(actions=tuple(str(a) for a in actions), **raw)


def stats_name(action: str) -> str:
    return f"{PREFIX}{action}"


def index_of(k: int) -> int:
    return INDEX_BASE + k


def check_actions(settings: CanarySettings, profile: Profile) -> None:
    """Every probed action must exist in the profile (a clear message, at set-up)."""
    for action in settings.actions:
        if action not in profile.actions:
            raise ValueError(f"fleet.canary.actions: {action!r} is not an action of profile "
                             f"{profile.name!r} (it has {', '.join(sorted(profile.actions))})")


def register_canary(config: FleetConfig, profile: Profile | None = None) -> int:
    """Register the canary's cars with the backend, as ``register_fleet`` does the fleet's."""
    settings = CanarySettings.from_mapping(config.canary)
    profile = profile or load_profile(config.profile)
    check_actions(settings, profile)
    if settings.count == 0 or profile.registration is None or not config.admin_url:
        return 0
    tpl = profile.registration
    variables = {"admin_token": config.admin_token or "",
                 "vehicles": registration_payload(config, range(index_of(0),
                                                                index_of(settings.count)))}
    url = config.admin_url.rstrip("/") + render(tpl.path, variables)
    try:
        resp = requests.request(tpl.method, url, json=render(tpl.json, variables),
                                headers=render(dict(tpl.headers), variables), timeout=60)
    except requests.RequestException as exc:
        raise RegistrationError(f"canary registration at {url} failed: {exc}") from None
    if resp.status_code not in tpl.success:
        raise RegistrationError(
            f"canary registration at {url} answered {resp.status_code}: {resp.text[:200]}")
    return settings.count


class CanaryApp(PhoneApp):
    """The owner's app, with every request named ``canary <action>``."""

    def call(self, action: str, tpl: Any, auth: bool = True) -> tuple[int, Any]:
        return super().call(stats_name(action), tpl, auth)


class CanaryCar:
    """The canary's car: stays connected and acks every command; sends no telemetry."""

    def __init__(self, environment: Environment, config: FleetConfig, profile: Profile,
                 ident: Identity) -> None:
        from fleetchaos.fleet_sim.car_link import streaming_transport

        self.environment = environment
        variables = {"vin": ident.vin, "car_token": ident.car_token}
        self.transport = streaming_transport(config.telemetry_url, profile, variables,
                                             self._fire, self._on_message,
                                             counters=runtime_of(environment).counters)

    def _fire(self, **event: Any) -> None:
        event["name"] = stats_name(str(event.get("name", "")))
        self.environment.events.request.fire(**event)

    def _on_message(self, msg: dict[str, Any]) -> None:
        if msg.get("type") != "command":
            return
        if msg.get("command") == "wake_up":
            self.transport.send_control({"type": "state", "state": "online"})
            return
        self.transport.send_control({"type": "command_ack", "id": msg.get("id"),
                                     "result": True, "reason": ""})

    def keep_connected(self) -> None:
        while True:
            if not self.transport.connected:
                if self.transport.connect():
                    self.transport.send_control({"type": "state", "state": "online"})
                else:
                    gevent.sleep(RECONNECT_S)
                    continue
            gevent.sleep(RECONNECT_S / 4)

    def close(self) -> None:
        self.transport.close()


class CanaryUser(User):
    """The probe: ``count`` of them per run (``fleet.canary.count``), never weighted."""

    fixed_count = 0
    weight = 1

    def on_start(self) -> None:
        self.runtime = runtime_of(self.environment)
        config = self.runtime.config
        self.settings = CanarySettings.from_mapping(config.canary)
        self.k = self.runtime.pools["canary"].take()  # below the count: the registered ones
        self.ident = identity(config.seed, index_of(self.k), config.fallbacks)
        self.profile = self.runtime.profile_for(config)
        session = FastHttpSession(base_url=config.api_url, user=self,
                                  request_event=self.environment.events.request,
                                  connection_timeout=HTTP_TIMEOUT_S,
                                  network_timeout=HTTP_TIMEOUT_S, max_retries=0,
                                  concurrency=MAX_IN_FLIGHT)  # one connection per probe
        self.app = CanaryApp(session, self.profile, self.ident, self.runtime.counters)
        self.car: CanaryCar | None = None
        self.car_greenlet: gevent.Greenlet[[], None] | None = None
        if self.profile.telemetry.get("transport") in ("websocket", "mqtt"):
            self.car = CanaryCar(self.environment, config, self.profile, self.ident)
            self.car_greenlet = gevent.spawn(self.car.keep_connected)
        self.probes = gevent.pool.Pool(MAX_IN_FLIGHT)

    def on_stop(self) -> None:
        self.probes.kill(block=False)
        if self.car_greenlet is not None:
            self.car_greenlet.kill(block=False)
        if self.car is not None:
            self.car.close()
        self.runtime.pools["canary"].give_back(self.k)

    @task
    def probe_forever(self) -> None:
        next_at = time.monotonic()
        while True:
            for action in self.settings.actions:
                if self.probes.full():
                    self.runtime.counters.status(stats_name(action), 0)  # skipped: counts as a failure
                else:
                    self.probes.spawn(self.probe, action)
            next_at += self.settings.interval_s
            next_at = max(next_at, time.monotonic() - self.settings.interval_s)
            sleep_until(next_at)

    def probe(self, action: str) -> None:
        """One probe: log in and find the car if not done yet, then the action."""
        status = self.app.ensure_token()
        if status not in self.profile.login.success:
            self.runtime.counters.status(stats_name(action), status)
            return
        if not self.app.have_vehicle:
            status = self.app.step("list_vehicles")
            if status not in self.profile.actions["list_vehicles"].success:
                self.runtime.counters.status(stats_name(action), status)
                return
            self.app.have_vehicle = True
        self.app.step(action)


__all__ = ["PREFIX", "CanarySettings", "CanaryUser", "register_canary", "stats_name"]
