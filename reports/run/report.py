"""A run as the reports see it: the summary plus the time series, from journal records.

The records are typed once (``fleetchaos.scenarios.records``, which also drops what a
journal of another version or a hand edit got wrong); a journal cut short by a kill has no
summary record, so its summary is built here from the other records (verdict
``incomplete``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

from fleetchaos.reports.format import errors_5xx_text, recovery_text, stranded_text
from fleetchaos.reports.labels import record_label, step_label
from fleetchaos.reports.run import broker
from fleetchaos.scenarios.metrics import (
    CANARY_PREFIX,
    TELEMETRY_ACTIONS,
    UNLOCK_ACTIONS,
    is_fleet_api,
    ok_ratio,
)
from fleetchaos.scenarios.records import (
    DriverRecord,
    Effect,
    HeaderRecord,
    Journal,
    JsonDict,
    PhaseSpan,
    SampleRecord,
    StepRecord,
    Summary,
    statuses_of,
)
from fleetchaos.scenarios.summary import build_summary


@dataclass(frozen=True)
class FaultWindow:
    """A fault as it really was: on from ``start`` to ``end`` (seconds), its label, whether
    it was added by hand, what ended it and what it touched."""

    start: float
    end: float
    label: str
    manual: bool
    step: str
    ended_by: str | None  # "duration ended", "removed by hand", "planned" (no step records)
    effect: Effect | None = None
    verdict: object = None  # a step record's own verdict, when it carries one

    def to_json(self) -> JsonDict:
        out: JsonDict = {"start": self.start, "end": self.end, "label": self.label,
                         "manual": self.manual, "step": self.step, "ended_by": self.ended_by}
        if self.effect is not None:
            out["effect"] = self.effect.to_json()
        if self.verdict is not None:
            out["verdict"] = self.verdict
        return out


@dataclass(frozen=True)
class RunSeries:
    """The run per sample (one point a second), for charts."""

    t: list[float] = field(default_factory=list)
    requests_per_s: list[int] = field(default_factory=list)
    p95_ms: list[float | None] = field(default_factory=list)
    error_5xx_ratio: list[float | None] = field(default_factory=list)  # of the phone API
    unlock_success_ratio: list[float | None] = field(default_factory=list)
    stranded_cumulative: list[int] = field(default_factory=list)
    telemetry_acked_per_s: list[int] = field(default_factory=list)
    telemetry_p95_ms: list[float | None] = field(default_factory=list)

    def to_json(self) -> JsonDict:
        return asdict(self)


@dataclass(frozen=True)
class ActionSeries:
    """One phone API action per sample: requests, p95 ms and success (2xx share); None
    where the action was idle."""

    requests: list[int] = field(default_factory=list)
    p95_ms: list[float | None] = field(default_factory=list)
    success_ratio: list[float | None] = field(default_factory=list)

    def to_json(self) -> JsonDict:
        return {"p95_ms": self.p95_ms, "success_ratio": self.success_ratio,
                "requests": self.requests}


@dataclass
class _Window:
    """A fault being read from the step records (its end is None while it is on)."""

    start: float
    end: float | None
    label: str
    manual: bool
    step: str
    ended_by: str | None
    effect: Effect | None = None
    verdict: object = None

    def take_extras(self, rec: StepRecord) -> None:
        """What a step record says about its fault besides times: its effect (and verdict)."""
        if rec.effect is not None:
            self.effect = rec.effect
        if rec.extra.get("verdict") is not None:
            self.verdict = rec.extra["verdict"]

    def closed(self, run_end: float) -> FaultWindow:
        """The fault as reported: one still on at the end is on until the run's end."""
        end = max(run_end, self.start) if self.end is None else self.end
        return FaultWindow(self.start, end, self.label, self.manual, self.step, self.ended_by,
                           self.effect, self.verdict)


def _fact(*values: object, default: str = "-") -> str:
    """The first value given (summary before header), as text."""
    value = next((v for v in values if v is not None), None)
    return default if value is None or value == "" else str(value)


@dataclass(frozen=True)
class RunReport:
    header: HeaderRecord
    summary: Summary
    samples: tuple[SampleRecord, ...] = ()
    steps: tuple[StepRecord, ...] = ()
    drivers: tuple[DriverRecord, ...] = ()

    @classmethod
    def from_records(cls, records: Iterable[object]) -> RunReport:
        """From a journal's records as read (``scenarios.journal.read_journal``)."""
        return cls.from_journal(Journal.from_json(records))

    @classmethod
    def from_journal(cls, journal: Journal) -> RunReport:
        summary = journal.summary
        if summary is None:  # cut short by a kill: the verdict from what was journalled
            summary = Summary.from_json(build_summary(journal.to_json()))
        elif summary.config is None or summary.totals is None \
                or summary.totals.errors_5xx is None:
            summary = _with_todays_figures(summary, journal)
        return cls(journal.header, summary, journal.samples, journal.steps, journal.drivers)

    # --- the run's facts ----------------------------------------------------------------
    @property
    def scenario(self) -> str:
        return _fact(self.summary.scenario, self.header.scenario, default="unknown-scenario")

    @property
    def title(self) -> str:
        return _fact(self.summary.title, self.header.title, default=self.scenario)

    @property
    def run_id(self) -> str:
        return _fact(self.summary.run_id, self.header.run_id)

    @property
    def seed(self) -> str:
        return _fact(self.summary.seed, self.header.seed)

    @property
    def verdict(self) -> str:
        return self.summary.verdict

    def phases(self) -> tuple[PhaseSpan, ...]:
        """The phases as the scenario declared them (the header's)."""
        return self.header.phases

    def run_end(self) -> float:
        """The last moment the journal knows of (last sample, else the planned duration)."""
        if self.samples:
            return float(self.samples[-1].t)
        return float(self.header.duration_s or 0.0)

    # --- faults -------------------------------------------------------------------------
    def faults(self) -> list[FaultWindow]:
        """Every fault as it really was: start, end, label, manual or scheduled.

        Read from the journal's step records (a fired step opens a fault, the step record
        with ``detail.rollback`` for the same step key closes it; ``on_s``/``off_s`` win
        over ``t`` when the engine journals them). A journal without step records falls
        back to the header's timeline (the planned windows).
        """
        run_end = self.run_end()
        out: list[_Window] = []
        open_by_key: dict[str, _Window] = {}
        for rec in self.steps:
            if rec.action == "users" or rec.fault is False:
                continue
            if rec.is_rollback:
                fault = open_by_key.pop(rec.key, None)
                if fault is not None:
                    fault.end = float(_first(rec.off_s, rec.t, run_end))
                    fault.ended_by = rec.rollback
                    if rec.on_s is not None:
                        fault.start = float(rec.on_s)
                    if rec.label:
                        fault.label = rec.label
                    fault.take_extras(rec)
                continue
            if rec.action == "toxic_remove":
                continue
            fault = _Window(float(_first(rec.on_s, rec.t, 0.0)), None, record_label(rec),
                            rec.manual, rec.key, None)
            fault.take_extras(rec)
            out.append(fault)
            open_by_key[rec.key] = fault
        if not out and not self.steps:
            for step in self.header.timeline:
                if step.action == "users" or step.at_s is None:
                    continue
                end = step.end_s or self.header.duration_s or step.at_s
                out.append(_Window(float(step.at_s), float(end),
                                   step_label(step.action, step.spec), False, str(step.index),
                                   "planned"))
        return [f.closed(run_end) for f in out]

    def fault_windows(self) -> list[tuple[float, float, str]]:
        """(start, end, label) for every fault, scheduled or by hand, for shading charts."""
        return [(f.start, f.end, f.label) for f in self.faults()]

    # --- the MQTT broker ----------------------------------------------------------------
    def broker_phases(self) -> list[broker.BrokerRow]:
        """The MQTT broker's figures per phase (``reports/run/broker.py``); [] without any."""
        phases: tuple[PhaseSpan, ...] = tuple(
            PhaseSpan(p.name, p.start_s, p.end_s) for p in self.summary.phases) or self.phases()
        return broker.phase_rows(self.samples, phases)

    def broker_series(self) -> broker.BrokerSeries:
        """The broker's messages in / out and dropped per second; empty lists without any."""
        return broker.series(self.samples)

    # --- time series --------------------------------------------------------------------
    def api_actions(self) -> list[str]:
        """The phone API's actions in the samples, unlock first, then by volume."""
        volume: dict[str, int] = {}
        for s in self.samples:
            for action, a in s.by_action.items():
                if action not in TELEMETRY_ACTIONS:
                    volume[action] = volume.get(action, 0) + a.requests
        first = [a for a in ("unlock", f"{CANARY_PREFIX}unlock") if a in volume]
        rest = sorted((a for a in volume if a not in first), key=lambda a: (-volume[a], a))
        return first + rest

    def action_series(self, actions: list[str]) -> dict[str, ActionSeries]:
        """Per action and per sample: p95 ms and success (2xx share); None when idle."""
        out = {a: ActionSeries() for a in actions}
        for s in self.samples:
            for action in actions:
                a = s.action(action)
                ratio = ok_ratio(a.by_status)
                out[action].requests.append(a.requests)
                out[action].p95_ms.append(a.p95_ms if a.requests else None)
                out[action].success_ratio.append(None if ratio is None else round(ratio, 4))
        return out

    def series(self) -> RunSeries:
        """Per-second series for charts."""
        out = RunSeries()
        count = 0
        prev_acked = 0
        driver_times = sorted(self.drivers, key=lambda d: d.t)
        i = 0
        for s in self.samples:
            out.t.append(round(s.t, 1))
            out.requests_per_s.append(s.requests)
            api = statuses_of(s.by_action, [a for a in s.by_action if is_fleet_api(a)])
            total = sum(api.values())
            n5 = sum(n for status, n in api.items() if status.startswith("5"))
            out.error_5xx_ratio.append(round(n5 / total, 4) if total else None)
            out.p95_ms.append(s.p95_ms)
            tel = s.action("telemetry")
            out.telemetry_p95_ms.append(tel.p95_ms if tel.requests else None)
            ratio = ok_ratio(statuses_of(s.by_action, UNLOCK_ACTIONS))
            out.unlock_success_ratio.append(None if ratio is None else round(ratio, 4))
            while i < len(driver_times) and driver_times[i].t <= s.t:
                count += driver_times[i].outcome == "stranded"
                i += 1
            out.stranded_cumulative.append(count)
            now_acked = s.fleet.telemetry_acked
            now_acked = prev_acked if now_acked is None else now_acked
            out.telemetry_acked_per_s.append(max(0, now_acked - prev_acked))
            prev_acked = now_acked
        return out

    # --- words --------------------------------------------------------------------------
    def headline(self) -> str:
        """One sentence: what broke, when, how badly (every figure the summary's)."""
        s = self.summary
        parts = [errors_5xx_text(s), stranded_text(s)]
        recovery = recovery_text(s)
        if recovery is not None:
            parts.append(recovery)
        return "; ".join(parts) + "."


def _with_todays_figures(summary: Summary, journal: Journal) -> Summary:
    """A summary an earlier version wrote, with the figures it lacks (the run's settings,
    its totals, 5xx and drivers per phase) computed from the same journal by today's
    summary; its verdict and SLO results stay as that run judged them."""
    today = Summary.from_json(build_summary(journal.to_json()))
    return replace(summary, phases=today.phases, totals=today.totals, drivers=today.drivers,
                   config=today.config)


def _first(*values: float | None) -> float:
    return next(v for v in values if v is not None)


def duration_text(report: RunReport) -> str:
    """'30 s timeline, 36 s with the wind-down' / '12 s of 60 s planned (cut short)'."""
    planned = report.header.duration_s or report.summary.duration_s
    ran = float(report.run_end())
    if not planned:
        return f"{ran:.0f} s"
    planned = float(planned)
    if ran < planned - 1:
        return f"{ran:.0f} s of {planned:g} s planned (cut short)"
    if ran > planned + 1:
        return f"{planned:g} s timeline, {ran:.0f} s with the wind-down"
    return f"{planned:g} s"
