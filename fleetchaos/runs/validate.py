"""`fleetchaos validate` as library code: a scenario and/or a profile checked as a run would.

The scenario loads with its overrides, the Toxiproxy named by TOXIPROXY_URL has the
extensions it needs, every profile loads, and faults aimed through the profile find
their requests there. Bad input is one line (UsageError, exit 2); what is valid comes
back as the lines to print.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from fleetchaos.common.errors import UsageError
from fleetchaos.runs.preflight import load_profile_or_exit


def validate(scenario_name: str | None, target: str | None, *, sets: Sequence[str] = (),
             time_scale: float | None = None) -> list[str]:
    """One ``ok`` line for the scenario and one per profile; UsageError on the first problem."""
    from fleetchaos.scenarios.loader import load_scenario
    from fleetchaos.scenarios.schema import ScenarioError

    if scenario_name is None:
        if target is None:
            raise UsageError("validate needs a SCENARIO, --target PROFILE, or both")
        return validate_profiles([target])
    try:
        scenario = load_scenario(scenario_name, overrides=list(sets),
                                 time_scale=time_scale or 1.0)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    needed = scenario.extensions_needed()
    url = os.environ.get("TOXIPROXY_URL")
    if needed and url:
        from fleetchaos.scenarios.fault_servers import FaultServers, parse_urls

        try:
            missing = needed - FaultServers(parse_urls(url)).extensions()
        except Exception as exc:
            raise UsageError(f"TOXIPROXY_URL {url}: cannot ask for extensions: {exc}") from None
        if missing:
            raise UsageError(f"{scenario.source}: needs the {', '.join(sorted(missing))} "
                             f"extension, which the Toxiproxy at {url} lacks; unset "
                             "TOXIPROXY_URL to use the built-in server")
    profiles = validate_profiles([scenario.profile] + ([target] if target else []))
    check_aims(scenario.timeline, scenario.source, target or scenario.profile)
    title = getattr(scenario, "title", scenario_name)
    steps = len(getattr(scenario, "timeline", []) or [])
    return [f"ok: {scenario_name}: {title} ({steps} timeline steps)", *profiles]


def check_aims(timeline: Sequence[object], source: str, profile_name: str) -> None:
    """Faults aimed through the profile (`actions: [unlock]`) must find those actions in
    the profile the run will use; the run refuses them at set-up otherwise."""
    from fleetchaos.fleet_sim.profiles import load_profile
    from fleetchaos.scenarios.steps.targeting import TargetError
    from fleetchaos.scenarios.steps.targeting import check_aims as aims_found

    try:
        aims_found(timeline, load_profile(profile_name), source)
    except TargetError as exc:
        raise UsageError(str(exc)) from None


def validate_profiles(names: list[str]) -> list[str]:
    """Load each distinct profile; return one ``ok`` line each (UsageError on the first bad)."""
    lines = []
    for name in dict.fromkeys(names):
        profile = load_profile_or_exit(name)
        actions = ", ".join(profile.actions)
        login = "login" if profile.has_login else "no login"
        lines.append(f"ok: profile {name}: {profile.name} "
                     f"({login}; actions {actions}; telemetry over {profile.contract.transport})")
    return lines
