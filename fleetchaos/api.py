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
    VERDICT_CODES,
    VERDICT_EXIT_CODES,
    FleetchaosError,
    HarnessError,
    UsageError,
)
from fleetchaos.common.run_options import check_api, for_api, option
from fleetchaos.common.suggest import did_you_mean

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
    samples: int | None = None  # observations the value came from (None: an older summary)
    status: str = ""  # pass, fail, insufficient (too few samples), not_judged (run stopped)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SloResult:
        metric, phase, op = str(data["metric"]), str(data.get("phase", "all")), str(data["op"])
        threshold = float(data["threshold"])
        samples = data.get("samples")
        passed = bool(data.get("passed"))
        return cls(name=str(data.get("name") or f"{metric} {op} {threshold:g} ({phase})"),
                   metric=metric, phase=phase, op=op, threshold=threshold,
                   observed=_float(data.get("observed")), passed=passed,
                   samples=samples if isinstance(samples, int) else None,
                   status=str(data.get("status") or ("pass" if passed else "fail")))


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
    traffic), ``"under-delivered"`` (a fault fell far short of its size),
    ``"insufficient"`` (an SLO lacked samples) or ``"incomplete"``; ``exit_code`` is what
    ``fleetchaos run`` would exit with; ``raw["verdict_reason"]`` says why in one line.
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

    def slo(self, name: str, phase: str | None = None) -> SloResult:
        """The SLO called ``name``, or else the one SLO on the metric ``name`` (in ``phase``).

        Two SLOs on one metric (in the phase asked, if any) are ambiguous: KeyError naming
        them, so a test never silently reads the wrong one; pass the SLO's name or a phase.
        """
        def in_phase(s: SloResult) -> bool:
            return phase is None or s.phase == phase

        for found in ([s for s in self.slos if s.name == name and in_phase(s)],
                      [s for s in self.slos if s.metric == name and in_phase(s)]):
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                listed = "; ".join(f"{s.name!r} ({s.phase})" for s in found)
                raise KeyError(f"{len(found)} SLOs match {name!r}"
                               f"{f' in phase {phase!r}' if phase else ''}: {listed}; name one "
                               f"of them: summary.slo(NAME)")
        known = ", ".join(f"{s.name!r} ({s.metric}, {s.phase})" for s in self.slos) or "none"
        near = did_you_mean(name, {s.name for s in self.slos} | {s.metric for s in self.slos})
        raise KeyError(f"no SLO named or on {name!r}{f' in phase {phase!r}' if phase else ''}"
                       f"{near}; the scenario has: {known}")

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
    """0 held, 1 breached, 2 refused, 4 no effect / under-delivered / insufficient, 3
    anything else (no verdict: the harness failed)."""
    if verdict == "incomplete":
        return EXIT_HARNESS
    return VERDICT_EXIT_CODES.get(verdict, EXIT_HARNESS)


def load_scenario(scenario: str | os.PathLike[str], *, overrides: Mapping[str, Any] | None = None,
                  time_scale: float | None = None) -> Scenario:
    """Load and validate a scenario (built-in name or YAML path); UsageError says what is wrong."""
    from fleetchaos.scenarios.loader import load_scenario as _load
    from fleetchaos.scenarios.schema import ScenarioError

    name = option("scenario").check(scenario, "api")
    scale = option("time_scale").check(time_scale, "api")
    try:
        return _load(name, overrides=_override_list(overrides), time_scale=scale)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None


def run(scenario: str | os.PathLike[str], *, target: str | None = None, host: str | None = None,
        seed: int | None = None, time_scale: float | None = 1.0,
        overrides: Mapping[str, Any] | Sequence[str] | None = None, workers: int = 1,
        allow_remote: bool = False, allow_host: str | None = None,
        out: str | os.PathLike[str] | None = "fleetchaos-out",
        keep_db: bool = False, metrics_port: int | None = None, journal: str | os.PathLike[str] | None = None,
        summary: str | os.PathLike[str] | None = None, junit: str | os.PathLike[str] | None = None,
        html: str | os.PathLike[str] | None = None, markdown: str | os.PathLike[str] | None = None,
        quiet: bool = True, toxiproxy_url: str | None = None) -> Summary:
    """Run a scenario headless to its end and return its :class:`Summary`.

    The keyword arguments are the run options of ``fleetchaos run`` (declared once in
    ``fleetchaos.common.run_options``; listed below), checked the same way: a wrong type
    or a value out of range raises :class:`UsageError` naming the keyword
    (``workers=10000: at most 8 here ...``) before anything starts. ``overrides`` is
    ``--set``: scenario fields by dotted key (``{"fleet.cars": 50}``).

    Raises :class:`UsageError` for bad input or a failed set-up (the CLI's exit 2) and
    :class:`HarnessError` when the harness itself failed (exit 3); an SLO breach is not an
    exception: it is ``summary.verdict == "fail"``.
    """
    values = check_api(dict(locals()))  # exactly the parameters, each checked as declared
    from fleetchaos.runs.options import RunOptions
    from fleetchaos.runs.orchestrator import execute

    opts = RunOptions.from_values({**values, "live": False}, face="api")
    result = execute(opts)
    outcome = None if result.summary is None else Summary.from_dict(
        result.summary, exit_code=result.exit_code, journal=result.journal)
    if result.exit_code == 128 + signal.SIGINT:
        raise KeyboardInterrupt  # Ctrl-C stopped the run (everything it started is stopped)
    if outcome is None or result.exit_code not in VERDICT_CODES:
        raise HarnessError(result.message or "the run ended without a summary",
                           log_path=result.log_path, summary=outcome)
    return outcome


def _options_doc() -> str:
    """The keyword arguments' help, from their declaration (appended to ``run.__doc__``)."""
    lines = ["", "    Keyword arguments (fleetchaos.common.run_options):", ""]
    for declared in for_api():
        if declared.positional:
            continue
        default = "" if declared.default in (None, []) else f" (default {declared.default!s})"
        lines.append(f"    ``{declared.api}``: {declared.help}{default}; {declared.expected()}.")
    return "\n".join(lines) + "\n"


run.__doc__ = (run.__doc__ or "") + _options_doc()


def _override_list(overrides: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    """``--set`` items from ``overrides`` (checked by the declared ``sets`` option)."""
    items: list[str] = option("sets").check(overrides, "api")
    return items
