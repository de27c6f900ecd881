"""The scenario format, typed and validated; every error names file, line, key and what
was expected, so a reviewer can fix a scenario without reading this code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetchaos.common.checker import Checker
from fleetchaos.common.checker import ScenarioError as ScenarioError  # re-exported
from fleetchaos.common.run_options import MAX_SEED
from fleetchaos.fleet_sim.config import CANARY_KEYS, RETRY_POLICIES, FleetConfig
from fleetchaos.fleet_sim.profiles import ACTIONS
from fleetchaos.scenarios.steps import STEPS, ParseContext, StepSpec
from fleetchaos.scenarios.steps.toxic import TOXIC_ATTRIBUTES

_ORDER = ("users", "verbosity", "toxic", "proxy_down", "http_error", "backend_knob")

STREAMS = ("upstream", "downstream")
TOXIC_TYPES = tuple(TOXIC_ATTRIBUTES)
EXTENSION_TOXICS = ("http_error",)
METRICS = {
    "unlock_success_ratio": "share of unlock/remote-start requests answered 2xx",
    "unlock_p95_ms": "p95 latency of unlock/remote-start requests, ms",
    "stranded_drivers": "drivers who could not get in by app or fallback",
    "error_5xx_ratio": "share of all API requests answered 5xx",
    "telemetry_ack_ratio": "telemetry records acked / sent",
    "recovery_s": "seconds from the end of the last fault until the canary's success ratio "
                  "is back to its steady level and stays there (docs/fleet.md)",
    "canary_success_ratio": "share of the canary's fixed-rate probes answered 2xx",
}
FLEET_KEYS = {"cars", "drivers", "profile", "retry_policy", "patience_s", "need_interval_s",
              "verbosity", "cohort", "fallbacks", "telemetry", "spawn_rate", "canary"}
# The YAML keys of the step plug-ins (scenarios/steps/), in the order error messages list them.
STEP_ACTIONS = tuple(sorted(STEPS, key=lambda a: (_ORDER.index(a) if a in _ORDER else 99, a)))
MAX_DURATION_S = 7 * 86400.0
RECOVERY_WINDOW_S = 5.0  # the canary's default window (fleet_sim/config.py)


@dataclass(frozen=True)
class Phase:
    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Step:
    index: int
    at_s: float
    duration_s: float | None
    action: str
    spec: StepSpec
    min_delivery: float | None = None  # delivered / asked below this: under-delivered

    @property
    def end_s(self) -> float | None:
        return None if self.duration_s is None else self.at_s + self.duration_s

    @property
    def label(self) -> str:
        return self.spec.label()

    def to_json(self) -> dict[str, Any]:
        """The step as the journal header lists it (the shape reports read)."""
        out = {"index": self.index, "at_s": self.at_s, "duration_s": self.duration_s,
               "end_s": self.end_s, "action": self.action, "spec": self.spec.to_json(),
               "label": self.label, "fault": self.spec.fault}
        if self.min_delivery is not None:
            out["min_delivery"] = self.min_delivery
        return out


@dataclass(frozen=True)
class Slo:
    name: str
    phase: str
    metric: str
    op: str  # ">=" or "<="
    threshold: float
    min_samples: int | None = None  # None: the metric kind's default (scenarios/slo_samples.py)


@dataclass(frozen=True)
class Scenario:
    name: str
    source: str
    title: str
    description: str
    seed: int
    duration_s: float
    fleet: dict[str, Any]
    proxies: dict[str, str]  # proxy name -> "backend" (the run's backend) or host:port
    phases: list[Phase]
    timeline: list[Step]
    slos: list[Slo]
    raw: dict[str, Any] = field(default_factory=dict)
    overrides: tuple[str, ...] = ()  # every --set as given (the journal header's, issue 23)
    time_scale: float = 1.0  # the timeline's times were multiplied by it

    @property
    def profile(self) -> str:
        """The backend profile: a built-in name, or a path taken relative to the scenario file."""
        name = str(self.fleet.get("profile", "reference"))
        if "/" not in name and not name.endswith((".yaml", ".yml")):
            return name
        path = Path(name)
        if not path.is_absolute() and self.source and Path(self.source).is_file():
            path = Path(self.source).resolve().parent / path
        return str(path)

    def peak_fleet(self) -> tuple[int, int, int]:
        """(cars, drivers, canaries) at the fleet's peak: the fleet's size, or a larger
        ``users`` step's (what the load shape will ask for and the bounds count)."""
        known = {k: v for k, v in self.fleet.items() if k in FleetConfig.__dataclass_fields__}
        try:
            config = FleetConfig().merged(known)
        except (ValueError, TypeError):  # refused when the fleet starts; count what it says
            config = FleetConfig()
        cars = int(known.get("cars", config.cars))
        drivers = int(known.get("drivers", config.drivers))
        for step in self.timeline:
            if step.action == "users":
                spec = step.spec.to_json()
                cars = max(cars, int(spec.get("cars", 0) or 0))
                drivers = max(drivers, int(spec.get("drivers", 0) or 0))
        return cars, drivers, int(config.canary.get("count", 1))

    def extensions_needed(self) -> set[str]:
        return {s.spec.extension for s in self.timeline if s.spec.extension}

    def phase_at(self, t: float) -> str:
        for phase in self.phases:
            if phase.start_s <= t < phase.end_s:
                return phase.name
        return self.phases[-1].name if self.phases and t >= self.phases[-1].end_s else ""



TOP_KEYS = {"title", "description", "seed", "duration", "fleet", "proxies", "phases",
            "timeline", "slos", "steady_state"}


def validate(data: Any, source: str, lines: dict[str, int], name: str, *,
             overrides: Mapping[str, str] | None = None) -> Scenario:
    """``overrides``: the key paths ``--set`` replaced, and the items as given (refusals
    name them instead of the file's line)."""
    v = Checker(source, lines, overrides)
    data = v.mapping(data, "", TOP_KEYS)
    v.finite_everywhere(data)  # .nan / .inf anywhere: refused with the key that holds it
    title = v.text(data.get("title"), "title")
    description = str(data.get("description") or "")
    seed = data.get("seed", 2021)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise v.fail("seed", f"a whole number from 0 to {MAX_SEED} (2^63 - 1)")
    duration = v.number(data.get("duration"), "duration", minimum=1, maximum=MAX_DURATION_S)
    fleet = _fleet(v, data.get("fleet"))
    proxies_raw = v.mapping(data.get("proxies") or {"api": "backend", "telemetry": "backend"},
                            "proxies")
    proxies = {}
    for pname, upstream in proxies_raw.items():
        if not pname.replace("-", "").replace("_", "").isalnum():
            raise v.fail(f"proxies.{pname}", "a name of letters, digits, - and _")
        proxies[pname] = v.text(upstream, f"proxies.{pname}")
    for needed in ("api", "telemetry"):
        if needed not in proxies:
            raise v.fail(f"proxies.{needed}", "a proxy named api (phones) and telemetry (cars)")
    phases = _phases(v, data.get("phases"), duration)
    if not isinstance(data.get("timeline") or [], list):
        raise v.fail("timeline", "a list of steps")
    timeline = [parse_step(v, i, s, proxies, duration)
                for i, s in enumerate(data.get("timeline") or [])]
    slos = _slos(v, data.get("slos") or [], phases, "slos")
    slos += _steady_state(v, data.get("steady_state"), phases)
    _recovery_window_fits(v, fleet, timeline, slos, duration)
    return Scenario(name=name, source=source, title=title, description=description, seed=seed,
                    duration_s=duration, fleet=fleet, proxies=proxies, phases=phases,
                    timeline=sorted(timeline, key=lambda s: (s.at_s, s.index)), slos=slos,
                    raw=data)


def _recovery_window_fits(v: Checker, fleet: dict[str, Any], timeline: list[Step],
                          slos: list[Slo], duration: float) -> None:
    """A recovery_s SLO needs one canary window between the last fault's end and the run's
    end; otherwise every run would say "did not recover" (issue 22: api-500-storm at
    --time-scale 0.3 left 4.5 s for a 5 s window). The loader scales the window with the
    time scale, so this refuses only scenarios that never fit."""
    if not any(s.metric == "recovery_s" for s in slos):
        return
    faults = [s for s in timeline if s.spec.fault]
    if not faults or any(s.end_s is None for s in faults):
        return  # no fault, or one left on to the end: recovery says so itself
    raw_canary = fleet.get("canary")
    canary: dict[str, Any] = raw_canary if isinstance(raw_canary, dict) else {}
    window = float(canary.get("window_s", RECOVERY_WINDOW_S))
    last_end = max(float(s.end_s or 0.0) for s in faults)
    if duration - last_end < window:
        key = "fleet.canary.window_s" if "window_s" in canary else "duration"
        raise v.fail(key, f"room for one canary window ({window:g} s) after the last fault "
                          f"ends at {last_end:g} s, but the run ends at {duration:g} s: "
                          "recovery_s could never be measured (shorten fleet.canary.window_s, "
                          "end the fault earlier or run longer)")


def _phases(v: Checker, raw: Any, duration: float) -> list[Phase]:
    if raw is None:
        return [Phase("run", 0.0, duration)]
    if not isinstance(raw, list) or not raw:
        raise v.fail("phases", "a non-empty list of {name, start, end}")
    out: list[Phase] = []
    for i, p in enumerate(raw):
        key = f"phases.{i}"
        p = v.mapping(p, key, {"name", "start", "end"})
        name = v.text(p.get("name"), f"{key}.name")
        start = v.number(p.get("start"), f"{key}.start")
        end = v.number(p.get("end"), f"{key}.end")
        if end <= start:
            raise v.fail(f"{key}.end", f"a time after start ({start})")
        if out and start < out[-1].end_s:
            raise v.fail(f"{key}.start", f"a time at or after the previous phase's end ({out[-1].end_s})")
        if end > duration:
            raise v.fail(f"{key}.end", f"a time within the scenario's duration ({duration})")
        if name in {ph.name for ph in out} or name == "all":
            raise v.fail(f"{key}.name", "a phase name used once (and not 'all')")
        out.append(Phase(name, start, end))
    return out


def _fleet(v: Checker, raw: Any) -> dict[str, Any]:
    """The fleet section, checked as the fleet itself will check it when the run starts."""
    fleet = dict(v.mapping(raw or {}, "fleet", FLEET_KEYS))
    for key in ("cars", "drivers"):
        if key in fleet:
            v.whole(fleet[key], f"fleet.{key}")
    if "spawn_rate" in fleet:
        v.number(fleet["spawn_rate"], "fleet.spawn_rate", minimum=0.01, maximum=100_000)
    if "profile" in fleet:
        v.text(fleet["profile"], "fleet.profile")
    if "retry_policy" in fleet:
        v.choice(fleet["retry_policy"], "fleet.retry_policy", RETRY_POLICIES)
    for key in ("patience_s", "need_interval_s"):
        if key in fleet:
            v.number(fleet[key], f"fleet.{key}", minimum=0.001, maximum=MAX_DURATION_S)
    if "verbosity" in fleet:
        v.number(fleet["verbosity"], "fleet.verbosity", minimum=0.01, maximum=1000)
    if "cohort" in fleet:
        v.number(fleet["cohort"], "fleet.cohort", maximum=1)
    if "fallbacks" in fleet:
        for key, share in v.mapping(fleet["fallbacks"], "fleet.fallbacks").items():
            v.number(share, f"fleet.fallbacks.{key}", maximum=1)
    if "telemetry" in fleet:
        v.mapping(fleet["telemetry"], "fleet.telemetry")
    if "canary" in fleet:
        _canary(v, fleet["canary"])
    try:  # whatever else the fleet would refuse when the run starts, refuse it now
        FleetConfig().merged({k: val for k, val in fleet.items() if k != "spawn_rate"})
    except (ValueError, TypeError) as exc:
        raise v.fail("fleet", f"settings the fleet accepts: {exc}") from None
    return fleet


def _canary(v: Checker, raw: Any) -> None:
    """``fleet.canary``: the fixed-rate probe (fleet_sim/canary.py, docs/fleet.md)."""
    canary = v.mapping(raw, "fleet.canary", CANARY_KEYS)
    if "count" in canary:
        v.whole(canary["count"], "fleet.canary.count", maximum=10)
    if "actions" in canary:
        actions = canary["actions"]
        if isinstance(actions, str):
            actions = [actions]
        if not isinstance(actions, list) or not actions:
            raise v.fail("fleet.canary.actions", "a non-empty list of profile action names")
        for i, action in enumerate(actions):
            v.choice(action, f"fleet.canary.actions.{i}", ACTIONS)
    if "interval_s" in canary:
        v.number(canary["interval_s"], "fleet.canary.interval_s", minimum=0.05, maximum=60)
    if "window_s" in canary:
        v.number(canary["window_s"], "fleet.canary.window_s", minimum=1, maximum=600)
    if "latency_factor" in canary:
        v.number(canary["latency_factor"], "fleet.canary.latency_factor", minimum=1, maximum=100)
    if canary.get("recovered_ratio") is not None:
        v.number(canary["recovered_ratio"], "fleet.canary.recovered_ratio", minimum=0.001,
                 maximum=1)


def parse_step(v: Checker, i: int, raw: Any, proxies: dict[str, str], duration: float) -> Step:
    """One timeline entry: ``at``, optional ``duration`` and exactly one step action."""
    key = f"timeline.{i}"
    raw = v.mapping(raw, key, {"at", "duration", "min_delivery", *STEP_ACTIONS})
    at = v.number(raw.get("at"), f"{key}.at")
    if at >= duration:
        raise v.fail(f"{key}.at", f"a time before the scenario ends ({duration:g})")
    dur = raw.get("duration")
    dur_s = None if dur is None else v.number(dur, f"{key}.duration", minimum=0.001,
                                              maximum=MAX_DURATION_S)
    actions = [a for a in STEP_ACTIONS if a in raw]
    if len(actions) != 1:
        raise v.fail(key, f"exactly one action among {', '.join(STEP_ACTIONS)}")
    action = actions[0]
    spec = STEPS[action].parse(v, f"{key}.{action}", raw[action],
                               ParseContext(proxies=proxies, duration_s=duration))
    if dur_s is not None and not spec.fault:
        raise v.fail(f"{key}.duration", f"no duration: {action} is not rolled back")
    min_delivery = None
    if "min_delivery" in raw:
        if not spec.fault:
            raise v.fail(f"{key}.min_delivery", f"no min_delivery: {action} is not a fault")
        min_delivery = v.number(raw["min_delivery"], f"{key}.min_delivery", maximum=1)
    return Step(index=i, at_s=at, duration_s=dur_s, action=action, spec=spec,
                min_delivery=min_delivery)


def _slos(v: Checker, raw: Any, phases: list[Phase], base: str) -> list[Slo]:
    if not isinstance(raw, list):
        raise v.fail(base, "a list of {metric, phase, min|max}")
    names = {p.name for p in phases} | {"all"}
    out = []
    for i, s in enumerate(raw):
        key = f"{base}.{i}"
        s = v.mapping(s, key, {"name", "phase", "metric", "min", "max", "min_samples"})
        metric = s.get("metric")
        if not isinstance(metric, str) or metric not in METRICS:
            raise v.fail(f"{key}.metric", f"one of {', '.join(METRICS)}")
        phase = s.get("phase", "all")
        if not isinstance(phase, str) or phase not in names:
            raise v.fail(f"{key}.phase", f"a phase name ({', '.join(sorted(names))})")
        if ("min" in s) == ("max" in s):
            raise v.fail(key, "exactly one of min or max")
        op, threshold = (">=", s["min"]) if "min" in s else ("<=", s["max"])
        threshold = v.number(threshold, f"{key}.{'min' if op == '>=' else 'max'}",
                             minimum=0, maximum=1 if metric.endswith("_ratio") else None)
        name = str(s.get("name") or f"{metric} {op} {threshold:g} ({phase})")
        min_samples = None
        if "min_samples" in s:
            min_samples = v.whole(s["min_samples"], f"{key}.min_samples", maximum=10**9)
        out.append(Slo(name, phase, metric, op, threshold, min_samples))
    return out


def _steady_state(v: Checker, raw: Any, phases: list[Phase]) -> list[Slo]:
    """The hypothesis holds before and after the faults: the first and the last phase."""
    if raw is None:
        return []
    raw = v.mapping(raw, "steady_state", {"checks"})
    checks = raw.get("checks") or []
    out = []
    for phase in {phases[0].name: None, phases[-1].name: None}:
        with_phase = [{**c, "phase": phase} if isinstance(c, dict) else c for c in checks]
        for slo in _slos(v, with_phase, phases, "steady_state.checks"):
            out.append(Slo(f"steady state ({phase}): {slo.metric} {slo.op} {slo.threshold:g}",
                           phase, slo.metric, slo.op, slo.threshold, slo.min_samples))
    return out
