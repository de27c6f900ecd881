"""Register the fleet with the backend before the run, through the profile's admin call.

Talks to the backend directly (not through the proxies): set-up is not under test.
"""

from __future__ import annotations

from typing import Any

import requests

from fleetchaos.fleet_sim.config import FleetConfig
from fleetchaos.fleet_sim.identities import identity
from fleetchaos.fleet_sim.profiles import Profile, load_profile, render


class RegistrationError(RuntimeError):
    pass


def registration_payload(config: FleetConfig, indices: range) -> list[dict[str, Any]]:
    out = []
    for i in indices:
        ident = identity(config.seed, i, config.fallbacks)
        out.append({"vin": ident.vin, "display_name": ident.display_name,
                    "owner_email": ident.owner_email, "owner_password": ident.owner_password,
                    "car_token": ident.car_token})
    return out


def register_fleet(config: FleetConfig, profile: Profile | None = None) -> int:
    """Register cars 0..cars-1 (drivers own the cars of the same index). Returns how many."""
    profile = profile or load_profile(config.profile)
    if profile.registration is None or not config.admin_url:
        return 0
    tpl = profile.registration
    total = max(config.cars, config.drivers)
    done = 0
    for start in range(0, total, profile.registration_batch):
        batch = range(start, min(total, start + profile.registration_batch))
        variables = {"admin_token": config.admin_token or "",
                     "vehicles": registration_payload(config, batch)}
        url = config.admin_url.rstrip("/") + render(tpl.path, variables)
        try:
            resp = requests.request(tpl.method, url, json=render(tpl.json, variables),
                                    headers=render(dict(tpl.headers), variables), timeout=60)
        except requests.RequestException as exc:
            raise RegistrationError(f"fleet registration at {url} failed: {exc}") from None
        if resp.status_code not in tpl.success:
            hint = ("; pass the backend's admin token with --admin-token TOKEN or "
                    "FLEETCHAOS_ADMIN_TOKEN=TOKEN (fleetchaos run passes its own backend's)"
                    if resp.status_code in (401, 403) else "")
            raise RegistrationError(f"fleet registration at {url} answered "
                                    f"{resp.status_code}: {resp.text[:200]}{hint}")
        done += len(batch)
    return done
