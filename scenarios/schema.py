"""The scenario format, typed and validated; every error names file, line, key and what
was expected, so a reviewer can fix a scenario without reading this code."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STREAMS = ("upstream", "downstream")
TOXIC_TYPES = ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer",
               "limit_data", "noop")
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
STEP_ACTIONS = ("users", "verbosity", "toxic", "proxy_down", "http_error", "backend_knob")


class ScenarioError(ValueError):
    """A scenario file is wrong; the message is what the user sees (exit code 2)."""


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
    spec: dict[str, Any]

    @property
    def end_s(self) -> float | None:
        return None if self.duration_s is None else self.at_s + self.duration_s


@dataclass(frozen=True)
class Slo:
    name: str
    phase: str
    metric: str
    op: str  # ">=" or "<="
    threshold: float


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

    def extensions_needed(self) -> set[str]:
        return {"http_error"} if any(s.action == "http_error" for s in self.timeline) else set()

    def phase_at(self, t: float) -> str:
        for phase in self.phases:
            if phase.start_s <= t < phase.end_s:
                return phase.name
        return self.phases[-1].name if self.phases and t >= self.phases[-1].end_s else ""


class _V:
    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source, self.lines = source, lines

    def fail(self, key: str, expected: str) -> ScenarioError:
        probe, line = key, self.lines.get(key)
        while line is None and "." in probe:  # a key added by --set: the nearest parent's line
            probe = probe.rsplit(".", 1)[0]
            line = self.lines.get(probe)
        where = f"{self.source}:{line}" if line else self.source
        return ScenarioError(f"{where}: {key}: expected {expected}")

    def mapping(self, value: Any, key: str, allowed: set[str] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "a mapping")
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    raise self.fail(f"{key}.{k}" if key else k,
                                    f"one of {', '.join(sorted(allowed))} (unknown key {k!r})")
        return value

    def number(self, value: Any, key: str, *, minimum: float = 0.0,
               maximum: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "a number")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f" and <= {maximum}" if maximum is not None else ""
            raise self.fail(key, f"a number >= {minimum}{bound}, got {value}")
        return float(value)

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a non-empty string")
        return value


TOP_KEYS = {"title", "description", "seed", "duration", "fleet", "proxies", "phases",
            "timeline", "slos", "steady_state"}


def validate(data: Any, source: str, lines: dict[str, int], name: str) -> Scenario:
    v = _V(source, lines)
    data = v.mapping(data, "", TOP_KEYS)
    title = v.text(data.get("title"), "title")
    description = str(data.get("description") or "")
    seed = data.get("seed", 2021)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise v.fail("seed", "a whole number")
    duration = v.number(data.get("duration"), "duration", minimum=1)
    fleet = dict(v.mapping(data.get("fleet") or {}, "fleet", FLEET_KEYS))
    for key in ("cars", "drivers"):
        if key in fleet and (isinstance(fleet[key], bool) or not isinstance(fleet[key], int)
                             or not 0 <= fleet[key] <= 1_000_000):
            raise v.fail(f"fleet.{key}", "a whole number between 0 and 1000000")
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
    timeline = [_step(v, i, s, proxies, duration)
                for i, s in enumerate(data.get("timeline") or [])]
    if not isinstance(data.get("timeline") or [], list):
        raise v.fail("timeline", "a list of steps")
    slos = _slos(v, data.get("slos") or [], phases, "slos")
    slos += _steady_state(v, data.get("steady_state"), phases)
    return Scenario(name=name, source=source, title=title, description=description, seed=seed,
                    duration_s=duration, fleet=fleet, proxies=proxies, phases=phases,
                    timeline=sorted(timeline, key=lambda s: (s.at_s, s.index)), slos=slos,
                    raw=data)


def _phases(v: _V, raw: Any, duration: float) -> list[Phase]:
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


def _step(v: _V, i: int, raw: Any, proxies: dict[str, str], duration: float) -> Step:
    key = f"timeline.{i}"
    raw = v.mapping(raw, key, {"at", "duration", *STEP_ACTIONS})
    at = v.number(raw.get("at"), f"{key}.at")
    if at >= duration:
        raise v.fail(f"{key}.at", f"a time before the scenario ends ({duration})")
    dur = raw.get("duration")
    dur_s = None if dur is None else v.number(dur, f"{key}.duration", minimum=0.001)
    actions = [a for a in STEP_ACTIONS if a in raw]
    if len(actions) != 1:
        raise v.fail(key, f"exactly one action among {', '.join(STEP_ACTIONS)}")
    action = actions[0]
    spec = raw[action]
    akey = f"{key}.{action}"
    if action == "users":
        spec = v.mapping(spec, akey, {"cars", "drivers"})
        for k, val in spec.items():
            v.number(val, f"{akey}.{k}", maximum=1_000_000)
    elif action == "verbosity":
        if isinstance(spec, int | float) and not isinstance(spec, bool):
            spec = {"level": spec}
        spec = v.mapping(spec, akey, {"level", "cohort"})
        v.number(spec.get("level"), f"{akey}.level", minimum=0.01, maximum=1000)
        v.number(spec.get("cohort", 1.0), f"{akey}.cohort", maximum=1)
    elif action in ("toxic", "http_error"):
        allowed = {"proxy", "type", "stream", "toxicity", "attributes"}
        if action == "http_error":
            allowed = {"proxy", "share", "status", "method", "path", "body", "headers", "toxicity"}
        spec = dict(v.mapping(spec, akey, allowed))
        proxy = spec.get("proxy")
        if proxy not in proxies:
            raise v.fail(f"{akey}.proxy", f"one of the proxies ({', '.join(proxies)})")
        if action == "toxic":
            if spec.get("type") not in TOXIC_TYPES:
                hint = " (http_error is its own step: http_error: {...})" \
                    if spec.get("type") == "http_error" else ""
                raise v.fail(f"{akey}.type", f"one of {', '.join(TOXIC_TYPES)}{hint}")
            spec.setdefault("stream", "downstream")
            attrs = v.mapping(spec.get("attributes") or {}, f"{akey}.attributes")
            for k, val in attrs.items():
                v.number(val, f"{akey}.attributes.{k}", maximum=1e9)
            spec["attributes"] = attrs
        else:
            v.number(spec.get("share", 1.0), f"{akey}.share", maximum=1)
            status = spec.get("status", 500)
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise v.fail(f"{akey}.status", "an HTTP status code (100-599)")
        if spec.get("stream", "downstream") not in STREAMS:
            raise v.fail(f"{akey}.stream", "upstream or downstream")
        v.number(spec.get("toxicity", 1.0), f"{akey}.toxicity", maximum=1)
    elif action == "proxy_down":
        if spec not in proxies:
            raise v.fail(akey, f"one of the proxies ({', '.join(proxies)})")
        spec = {"proxy": spec}
    elif action == "backend_knob":
        spec = v.mapping(spec, akey)
        for k, val in spec.items():
            if not isinstance(val, int | float | str) or isinstance(val, bool):
                raise v.fail(f"{akey}.{k}", "a number or a string")
    return Step(index=i, at_s=at, duration_s=dur_s, action=action, spec=spec)


def _slos(v: _V, raw: Any, phases: list[Phase], base: str) -> list[Slo]:
    if not isinstance(raw, list):
        raise v.fail(base, "a list of {metric, phase, min|max}")
    names = {p.name for p in phases} | {"all"}
    out = []
    for i, s in enumerate(raw):
        key = f"{base}.{i}"
        s = v.mapping(s, key, {"name", "phase", "metric", "min", "max"})
        metric = s.get("metric")
        if metric not in METRICS:
            raise v.fail(f"{key}.metric", f"one of {', '.join(METRICS)}")
        phase = s.get("phase", "all")
        if phase not in names:
            raise v.fail(f"{key}.phase", f"a phase name ({', '.join(sorted(names))})")
        if ("min" in s) == ("max" in s):
            raise v.fail(key, "exactly one of min or max")
        op, threshold = (">=", s["min"]) if "min" in s else ("<=", s["max"])
        threshold = v.number(threshold, f"{key}.{'min' if op == '>=' else 'max'}",
                             minimum=0)
        name = str(s.get("name") or f"{metric} {op} {threshold:g} ({phase})")
        out.append(Slo(name, phase, metric, op, threshold))
    return out


def _steady_state(v: _V, raw: Any, phases: list[Phase]) -> list[Slo]:
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
                           phase, slo.metric, slo.op, slo.threshold))
    return out
