"""Profile actions and transports as request shapes a fault can aim at.

A profile says which request means "unlock" on a backend; a fault aimed at
``unlock`` gets that request's method and path, with each ``{placeholder}`` turned
into the glob ``*`` (any vehicle id). Phone actions go through the ``api`` proxy, car
telemetry through the ``telemetry`` proxy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from fleetchaos.fleet_sim.profiles import ACTIONS, Profile
from fleetchaos.scenarios.metrics import TELEMETRY_ACTIONS
from fleetchaos.scenarios.steps.base import Route

TRANSPORTS = ("telemetry",)
TARGETABLE = (*ACTIONS, *TRANSPORTS)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class TargetError(ValueError):
    """A fault aims at something the profile does not define (set-up error, exit 2)."""


def path_glob(template: str) -> str:
    """``/api/1/vehicles/{vehicle_id}/unlock?x={vin}`` -> ``/api/1/vehicles/*/unlock``."""
    return _PLACEHOLDER.sub("*", template.split("?", 1)[0])


class ProfileTargets:
    """``Targets`` from a loaded backend profile."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    def routes(self, actions: Sequence[str]) -> list[Route]:
        out = []
        for action in actions:
            if action == "telemetry":
                http = self.profile.telemetry.get("transport") == "http"
                out.append(Route("telemetry", "telemetry", "POST" if http else "GET",
                                 path_glob(str(self.profile.telemetry.get("path", "")))))
                continue
            template = self.profile.actions.get(action)
            if template is None:
                raise TargetError(
                    f"a fault aims at the action {action!r}, which the profile "
                    f"{self.profile.name} ({self.profile.source}) does not define "
                    f"(it defines {', '.join(self.profile.actions)})")
            out.append(Route(action, "api", template.method, path_glob(template.path)))
        return out

    def actions_through(self, proxy: str) -> list[str]:
        if proxy == "telemetry":
            return list(TELEMETRY_ACTIONS)
        if proxy == "api":
            return list(self.profile.actions)
        return []


def check_aims(steps: Iterable[Any], profile: Profile, source: str) -> None:
    """Every fault aimed through the profile finds its request there (TargetError if not).

    ``steps`` are a scenario's timeline steps; `validate` and the run's set-up both call
    this, so `validate --target P` refuses what a run against P would refuse.
    """
    targets = ProfileTargets(profile)
    for step in steps:
        aimed = getattr(step.spec, "actions", ())
        if aimed:
            try:
                targets.routes(aimed)
            except TargetError as exc:
                raise TargetError(f"{source}: timeline.{step.index}: {exc}") from None
