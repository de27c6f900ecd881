"""Two runs side by side: per SLO and per phase, BASE vs NEW, and whether NEW is worse.

"Worse" has a direction: for an SLO it comes from its operator (``>=`` means higher is
better), for a phase figure from the metric (a success ratio up is good, 5xx or stranded
drivers up is bad). A change only counts as a regression when it is larger than the
metric's tolerance, because two runs of the same code never measure exactly the same.
When both runs were repeated (``--repeat``), each SLO carries its measured spread and
the tolerance is the larger spread of the two: noise the runs themselves showed.

A change is rounded as it is printed (0.1 point for a ratio, 1 ms, 0.1 s) before it is
held against the tolerance, so "-2.0 pt, tolerance ±2.0 pt" is never WORSE. A phase figure
that an SLO already judges (the same metric over the same phase) is compared once, as the
SLO. Beside the verdict, the comparison says how the two runs' settings differ (the
summary's ``config``) and how many requests each made per phase and per phone API action
(a retry policy's amplification), which are never a regression by themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleetchaos.reports.format import config_items, format_value
from fleetchaos.scenarios.metrics import UNLOCK_ACTIONS, is_fleet_api, ok_ratio, ratio_5xx
from fleetchaos.scenarios.records import (
    Journal,
    JsonDict,
    PhaseSummary,
    SloResult,
    Summary,
    as_number,
)


@dataclass(frozen=True)
class Tolerance:
    """How much worse NEW may be before it is a regression: absolute, or relative to BASE
    (with an absolute ``floor``, so a few milliseconds on a tiny latency are not a 20 % jump)."""

    value: float
    relative: bool = False
    floor: float = 0.0

    def allowed(self, base: float) -> float:
        return max(self.floor, abs(base) * self.value) if self.relative else self.value

    def __str__(self) -> str:
        if not self.relative:
            return f"{self.value:g}"
        return f"{self.value * 100:g}%" + (f" (at least {self.floor:g})" if self.floor else "")


# Per metric defaults: ratios in absolute points, latency relative, counts absolute.
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "unlock_success_ratio": Tolerance(0.02),
    "canary_success_ratio": Tolerance(0.02),
    "error_5xx_ratio": Tolerance(0.01),
    "telemetry_ack_ratio": Tolerance(0.02),
    "unlock_p95_ms": Tolerance(0.20, relative=True, floor=50.0),
    "api_p95_ms": Tolerance(0.20, relative=True, floor=50.0),
    "stranded_drivers": Tolerance(0.0),
    "recovery_s": Tolerance(2.0),
}

# Phase figures and the direction in which they get better.
PHASE_METRICS: dict[str, bool] = {  # metric -> higher is better
    "unlock_success_ratio": True,
    "error_5xx_ratio": False,
    "stranded_drivers": False,
    "telemetry_ack_ratio": True,
    "api_p95_ms": False,
}


def default_tolerance(metric: str) -> Tolerance:
    """The metric's default, or by its unit for a metric this table does not know yet."""
    if metric in DEFAULT_TOLERANCES:
        return DEFAULT_TOLERANCES[metric]
    if metric.endswith("_ratio"):
        return Tolerance(0.02)
    if metric.endswith("_ms"):
        return Tolerance(0.20, relative=True, floor=50.0)
    if metric.endswith("_s"):
        return Tolerance(2.0)
    return Tolerance(0.0)


def known_metrics() -> list[str]:
    from fleetchaos.scenarios.schema import METRICS

    return list(dict.fromkeys([*DEFAULT_TOLERANCES, *METRICS]))


class CompareError(ValueError):
    """The two inputs cannot be compared (the message names which one and why)."""


def parse_tolerance(item: str) -> tuple[str, Tolerance]:
    """``METRIC=VALUE`` or ``METRIC=VALUE%`` (relative to BASE's value)."""
    metric, sep, raw = item.partition("=")
    metric, raw = metric.strip(), raw.strip()
    if not sep or not metric or not raw:
        raise CompareError(f"--tolerance {item!r}: expected METRIC=VALUE, e.g. "
                           "unlock_success_ratio=0.05 or unlock_p95_ms=10%")
    if metric not in known_metrics():
        raise CompareError(f"--tolerance {item!r}: unknown metric {metric!r}; known: "
                           f"{', '.join(known_metrics())}")
    relative = raw.endswith("%")
    try:
        value = float(raw[:-1] if relative else raw)
    except ValueError:
        raise CompareError(f"--tolerance {item!r}: {raw!r} is not a number") from None
    if not value >= 0:
        raise CompareError(f"--tolerance {item!r}: must be 0 or more")
    return metric, Tolerance(value / 100 if relative else value, relative)


@dataclass(frozen=True)
class Row:
    """One figure of both runs: which is better, by how much, and whether that matters."""

    group: str  # "slo" or a phase name
    name: str
    metric: str
    higher_is_better: bool
    base: float | None
    new: float | None
    tolerance: Tolerance
    tolerance_source: str  # "default", "--tolerance" or "spread"
    base_passed: bool | None = None
    new_passed: bool | None = None
    threshold: float | None = None
    op: str | None = None
    base_lower: bool = False  # BASE's value is a lower bound (the run ended first)
    new_lower: bool = False

    @property
    def delta(self) -> float | None:
        if self.base is None or self.new is None:
            return None
        return self.new - self.base

    @property
    def worse_by(self) -> float | None:
        """How much worse NEW is than BASE (negative: better)."""
        d = self.delta
        if d is None:
            return None
        return -d if self.higher_is_better else d

    @property
    def status(self) -> str:
        """regression, improved, same, lost (NEW has no data where BASE had), gained, n/a.
        The change is rounded as printed (``printed``) before it meets the tolerance."""
        if self.base is None and self.new is None:
            return "n/a"
        if self.new is None:
            return "lost"
        if self.base is None:
            return "gained"
        worse = self.worse_by
        assert worse is not None
        worse = printed(self.metric, worse)
        allowed = printed(self.metric, self.tolerance.allowed(self.base))
        if worse > allowed + 1e-12:
            return "regression"
        if -worse > allowed + 1e-12:
            return "improved"
        return "same"

    @property
    def regressed(self) -> bool:
        return self.status in ("regression", "lost")


def printed(metric: str, value: float) -> float:
    """A change as the reports print it: ratios to 0.1 point, ms to 1, seconds to 0.1."""
    if metric.endswith("_ratio"):
        return round(value, 3)
    if metric.endswith("_ms"):
        return float(round(value))
    if metric.endswith("_s"):
        return round(value, 1)
    return round(value, 6)


@dataclass(frozen=True)
class Requests:
    """How many requests each run made: a phase's all (``action`` None) or one phone API
    action's in a phase. Never a regression: a retry policy shows here as its amplification."""

    phase: str
    action: str | None
    base: int | None
    new: int | None

    @property
    def ratio(self) -> float | None:
        if not self.base or self.new is None:
            return None
        return self.new / self.base


@dataclass(frozen=True)
class RunInput:
    """One side of the comparison: its summary (typed, and as it was given: the HTML
    embeds that), and its journal when it had one (for the time series)."""

    path: str
    summary: Summary
    data: JsonDict
    journal: Journal | None = None

    @classmethod
    def from_summary(cls, path: str, data: Mapping[str, Any]) -> RunInput:
        """A summary JSON (``--summary``, or a ``--repeat`` aggregate)."""
        return cls(path, Summary.from_json(data), dict(data))

    @classmethod
    def from_records(cls, path: str, records: Sequence[object]) -> RunInput:
        """A journal's records: its summary record, else one built from the records."""
        from fleetchaos.scenarios.summary import build_summary

        journal = Journal.from_json(records)
        last = next((r for r in reversed(records) if isinstance(r, dict)
                     and r.get("type") == "summary"), None)
        data = (build_summary(journal.to_json()) if last is None
                else {k: v for k, v in last.items() if k not in ("type", "t")})
        return cls(path, Summary.from_json(data), data, journal)

    @property
    def label(self) -> str:
        return self.summary.run_id or self.path


@dataclass(frozen=True)
class Comparison:
    base: RunInput
    new: RunInput
    slos: list[Row]
    phases: list[Row]
    only_base: list[str]
    only_new: list[str]
    settings: list[tuple[str, str, str]] = field(default_factory=list)  # what, BASE, NEW
    requests: list[Requests] = field(default_factory=list)
    judged_by_slo: list[str] = field(default_factory=list)  # phase figures left to the SLOs

    @property
    def rows(self) -> list[Row]:
        return [*self.slos, *self.phases]

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.regressed]

    @property
    def improvements(self) -> list[Row]:
        return [r for r in self.rows if r.status in ("improved", "gained")]

    def better(self) -> str:
        """'new', 'base' or 'same': judged on the SLOs first, the phase figures second."""
        for rows in (self.slos, self.phases):
            worse = sum(1 for r in rows if r.regressed)
            better = sum(1 for r in rows if r.status in ("improved", "gained"))
            if worse != better:
                return "new" if better > worse else "base"
        return "same"

    def headline(self) -> str:
        slo_worse = sum(1 for r in self.slos if r.regressed)
        slo_better = sum(1 for r in self.slos if r.status in ("improved", "gained"))
        ph_worse = sum(1 for r in self.phases if r.regressed)
        ph_better = sum(1 for r in self.phases if r.status in ("improved", "gained"))
        verdict = {"new": f"NEW ({self.new.label}) is better",
                   "base": f"BASE ({self.base.label}) is better",
                   "same": "no difference beyond tolerance"}[self.better()]
        gate = (f"REGRESSION ({len(self.regressions)} figure(s) worse beyond tolerance)"
                if self.regressions else "no regression")
        return (f"{gate}; on balance {verdict}: SLOs {slo_worse} worse, {slo_better} better "
                f"of {len(self.slos)}; phase figures {ph_worse} worse, {ph_better} better of "
                f"{len(self.phases)}.")


def slo_observed(slo: SloResult) -> float | None:
    """The SLO's observed value: a repeated run's median when there is one."""
    return slo.median if slo.median is not None else slo.observed


def slo_spread(slo: SloResult) -> float | None:
    """The spread a repeated run measured for this SLO (max - min of its runs), if any;
    none from a single observation (a repeat of 1 measured no noise)."""
    if slo.observations is not None and sum(x is not None for x in slo.observations) < 2:
        return None
    width = slo.spread_width()
    runs = slo.extra.get("runs")  # early summaries: the runs' observations under "runs"
    if width is None and isinstance(runs, list):
        values = [float(x) for x in runs if as_number(x) is not None]
        width = max(values) - min(values) if len(values) >= 2 else None
    return width


def phase_figures(phase: PhaseSummary) -> dict[str, float | None]:
    """The per-phase figures the comparison shows, from a summary's phase entry (the fleet's
    phone API, as its SLOs count it: not telemetry, not the canary)."""
    api = phase.statuses([a for a in phase.by_action if is_fleet_api(a)])
    tel = phase.telemetry
    sent, acked = (tel.sent, tel.acked) if tel is not None else (None, None)
    unlock = phase.unlock_success_ratio
    return {
        "unlock_success_ratio": unlock if unlock is not None
        else ok_ratio(phase.statuses(UNLOCK_ACTIONS)),
        "error_5xx_ratio": ratio_5xx(api),
        "stranded_drivers": None if phase.stranded is None else float(phase.stranded),
        "telemetry_ack_ratio": (min(1.0, acked / sent) if sent and acked is not None else None),
        "api_p95_ms": phase.p95_ms,
    }


def compare(base: RunInput, new: RunInput,
            tolerances: dict[str, Tolerance] | None = None) -> Comparison:
    """Match SLOs by name and phases by name; figures only one side has are listed apart."""
    given = tolerances or {}

    def tolerance_for(metric: str, spreads: tuple[float | None, ...]) -> tuple[Tolerance, str]:
        if metric in given:
            return given[metric], "--tolerance"
        if spreads and all(s is not None for s in spreads):
            return Tolerance(max(s for s in spreads if s is not None)), "spread"
        return default_tolerance(metric), "default"

    base_slos = {s.name: s for s in base.summary.slos}
    new_slos = {s.name: s for s in new.summary.slos}
    slo_rows = []
    for name, b in base_slos.items():
        n = new_slos.get(name)
        if n is None:
            continue
        tol, source = tolerance_for(b.metric, (slo_spread(b), slo_spread(n)))
        slo_rows.append(Row("slo", name, b.metric, b.op == ">=", slo_observed(b),
                            slo_observed(n), tol, source, b.passed, n.passed, n.threshold,
                            b.op, bool(b.lower_bound), bool(n.lower_bound)))
    phase_rows = []
    judged_by_slo = []
    by_slo = {(r.metric, base_slos[r.name].phase) for r in slo_rows}
    new_phases = {p.name: p for p in new.summary.phases}
    for bp in base.summary.phases:
        np = new_phases.get(bp.name)
        if np is None:
            continue
        bf, nf = phase_figures(bp), phase_figures(np)
        for metric, higher in PHASE_METRICS.items():
            if (metric, bp.name) in by_slo:  # one change, counted once: as the SLO
                judged_by_slo.append(f"{bp.name} {metric}")
                continue
            tol, source = tolerance_for(metric, ())
            phase_rows.append(Row(bp.name, metric, metric, higher, bf[metric], nf[metric], tol,
                                  source))
    base_phase_names = [p.name for p in base.summary.phases]
    only_base = [f"SLO {k}" for k in base_slos if k not in new_slos]
    only_base += [f"phase {k}" for k in base_phase_names if k not in new_phases]
    only_new = [f"SLO {k}" for k in new_slos if k not in base_slos]
    only_new += [f"phase {k}" for k in new_phases if k not in base_phase_names]
    if not slo_rows and not phase_rows:
        raise CompareError(f"{base.path} and {new.path} share no SLO and no phase: "
                           "nothing to compare")
    return Comparison(base, new, slo_rows, phase_rows, only_base, only_new,
                      settings_differ(base.summary, new.summary),
                      requests(base.summary, new.summary), judged_by_slo)


def settings_differ(base: Summary, new: Summary) -> list[tuple[str, str, str]]:
    """The run settings (the summary's ``config``) that differ: (what, BASE's, NEW's)."""
    if base.config is None and new.config is None:
        return []
    pairs = zip(config_items(base.config), config_items(new.config), strict=True)
    out = [(what, b, n) for (what, b), (_, n) in pairs if b != n and what != "--set"]
    sets_b = list((base.config.overrides if base.config else None) or ())
    sets_n = list((new.config.overrides if new.config else None) or ())
    if sets_b != sets_n:  # the --set items one run had and the other not
        only_b = [x for x in sets_b if x not in sets_n]
        only_n = [x for x in sets_n if x not in sets_b]
        out.append(("--set", " ".join(only_b) or "-", " ".join(only_n) or "-"))
    return out


def requests(base: Summary, new: Summary) -> list[Requests]:
    """Requests per phase (all of them), then per phone API action within it, and the run's."""
    out: list[Requests] = []
    new_phases = {p.name: p for p in new.phases}
    for bp in base.phases:
        np = new_phases.get(bp.name)
        if np is None:
            continue
        out.append(Requests(bp.name, None, bp.requests, np.requests))
        actions = [a for a in dict.fromkeys([*bp.by_action, *np.by_action]) if is_fleet_api(a)]
        for action in sorted(actions, key=lambda a: (-bp.action(a).requests, a)):
            out.append(Requests(bp.name, action, bp.action(action).requests,
                                np.action(action).requests))
    if base.totals is not None and new.totals is not None:
        out.append(Requests("run", None, base.totals.requests, new.totals.requests))
    return out


def format_value_of(row: Row, new: bool) -> str:
    """A side's value; a lower bound (the run ended before recovery) as '> 4 s'."""
    value, lower = (row.new, row.new_lower) if new else (row.base, row.base_lower)
    text = format_value(row.metric, value)
    return f"> {text}" if lower and value is not None else text


def format_delta(row: Row) -> str:
    d = row.delta
    if d is None:
        return "-"
    if row.base_lower and row.new_lower:
        return "both > (run ended first)"
    if row.metric.endswith("_ratio"):
        return f"{100 * d:+.1f} pt"
    if row.metric.endswith("_ms"):
        return f"{d:+,.0f} ms"
    if row.metric.endswith("_s"):
        return f"{d:+g} s"
    return f"{d:+g}"


def format_tolerance(row: Row) -> str:
    tol = row.tolerance
    if tol.relative:
        text = f"±{tol.value * 100:g}%"
        if tol.floor and row.base is not None and tol.allowed(row.base) == tol.floor:
            text = f"±{format_value(row.metric, tol.floor)}"
    elif row.metric.endswith("_ratio"):
        text = f"±{100 * tol.value:.1f} pt"
    else:
        text = f"±{format_value(row.metric, tol.value)}"
    return f"{text} (spread)" if row.tolerance_source == "spread" else text
