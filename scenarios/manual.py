"""A fault added by hand in the web UI's Chaos tab, turned into a timeline step.

The request goes through the same step plug-ins as the scenario file (so a NaN
latency or an unknown proxy is refused the same way) and becomes a ``Step`` numbered
from 1001, starting now.
"""

from __future__ import annotations

from typing import Any

from fleetchaos.common.checker import Checker, ScenarioError
from fleetchaos.scenarios.schema import Scenario, Step, parse_step

MANUAL_BASE = 1000  # manual steps are numbered from 1001; scheduled ones from 0
ACTIONS = {"toxic_add": "toxic", "verbosity": "verbosity", "http_error_add": "http_error"}


def manual_step(raw: dict[str, Any], scenario: Scenario, number: int, now_s: float) -> Step:
    """The web UI's ``{"action": "toxic_add", ...}`` as step ``MANUAL_BASE + number``."""
    action = raw.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise ScenarioError(f"action must be one of {', '.join(ACTIONS)}, toxic_remove; "
                            f"got {action!r}")
    body = {k: v for k, v in raw.items() if k not in ("action", "duration")}
    spec = body if action != "verbosity" else {"level": raw.get("level"),
                                               "cohort": raw.get("cohort", 1.0)}
    step_raw: dict[str, Any] = {"at": 0, ACTIONS[action]: spec}
    if raw.get("duration"):
        step_raw["duration"] = raw["duration"]
    parsed = parse_step(Checker("web UI", {}), 0, step_raw, scenario.proxies, scenario.duration_s)
    return Step(index=MANUAL_BASE + number, at_s=now_s, duration_s=parsed.duration_s,
                action=parsed.action, spec=parsed.spec)
