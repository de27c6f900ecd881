"""The owner's phone app against a backend profile: token and refresh, vehicle lookup,
wake and poll, then the command — every request named by its action in Locust's stats.

Runs inside a Locust user (gevent); ``session`` is a FastHttpSession pointed at the
API proxy, ``counters`` the fleet counters of the user's environment (fleet_sim/runtime.py).
Returns the status that decided the attempt; 0 stands for a connection error or timeout.

A profile without ``auth.login`` (a static header or API key) never logs in. A request
the profile marks idempotent (GET, PUT and DELETE are by default) that fails because a
reused keep-alive connection was closed by the server is sent once more at once, as
common HTTP clients do; the lost attempt is counted (``keepalive_retries``) and shows in
Locust's stats as ``<action> keep-alive retry``, never as a failure of the action.
"""

from __future__ import annotations

import json
import time
from typing import Any

import gevent
from geventhttpclient.response import HTTPConnectionClosed

from fleetchaos.fleet_sim.identities import Identity
from fleetchaos.fleet_sim.profiles import Profile, RequestTemplate, dig, render
from fleetchaos.fleet_sim.stats import FleetCounters

WAKE_POLL_S = 2.0  # est: the vehicle-command client polls every 10 s; a phone app polls faster


class PhoneApp:
    def __init__(self, session: Any, profile: Profile, ident: Identity,
                 counters: FleetCounters | None = None) -> None:
        self.counters = counters if counters is not None else FleetCounters()
        self.session = session
        self.profile = profile
        self.vars: dict[str, Any] = {
            "vin": ident.vin, "vehicle_id": ident.vin, "owner_email": ident.owner_email,
            "owner_password": ident.owner_password, "car_token": ident.car_token,
            "display_name": ident.display_name,
        }
        self.have_vehicle = "list_vehicles" not in profile.actions
        self._cache: dict[tuple[Any, ...], tuple[str, dict[str, str], Any, int]] = {}
        self.answered = False  # a response came on this session: its connection may be reused

    def _rendered(self, action: str, tpl: RequestTemplate, auth: bool
                  ) -> tuple[str, dict[str, str], Any, int]:
        """Path, headers, body and the body's size in bytes (as Locust encodes it: the
        ``api_bytes_sent`` counter) for a call; cached until a variable they use changes."""
        key = (action, id(tpl), auth, self.vars.get("access_token"),
               self.vars.get("refresh_token"), self.vars.get("vehicle_id"))
        cached = self._cache.get(key)
        if cached is None:
            headers = render(dict(tpl.headers), self.vars)
            if auth:
                headers.update(render(dict(self.profile.auth_header), self.vars))
            body = render(tpl.json, self.vars) if tpl.json is not None else None
            size = len(json.dumps(body).encode()) if body is not None else 0
            cached = (render(tpl.path, self.vars), headers, body, size)
            self._cache[key] = cached
        return cached

    def call(self, action: str, tpl: RequestTemplate, auth: bool = True) -> tuple[int, Any]:
        path, headers, body, size = self._rendered(action, tpl, auth)
        retried = False
        while True:
            if size:
                self.counters.add("api_bytes_sent", size)
            with self.session.request(tpl.method, path, name=action,
                                      json=body, headers=headers, catch_response=True) as resp:
                status = int(resp.status_code or 0)
                if status == 0 and not retried and tpl.idempotent and self.answered \
                        and stale_connection(resp.error):
                    retried = True
                    self.answered = False
                    self.counters.add("keepalive_retries")
                    resp.request_meta["name"] = f"{action} keep-alive retry"
                    resp.failure(f"reused connection closed: {resp.error}")
                    continue
                self.answered = status != 0
                self.counters.status(action, status)
                if status in tpl.success:
                    resp.success()
                    data = None
                    if tpl.extract:
                        try:
                            data = resp.json()
                        except Exception:
                            data = None
                        for var, where in tpl.extract.items():
                            value = dig(data, where)
                            if value is not None:
                                self.vars[var] = value
                    return status, data
                resp.failure(f"HTTP {status}" if status else f"connection error: {resp.error}")
                return status, None

    def ensure_token(self) -> int:
        if not self.profile.has_login or "access_token" in self.vars:
            return 200
        status, _ = self.call("token", self.profile.login, auth=False)
        return status

    def reauth(self) -> int:
        self.vars.pop("access_token", None)
        if self.profile.refresh is not None and self.vars.get("refresh_token"):
            status, _ = self.call("token", self.profile.refresh, auth=False)
            if status in self.profile.refresh.success:
                return status
        return self.ensure_token()

    def step(self, action: str) -> int:
        tpl = self.profile.actions[action]
        status, _ = self.call(action, tpl)
        if status in (401, 403) and self.profile.has_login \
                and self.reauth() in self.profile.login.success:
            status, _ = self.call(action, tpl)
        return status

    def open_and_command(self, command: str, deadline: float) -> int:
        """One tap: open the app, make sure the car is awake, send the command."""
        status = self.ensure_token()
        if status not in self.profile.login.success:
            return status
        if not self.have_vehicle:
            status = self.step("list_vehicles")
            if status not in self.profile.actions["list_vehicles"].success:
                return status
            self.have_vehicle = True
        if "vehicle_data" in self.profile.actions:
            status = self.step("vehicle_data")
            if status in self.profile.asleep_status and "wake_up" in self.profile.actions:
                status = self.step("wake_up")
                if status not in self.profile.actions["wake_up"].success:
                    return status
                while time.monotonic() < deadline:
                    gevent.sleep(WAKE_POLL_S)
                    status = self.step("vehicle_data")
                    if status not in self.profile.asleep_status:
                        break
            if status not in self.profile.actions["vehicle_data"].success:
                return status
        return self.step(command)

    def succeeded(self, command: str, status: int) -> bool:
        return status in self.profile.actions[command].success

    def worth_retrying(self, status: int) -> bool:
        """The profile's retry statuses (default 5xx, 408, 429, connection errors)."""
        return self.profile.worth_retrying(status)


def stale_connection(error: BaseException | None) -> bool:
    """The server closed a connection the client had kept alive (not a refusal or timeout)."""
    return isinstance(error, HTTPConnectionClosed | ConnectionResetError | BrokenPipeError)
