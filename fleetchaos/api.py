"""The public Python API: run a scenario from Python and get its verdict back as an object.

``fleetchaos.run`` does what ``fleetchaos run`` does — validates the scenario, starts
the built-in Toxiproxy and backend when none is named, runs Locust as a child process,
removes every fault however the run ends, writes the requested exports — and returns a
:class:`Summary` instead of exiting. The CLI's ``run`` is a thin layer over the same
function, so both behave alike.

Importing this module is cheap: Locust (which monkey-patches the importing process
with gevent) only ever runs in a child process.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetchaos.common.errors import (
    EXIT_BAD_INPUT,
    EXIT_BREACH,
    EXIT_HARNESS,
    EXIT_NO_EFFECT,
    EXIT_PASS,
    FleetchaosError,
    HarnessError,
    UsageError,
)

if TYPE_CHECKING:
    from fleetchaos.scenarios.schema import Scenario

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BREACH",
    "EXIT_HARNESS",
    "EXIT_NO_EFFECT",
    "EXIT_PASS",
    "FleetchaosError",
    "HarnessError",
    "PhaseResult",
    "SloResult",
    "Summary",
    "UsageError",
    "load_scenario",
    "run",
]


def _float(value: Any) -> float | None:
    return None if value is None or isinstance(value, bool) else float(value)


@dataclass(frozen=True)
class SloResult:
    """One SLO's verdict: ``metric op threshold`` over ``phase``, and what was observed."""

    name: str
    metric: str
    phase: str
    op: str
    threshold: float
    observed: float | None
    passed: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SloResult:
        metric, phase, op = str(data["metric"]), str(data.get("phase", "all")), str(data["op"])
        threshold = float(data["threshold"])
        return cls(name=str(data.get("name") or f"{metric} {op} {threshold:g} ({phase})"),
                   metric=metric, phase=phase, op=op, threshold=threshold,
                   observed=_float(data.get("observed")), passed=bool(data.get("passed")))


@dataclass(frozen=True)
class PhaseResult:
    """One phase's figures (seconds from the run's start, request counts, API p95)."""

    name: str
    start_s: float
    end_s: float
    requests: int
    failures: int
    stranded: int
    p95_ms: float | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhaseResult:
        return cls(name=str(data["name"]), start_s=float(data.get("start_s", 0.0)),
                   end_s=float(data.get("end_s", 0.0)), requests=int(data.get("requests", 0)),
                   failures=int(data.get("failures", 0)), stranded=int(data.get("stranded", 0)),
                   p95_ms=_float(data.get("p95_ms")))


@dataclass(frozen=True)
class Summary:
    """A finished run: its verdict, SLO results and phases, built from the engine's summary.

    ``verdict`` is ``"pass"``, ``"fail"``, ``"no-effect"`` (the faults never reached the
    traffic) or ``"incomplete"``; ``exit_code`` is what ``fleetchaos run`` would exit with.
    ``raw`` keeps the whole summary dict for anything not lifted into an attribute.
    """

    verdict: str
    exit_code: int
    run_id: str
    scenario: str
    title: str
    seed: int | None
    duration_s: float
    slos: tuple[SloResult, ...]
    phases: tuple[PhaseResult, ...]
    stranded_drivers: int
    recovery_s: float | None
    journal: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        """Every SLO held (exit code 0)."""
        return self.exit_code == EXIT_PASS

    @property
    def failed_slos(self) -> tuple[SloResult, ...]:
        return tuple(s for s in self.slos if not s.passed)

    def slo(self, metric: str, phase: str | None = None) -> SloResult:
        """The result of the SLO on ``metric`` (in ``phase`` when several phases have one)."""
        for s in self.slos:
            if s.metric == metric and (phase is None or s.phase == phase):
                return s
        known = ", ".join(f"{s.metric} ({s.phase})" for s in self.slos) or "none"
        raise KeyError(f"no SLO on {metric!r}{f' in phase {phase!r}' if phase else ''}; "
                       f"the scenario has: {known}")

    def phase(self, name: str) -> PhaseResult:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(f"no phase {name!r}; the run has: {', '.join(p.name for p in self.phases)}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, exit_code: int | None = None,
                  journal: Path | None = None) -> Summary:
        """From the summary dict the engine writes (the journal's ``summary`` record)."""
        verdict = str(data.get("verdict") or "incomplete")
        recovery = data.get("recovery_s")
        if isinstance(recovery, Mapping):  # {"status": ..., "seconds": ...}
            recovery = recovery.get("seconds")
        seed = data.get("seed")
        return cls(
            verdict=verdict,
            exit_code=verdict_exit_code(verdict) if exit_code is None else exit_code,
            run_id=str(data.get("run_id") or ""), scenario=str(data.get("scenario") or ""),
            title=str(data.get("title") or ""), seed=None if seed is None else int(seed),
            duration_s=float(data.get("duration_s") or 0.0),
            slos=tuple(SloResult.from_dict(s) for s in data.get("slos") or ()),
            phases=tuple(PhaseResult.from_dict(p) for p in data.get("phases") or ()),
            stranded_drivers=int(data.get("stranded_drivers") or 0),
            recovery_s=_float(recovery), journal=journal, raw=dict(data),
        )


def verdict_exit_code(verdict: str) -> int:
    """0 held, 1 breached, 4 no effect, 3 anything else (no verdict: the harness failed)."""
    return {"pass": EXIT_PASS, "fail": EXIT_BREACH, "no-effect": EXIT_NO_EFFECT,
            "no_effect": EXIT_NO_EFFECT}.get(verdict, EXIT_HARNESS)


def load_scenario(scenario: str | os.PathLike[str], *, overrides: Mapping[str, Any] | None = None,
                  time_scale: float | None = None) -> Scenario:
    """Load and validate a scenario (built-in name or YAML path); UsageError says what is wrong."""
    from fleetchaos.scenarios.loader import load_scenario as _load
    from fleetchaos.scenarios.schema import ScenarioError

    try:
        return _load(os.fspath(scenario), overrides=_override_list(overrides),
                     time_scale=1.0 if time_scale is None else time_scale)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None


def run(scenario: str | os.PathLike[str], *, target: str | None = None, host: str | None = None,
        seed: int | None = None, time_scale: float | None = None,
        overrides: Mapping[str, Any] | None = None, out: str | os.PathLike[str] | None = None,
        toxiproxy_url: str | None = None, workers: int = 1, allow_remote: bool = False,
        journal: str | os.PathLike[str] | None = None, summary: str | os.PathLike[str] | None = None,
        junit: str | os.PathLike[str] | None = None, html: str | os.PathLike[str] | None = None,
        markdown: str | os.PathLike[str] | None = None, quiet: bool = True) -> Summary:
    """Run a scenario headless to its end and return its :class:`Summary`.

    ``target`` is a backend profile (built-in name or YAML path), ``host`` your backend's
    URL (default: the built-in reference backend), ``overrides`` scenario fields by dotted
    key (``{"fleet.cars": 50}``), ``out`` the folder for the journal, logs and database
    (default ``fleetchaos-out``), ``toxiproxy_url`` a running Toxiproxy (default:
    ``TOXIPROXY_URL``, else the built-in server). ``quiet=False`` prints the terminal report.

    Raises :class:`UsageError` for bad input or a failed set-up (the CLI's exit 2) and
    :class:`HarnessError` when the harness itself failed (exit 3); an SLO breach is not an
    exception: it is ``summary.verdict == "fail"``.
    """
    from fleetchaos.runs.orchestrator import RunOptions, execute

    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    if time_scale is not None and not time_scale > 0:
        raise UsageError(f"time_scale must be a positive number, got {time_scale}")
    opts = RunOptions(
        scenario=os.fspath(scenario), target=target, host=host, seed=seed,
        time_scale=1.0 if time_scale is None else time_scale, sets=_override_list(overrides),
        out_dir=Path(out) if out is not None else Path("fleetchaos-out"), workers=workers,
        allow_remote=allow_remote, live=False, quiet=quiet, toxiproxy_url=toxiproxy_url,
        api=True,
    )
    for name, value in (("journal", journal), ("summary", summary), ("junit", junit),
                        ("html", html), ("markdown", markdown)):
        if value is not None:
            setattr(opts, name, Path(value))
    result = execute(opts)
    outcome = None if result.summary is None else Summary.from_dict(
        result.summary, exit_code=result.exit_code, journal=result.journal)
    if result.exit_code == 128 + signal.SIGINT:
        raise KeyboardInterrupt  # Ctrl-C stopped the run (everything it started is stopped)
    if outcome is None or result.exit_code not in (EXIT_PASS, EXIT_BREACH, EXIT_NO_EFFECT):
        raise HarnessError(result.message or "the run ended without a summary",
                           log_path=result.log_path, summary=outcome)
    return outcome


def _override_list(overrides: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [f"{key}={_yaml_scalar(value)}" for key, value in overrides.items()]
    return [str(item) for item in overrides]


def _yaml_scalar(value: Any) -> str:
    """``--set`` values are parsed as YAML: write Python values so they read back the same."""
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value)
