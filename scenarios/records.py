"""The journal's records and the summary, typed: the one place their shape is written down.

Every record of a run's journal (JSON Lines: ``header``, ``schedule``, ``step``, ``error``,
``sample``, ``driver``, ``slo``, ``cleanup``, ``summary``) and the summary object
(``summary.json``, the journal's last record) is a frozen dataclass here, with
``from_json`` (the wire form in, the typed object out) and ``to_json`` (back to the wire
form), in the spirit of Locust's ``StatsEntry.serialize`` / ``unserialize``. The fields
are the wire names, in the order the writers write them. docs/architecture.md ("The
journal", "The summary") describes what each one means.

``from_json`` reads what any version wrote, or a hand-edited or half-written file: a
value of the wrong kind (a string where a number was, ``NaN``, ``inf``, a list where a
mapping was) is dropped so the field keeps its default (renderers print ``-``), list
items that are not mappings are dropped, a ``sample`` or ``driver`` without a time is
skipped (it cannot be placed on a time axis), and keys this version does not know are
kept in ``extra`` and written back by ``to_json``. ``to_json`` leaves out a field that is
``None`` (absent); containers the writers always write are written even when empty.

Fields a later version may fill in (issues 22 and 23, notes/SUMMARY_CONTRACT.md) are
here already, ``None`` until a writer fills them: a renderer can read them now.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cached_property
from typing import Any, ClassVar, TypeVar

JsonDict = dict[str, Any]
T = TypeVar("T")


# --- reading and writing JSON values ---------------------------------------------------

def as_number(value: object) -> float | None:
    """A finite JSON number (an int stays an int), else None; booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def as_int(value: object) -> int | None:
    """An integer, or a float holding one (``3.0``); anything else is None."""
    number = as_number(value)
    if number is None or isinstance(number, int):
        return number
    return int(number) if number.is_integer() else None


def as_text(value: object) -> str | None:
    """Text; a number or a boolean is written as text; anything else (None, a list, an
    object: what a report must never print) is None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or as_number(value) is not None:
        return str(value)
    return None


class JsonReader:
    """One JSON object being read: typed getters that drop values of the wrong kind; the
    keys no getter asked for are ``extra()``."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.used: set[str] = {"type"}

    def get(self, key: str) -> Any:
        self.used.add(key)
        return self.raw.get(key)

    def has(self, key: str) -> bool:
        return key in self.raw

    def number(self, key: str) -> float | None:
        return as_number(self.get(key))

    def integer(self, key: str) -> int | None:
        return as_int(self.get(key))

    def text(self, key: str) -> str | None:
        return as_text(self.get(key))

    def flag(self, key: str) -> bool | None:
        """A JSON boolean, else None."""
        value = self.get(key)
        return value if isinstance(value, bool) else None

    def truth(self, key: str) -> bool:
        """Whether the value is truthy (absent is False), as every reader has taken it."""
        return bool(self.get(key))

    def mapping(self, key: str) -> JsonDict | None:
        """A JSON object as it is (pure data passed through), else None."""
        value = self.get(key)
        return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else None

    def counts(self, key: str) -> dict[str, int]:
        """``{"200": 12, "500": 3}``: counts by status (or histogram bucket); others dropped."""
        value = self.get(key)
        if not isinstance(value, Mapping):
            return {}
        out: dict[str, int] = {}
        for k, n in value.items():
            number = as_number(n)
            if number is not None:
                out[str(k)] = int(number)
        return out

    def texts(self, key: str) -> tuple[str, ...] | None:
        """A list of texts (numbers written as text, other items dropped), else None."""
        value = self.get(key)
        if not isinstance(value, list):
            return None
        return tuple(t for t in (as_text(x) for x in value) if t is not None)

    def numbers(self, key: str) -> tuple[float | None, ...] | None:
        value = self.get(key)
        if not isinstance(value, list):
            return None
        return tuple(as_number(x) for x in value)

    def one(self, key: str, parse: Callable[[Mapping[str, Any]], T]) -> T | None:
        value = self.get(key)
        return parse(value) if isinstance(value, Mapping) else None

    def many(self, key: str, parse: Callable[[Mapping[str, Any]], T]) -> tuple[T, ...] | None:
        """A list of objects (items that are not objects dropped), else None."""
        value = self.get(key)
        if not isinstance(value, list):
            return None
        return tuple(parse(x) for x in value if isinstance(x, Mapping))

    def by_name(self, key: str, parse: Callable[[Mapping[str, Any]], T]) -> dict[str, T]:
        """``{name: object}`` (entries that are not objects dropped)."""
        value = self.get(key)
        if not isinstance(value, Mapping):
            return {}
        return {str(k): parse(v) for k, v in value.items() if isinstance(v, Mapping)}

    def extra(self) -> JsonDict:
        return {k: v for k, v in self.raw.items() if k not in self.used and v is not None}


def _out(value: Any) -> Any:
    if isinstance(value, Wire):
        return value.to_json()
    if isinstance(value, tuple | list):
        return [_out(x) for x in value]
    if isinstance(value, dict):
        return {k: _out(v) for k, v in value.items()}
    return value


class Wire:
    """A typed piece of the wire form: ``to_json`` writes every field but ``extra`` under
    its own name, in field order, leaving out what is None, then the keys kept in ``extra``."""

    extra: JsonDict

    def to_json(self) -> JsonDict:
        assert is_dataclass(self)
        out: JsonDict = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = _out(value)
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


def _step_key(value: object) -> float | str | None:
    """A step's key as journalled (an int when applied, a str when rolled back)."""
    return value if isinstance(value, str) else as_number(value)


# --- the header's parts ----------------------------------------------------------------

@dataclass(frozen=True)
class PhaseSpan(Wire):
    """A phase as the scenario declares it: ``[start_s, end_s)`` on the run's clock."""

    name: str = "?"
    start_s: float = 0.0
    end_s: float = 0.0
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PhaseSpan:
        r = JsonReader(raw)
        start = r.number("start_s")
        end = r.number("end_s")
        start = 0.0 if start is None else start
        name = r.text("name")
        return cls("?" if name is None else name, start, start if end is None else end,
                   r.extra())


@dataclass(frozen=True)
class SloSpec(Wire):
    """An SLO as the scenario declares it (``op`` is ``>=`` or ``<=``)."""

    name: str = "?"
    phase: str = "all"
    metric: str = "?"
    op: str = ">="
    threshold: float | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SloSpec:
        r = JsonReader(raw)
        return cls(**_slo_spec(r), extra=r.extra())


def _slo_spec(r: JsonReader) -> dict[str, Any]:
    """The declared SLO's fields; a missing name is its metric's."""
    name, phase, metric, op = r.text("name"), r.text("phase"), r.text("metric"), r.text("op")
    metric = "?" if metric is None else metric
    return {"name": metric if name is None else name, "phase": "all" if phase is None else phase,
            "metric": metric, "op": ">=" if op is None else op,
            "threshold": r.number("threshold")}


@dataclass(frozen=True)
class TimelineStep(Wire):
    """A timeline step as declared (the header's ``timeline``): when, what, its label."""

    index: int | None = None
    at_s: float | None = None
    duration_s: float | None = None
    end_s: float | None = None
    action: str | None = None
    spec: JsonDict = field(default_factory=dict)  # the step plug-in's own form
    label: str | None = None
    fault: bool | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TimelineStep:
        r = JsonReader(raw)
        return cls(r.integer("index"), r.number("at_s"), r.number("duration_s"),
                   r.number("end_s"), r.text("action"), r.mapping("spec") or {}, r.text("label"),
                   r.flag("fault"), r.extra())


@dataclass(frozen=True)
class Target(Wire):
    """What the run was aimed at: the backend, its profile, the Toxiproxy (and MQTT broker)."""

    profile: str | None = None
    host: str | None = None
    toxiproxy_url: str | None = None
    toxiproxy_server: str | None = None  # "built-in" or "external"
    proxies: JsonDict | None = None  # proxy name -> listen address
    mqtt_url: str | None = None
    normal: JsonDict | None = None  # action -> {status: meaning} the profile calls normal
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Target:
        r = JsonReader(raw)
        return cls(r.text("profile"), r.text("host"), r.text("toxiproxy_url"),
                   r.text("toxiproxy_server"), r.mapping("proxies"), r.text("mqtt_url"),
                   r.mapping("normal"), r.extra())

    def normal_meaning(self, status: str) -> str | None:
        """What the profile says a normal answer ``status`` means ("car asleep")."""
        for statuses in (self.normal or {}).values():
            if isinstance(statuses, Mapping) and status in statuses:
                return as_text(statuses[status])
        return None


@dataclass(frozen=True)
class FleetSettings(Wire):
    """The fleet as the run applied it (the header's ``fleet``)."""

    cars: int | None = None
    drivers: int | None = None
    registered: int | None = None
    retry_policy: str | None = None
    patience_s: float | None = None
    need_interval_s: float | None = None
    profile: str | None = None
    seed: int | None = None
    workers: int | None = None
    verbosity: float | None = None
    cohort: float | None = None
    canary: JsonDict | None = None  # as declared (the schedule has it as applied)
    api_url: str | None = None  # the phone API through its proxy
    telemetry_url: str | None = None  # the cars' link through its proxy
    admin_url: str | None = None  # the backend itself (fleet registration)
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FleetSettings:
        r = JsonReader(raw)
        return cls(r.integer("cars"), r.integer("drivers"), r.integer("registered"),
                   r.text("retry_policy"), r.number("patience_s"), r.number("need_interval_s"),
                   r.text("profile"), r.integer("seed"), r.integer("workers"),
                   r.number("verbosity"), r.number("cohort"), r.mapping("canary"),
                   r.text("api_url"), r.text("telemetry_url"), r.text("admin_url"), r.extra())


# --- the journal's records -------------------------------------------------------------

@dataclass(frozen=True)
class Record(Wire):
    """A journal line: its ``type`` and ``t`` (seconds since the run's start)."""

    TYPE: ClassVar[str] = ""
    t: float | None

    def to_json(self) -> JsonDict:
        return {"type": self.TYPE, **super().to_json()}


@dataclass(frozen=True)
class HeaderRecord(Record):
    """The run as it started: scenario, seed, target, fleet, phases, SLOs, timeline."""

    TYPE: ClassVar[str] = "header"
    t: float | None = None
    run_id: str | None = None
    scenario: str | None = None
    title: str | None = None
    description: str | None = None
    seed: int | None = None
    started_at: str | None = None  # ISO 8601
    hostname: str | None = None
    versions: dict[str, str] | None = None  # fleetchaos, locust, python, ...
    source: str | None = None
    target: Target = field(default_factory=Target)
    fleet: FleetSettings = field(default_factory=FleetSettings)
    duration_s: float | None = None
    phases: tuple[PhaseSpan, ...] = ()
    slos: tuple[SloSpec, ...] = ()
    timeline: tuple[TimelineStep, ...] = ()
    leftovers_removed: tuple[str, ...] | None = None
    time_scale: float | None = None  # issue 23: the run's configuration
    overrides: tuple[str, ...] | None = None  # issue 23: every --set, as given
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> HeaderRecord:
        r = JsonReader(raw)
        versions = r.mapping("versions")
        return cls(
            t=r.number("t"), run_id=r.text("run_id"), scenario=r.text("scenario"),
            title=r.text("title"), description=r.text("description"), seed=r.integer("seed"),
            started_at=r.text("started_at"), hostname=r.text("hostname"),
            versions=None if versions is None else {k: str(v) for k, v in versions.items()},
            source=r.text("source"), target=r.one("target", Target.from_json) or Target(),
            fleet=r.one("fleet", FleetSettings.from_json) or FleetSettings(),
            duration_s=r.number("duration_s"),
            phases=r.many("phases", PhaseSpan.from_json) or (),
            slos=r.many("slos", SloSpec.from_json) or (),
            timeline=r.many("timeline", TimelineStep.from_json) or (),
            leftovers_removed=r.texts("leftovers_removed"), time_scale=r.number("time_scale"),
            overrides=r.texts("overrides"), extra=r.extra())

    def phase(self, name: str) -> PhaseSpan | None:
        return next((p for p in self.phases if p.name == name), None)


@dataclass(frozen=True)
class ScheduleRecord(Record):
    """What the seed fixed before the run: identities, needs, cohorts (or their digests
    above 1,000 drivers/cars), and the canary as applied. Pure data, passed through."""

    TYPE: ClassVar[str] = "schedule"
    t: float | None = None
    seed: int | None = None
    cars: int | None = None
    drivers: int | None = None
    horizon_s: float | None = None
    identities_digest: str | None = None
    needs_total: int | None = None
    needs_digest: str | None = None
    cohorts_digest: str | None = None
    needs: JsonDict | None = None  # driver -> planned offsets
    remote_start: JsonDict | None = None  # driver -> bool per need
    cohorts: JsonDict | None = None  # share -> car indices
    canary: JsonDict | None = None  # count, actions, interval_s, window_s, recovered_ratio
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ScheduleRecord:
        r = JsonReader(raw)
        return cls(r.number("t"), r.integer("seed"), r.integer("cars"), r.integer("drivers"),
                   r.number("horizon_s"), r.text("identities_digest"), r.integer("needs_total"),
                   r.text("needs_digest"), r.text("cohorts_digest"), r.mapping("needs"),
                   r.mapping("remote_start"), r.mapping("cohorts"), r.mapping("canary"),
                   r.extra())


@dataclass(frozen=True)
class Delivery(Wire):
    """What a fault was asked to do and what it did, in its own unit (issue 22): written by
    the step when it is rolled back, judged by ``scenarios.delivery``. ``delivered`` None
    with a ``measure``: the summary measures it from the samples (latency, failed_requests,
    failed_connections, cohort_rate), reading the Locust names in ``actions``; ``asked``
    None: the summary counts that too (the requests through an outage)."""

    unit: str | None = None  # x, share, ms, requests, connections
    asked: float | None = None
    delivered: float | None = None
    measure: str | None = None
    actions: tuple[str, ...] | None = None
    injections: tuple[JsonDict, ...] | None = None  # http_error: {proxy, method, path, actions, also}
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Delivery:
        r = JsonReader(raw)
        injections = r.get("injections")
        return cls(r.text("unit"), r.number("asked"), r.number("delivered"), r.text("measure"),
                   r.texts("actions"),
                   tuple({str(k): v for k, v in i.items()} for i in injections
                         if isinstance(i, Mapping)) if isinstance(injections, list) else None,
                   r.extra())


@dataclass(frozen=True)
class Effect(Wire):
    """What a fault touched while it was on; ``count`` None means nobody can tell."""

    count: int | None
    what: str | None = None  # "requests answered 500 by the toxic", "connections through api"
    could_match: str | None = None  # for the no-effect message: what it could have matched
    delivery: Delivery | None = None  # issue 22: asked vs delivered
    extra: JsonDict = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        return {"count": self.count, **super().to_json()}  # null count: unknown

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Effect:
        r = JsonReader(raw)
        return cls(r.integer("count"), r.text("what"), r.text("could_match"),
                   r.one("delivery", Delivery.from_json), r.extra())


@dataclass(frozen=True)
class StepRecord(Record):
    """A step applied (a fault on, users changed, ...) or rolled back (``detail.rollback``
    says why; ``on_s``/``off_s`` say when the fault was really on, ``effect`` what it did)."""

    TYPE: ClassVar[str] = "step"
    t: float | None = None
    action: str | None = None  # users, verbosity, toxic_add, toxic_remove, proxy_down, ...
    step: float | str | None = None  # the step's key (its index; by hand above 1000)
    phase: str | None = None
    detail: JsonDict = field(default_factory=dict)  # the step plug-in's own form
    manual: bool = False  # added by hand in the web UI
    label: str | None = None
    fault: bool | None = None
    scheduled_s: float | None = None
    call_s: tuple[float | None, ...] | None = None  # [started, returned] around the API call
    until_s: float | None = None
    on_s: float | None = None
    off_s: float | None = None
    effect: Effect | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> StepRecord:
        r = JsonReader(raw)
        step = r.get("step")
        return cls(
            t=r.number("t"), action=r.text("action"),
            step=_step_key(step),
            phase=r.text("phase"), detail=r.mapping("detail") or {}, manual=r.truth("manual"),
            label=r.text("label"), fault=r.flag("fault"), scheduled_s=r.number("scheduled_s"),
            call_s=r.numbers("call_s"), until_s=r.number("until_s"), on_s=r.number("on_s"),
            off_s=r.number("off_s"), effect=r.one("effect", Effect.from_json), extra=r.extra())

    @property
    def key(self) -> str:
        """The step's key as text: a fault's apply and rollback records share it."""
        return str(self.step)

    @property
    def is_rollback(self) -> bool:
        return "rollback" in self.detail

    @property
    def rollback(self) -> str | None:
        """Why the step was rolled back ("duration ended", "removed by hand", "run ended
        (...)"), or None when this record applied it."""
        return str(self.detail.get("rollback")) if self.is_rollback else None


@dataclass(frozen=True)
class ErrorRecord(Record):
    """A step (or the sampler, a rollback, the clean-up) that failed."""

    TYPE: ClassVar[str] = "error"
    t: float | None = None
    what: str | None = None  # set-up, step, sample, rollback, cleanup
    step: float | str | None = None
    action: str | None = None
    label: str | None = None
    manual: bool | None = None
    message: str | None = None
    traceback: str | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ErrorRecord:
        r = JsonReader(raw)
        step = r.get("step")
        return cls(r.number("t"), r.text("what"),
                   _step_key(step),
                   r.text("action"), r.text("label"), r.flag("manual"), r.text("message"),
                   r.text("traceback"), r.extra())


@dataclass(frozen=True)
class ActionStats(Wire):
    """One action's figures: a sample's deltas over its second, or a phase's sums."""

    requests: int = 0
    failures: int = 0
    by_status: dict[str, int] = field(default_factory=dict)  # "0": connection error
    hist: dict[str, int] | None = None  # rounded ms -> count (samples only)
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    sum_ms: float | None = None  # samples: the second's response times summed (issue 23)
    bytes: int | None = None  # samples: the second's response bodies, bytes (issue 23)
    avg_ms: float | None = None  # phases (issue 23): within the phase alone
    min_ms: float | None = None  # phases
    max_ms: float | None = None  # phases
    p90_ms: float | None = None  # phases
    normal: dict[str, int] | None = None  # phases: answers the profile calls normal
    bytes_received: int | None = None  # phases
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ActionStats:
        r = JsonReader(raw)
        return cls(r.integer("requests") or 0, r.integer("failures") or 0, r.counts("by_status"),
                   r.counts("hist") if r.has("hist") else None, r.number("p50_ms"),
                   r.number("p95_ms"), r.number("p99_ms"), r.number("sum_ms"),
                   r.integer("bytes"), r.number("avg_ms"), r.number("min_ms"),
                   r.number("max_ms"), r.number("p90_ms"),
                   r.counts("normal") if r.has("normal") else None,
                   r.integer("bytes_received"), r.extra())


EMPTY_ACTION = ActionStats()


def statuses_of(by_action: Mapping[str, ActionStats], actions: Iterable[str]) -> dict[str, int]:
    """The status counts of these actions, summed."""
    out: dict[str, int] = {}
    for action in actions:
        for status, n in by_action.get(action, EMPTY_ACTION).by_status.items():
            out[status] = out.get(status, 0) + n
    return out


@dataclass(frozen=True)
class FleetCounters(Wire):
    """The fleet's counters in a sample (``fleet_sim.stats.snapshot``), in the order it
    writes them: cumulative counts, but the gauges (a level now, summed over the fleet's
    processes). docs/architecture.md ("Fleet counters") says what each one counts."""

    cars_connected: int | None = None  # a gauge
    cars_total: int | None = None
    telemetry_offered: int | None = None  # came due on the cars' schedules, sent or not
    telemetry_sent: int | None = None  # left a car the first time (resends not counted)
    telemetry_acked: int | None = None
    telemetry_resent: int | None = None
    telemetry_bytes: int | None = None
    telemetry_dropped: int | None = None  # dropped_unsent + dropped_unacked
    telemetry_dropped_unsent: int | None = None  # pushed out of a full buffer
    telemetry_dropped_unacked: int | None = None  # given up after resend.max resends
    telemetry_buffered: int | None = None  # a gauge: due, not sent yet
    telemetry_in_flight: int | None = None  # a gauge: sent, neither acked nor dropped
    telemetry_cohort_cars: int | None = None  # a gauge: awake cars in the verbosity cohort
    telemetry_cohort_offered: int | None = None  # the same three, for the cohort's records
    telemetry_cohort_sent: int | None = None
    telemetry_cohort_acked: int | None = None
    telemetry_cohort_baseline: float | None = None  # what the cohort would offer at base rate
    keepalive_retries: int | None = None
    api_bytes_sent: int | None = None  # the phones' API request bodies, as Locust encodes them
    commands_received: int | None = None
    commands_acked: int | None = None
    drivers_needing: int | None = None
    accessed: JsonDict | None = None  # app, bluetooth, keycard
    stranded: int | None = None
    status_by_action: JsonDict | None = None  # action -> {status: n}
    fleet_processes: int | None = None  # fleet processes that reported
    fleet_cpu_s: float | None = None  # CPU seconds the fleet processes used
    fleet_cpu_share: float | None = None  # a gauge: CPU s per s, summed over the processes
    fleet_cpu_share_max: float | None = None  # a gauge: the busiest process's share
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FleetCounters:
        r = JsonReader(raw)
        i = r.integer
        return cls(
            cars_connected=i("cars_connected"), cars_total=i("cars_total"),
            telemetry_offered=i("telemetry_offered"), telemetry_sent=i("telemetry_sent"),
            telemetry_acked=i("telemetry_acked"), telemetry_resent=i("telemetry_resent"),
            telemetry_bytes=i("telemetry_bytes"), telemetry_dropped=i("telemetry_dropped"),
            telemetry_dropped_unsent=i("telemetry_dropped_unsent"),
            telemetry_dropped_unacked=i("telemetry_dropped_unacked"),
            telemetry_buffered=i("telemetry_buffered"),
            telemetry_in_flight=i("telemetry_in_flight"),
            telemetry_cohort_cars=i("telemetry_cohort_cars"),
            telemetry_cohort_offered=i("telemetry_cohort_offered"),
            telemetry_cohort_sent=i("telemetry_cohort_sent"),
            telemetry_cohort_acked=i("telemetry_cohort_acked"),
            telemetry_cohort_baseline=r.number("telemetry_cohort_baseline"),
            keepalive_retries=i("keepalive_retries"), api_bytes_sent=i("api_bytes_sent"),
            commands_received=i("commands_received"), commands_acked=i("commands_acked"),
            drivers_needing=i("drivers_needing"), accessed=r.mapping("accessed"),
            stranded=i("stranded"), status_by_action=r.mapping("status_by_action"),
            fleet_processes=i("fleet_processes"), fleet_cpu_s=r.number("fleet_cpu_s"),
            fleet_cpu_share=r.number("fleet_cpu_share"),
            fleet_cpu_share_max=r.number("fleet_cpu_share_max"),
            extra={k: v for k, v in r.extra().items()
                   if as_number(v) is not None or isinstance(v, Mapping)})


@dataclass(frozen=True)
class SampleRecord(Record):
    """One second of the run: deltas over ``dt`` (requests, statuses, percentiles, per
    action), the fleet's cumulative counters, the faults on, and the MQTT broker's
    ``$SYS`` figures when the cars speak MQTT."""

    TYPE: ClassVar[str] = "sample"
    t: float = 0.0
    dt: float | None = None
    phase: str | None = None
    users: int | None = None
    active_faults: tuple[str, ...] | None = None
    requests: int = 0
    failures: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    by_action: dict[str, ActionStats] = field(default_factory=dict)
    fleet: FleetCounters = field(default_factory=FleetCounters)
    broker: JsonDict | None = None  # messages_in, messages_out, dropped, queued_inflight, ...
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SampleRecord | None:
        r = JsonReader(raw)
        t = r.number("t")
        if t is None:
            return None
        return cls(t, r.number("dt"), r.text("phase"), r.integer("users"),
                   r.texts("active_faults"), r.integer("requests") or 0,
                   r.integer("failures") or 0, r.counts("by_status"), r.number("p50_ms"),
                   r.number("p95_ms"), r.number("p99_ms"),
                   r.by_name("by_action", ActionStats.from_json),
                   r.one("fleet", FleetCounters.from_json) or FleetCounters(),
                   r.mapping("broker"), r.extra())

    def action(self, name: str) -> ActionStats:
        """One action's figures in this second (empty when it had none)."""
        return self.by_action.get(name, EMPTY_ACTION)


@dataclass(frozen=True)
class DriverRecord(Record):
    """One driver's need, as it ended: got in (by app, phone key, key card) or stranded."""

    TYPE: ClassVar[str] = "driver"
    t: float = 0.0
    phase: str | None = None  # where the need ended
    need_started_s: float | None = None
    need_ended_s: float | None = None
    outcome: str | None = None  # app, bluetooth, keycard, stranded
    time_to_access_s: float | None = None
    attempts: int | None = None
    policy: str | None = None
    vin: str | None = None
    waited_s: float | None = None
    driver: int | None = None
    need: int | None = None
    need_planned_s: float | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DriverRecord | None:
        r = JsonReader(raw)
        t = r.number("t")
        if t is None:
            return None
        return cls(t, r.text("phase"), r.number("need_started_s"), r.number("need_ended_s"),
                   r.text("outcome"), r.number("time_to_access_s"), r.integer("attempts"),
                   r.text("policy"), r.text("vin"), r.number("waited_s"), r.integer("driver"),
                   r.integer("need"), r.number("need_planned_s"), r.extra())


# --- the summary's parts ---------------------------------------------------------------

@dataclass(frozen=True)
class Spread(Wire):
    """The lowest and highest observation of a repeated run's SLO."""

    min: float | None = None
    max: float | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Spread:
        r = JsonReader(raw)
        return cls(r.number("min"), r.number("max"), r.extra())


@dataclass(frozen=True)
class SloResult(Wire):
    """An SLO judged: the declared SLO, what was observed, whether it held and by how
    much (``margin``, positive on the passing side). A ``--repeat`` summary's SLOs carry
    ``median``, ``spread`` and ``observations`` instead of one observation."""

    name: str = "?"
    phase: str = "all"
    metric: str = "?"
    op: str = ">="
    threshold: float | None = None
    observed: float | None = None
    passed: bool | None = None
    margin: float | None = None
    detail: str | None = None  # recovery_s: words
    lower_bound: bool | None = None  # observed is a lower bound ("> 20.3 s")
    samples: int | None = None  # issue 22: observations the value came from
    min_samples: int | None = None  # issue 22
    status: str | None = None  # issue 22: pass, fail, insufficient, not_judged
    median: float | None = None  # --repeat
    spread: Spread | float | None = None  # --repeat: {min, max} (or its width)
    observations: tuple[float | None, ...] | None = None  # --repeat
    passed_runs: int | None = None  # --repeat
    runs: int | None = None  # --repeat
    agree: int | None = None  # --repeat
    details: tuple[str, ...] | None = None  # --repeat
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SloResult:
        r = JsonReader(raw)
        passed = r.get("passed")
        spread_raw = r.get("spread")
        spread: Spread | float | None = (Spread.from_json(spread_raw)
                                         if isinstance(spread_raw, Mapping)
                                         else as_number(spread_raw))
        return cls(**_slo_spec(r), observed=r.number("observed"),
                   passed=None if passed is None else bool(passed), margin=r.number("margin"),
                   detail=r.text("detail"), lower_bound=r.flag("lower_bound"),
                   samples=r.integer("samples"), min_samples=r.integer("min_samples"),
                   status=r.text("status"), median=r.number("median"), spread=spread,
                   observations=r.numbers("observations"), passed_runs=r.integer("passed_runs"),
                   runs=None if isinstance(raw.get("runs"), list) else r.integer("runs"),
                   agree=r.integer("agree"), details=r.texts("details"),
                   extra=r.extra())

    @property
    def held(self) -> bool:
        return bool(self.passed)

    def spread_width(self) -> float | None:
        """max - min of a repeated run's observations (None without a spread)."""
        if isinstance(self.spread, Spread):
            lo, hi = self.spread.min, self.spread.max
            return None if lo is None or hi is None else hi - lo
        return self.spread


@dataclass(frozen=True)
class SloRecord(Record):
    """One SLO's result, journalled at the end before the summary."""

    TYPE: ClassVar[str] = "slo"
    t: float | None = None
    result: SloResult = field(default_factory=SloResult)
    extra: JsonDict = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        return {"type": self.TYPE, **({} if self.t is None else {"t": self.t}),
                **self.result.to_json()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SloRecord:
        return cls(as_number(raw.get("t")),
                   SloResult.from_json({k: v for k, v in raw.items() if k != "t"}))


@dataclass(frozen=True)
class CleanupRecord(Record):
    """The run's end: what its faults' clean-up removed, and what it could not."""

    TYPE: ClassVar[str] = "cleanup"
    t: float | None = None
    reason: str | None = None
    removed: tuple[str, ...] | None = None
    left: tuple[str, ...] | None = None
    leftovers_found: tuple[str, ...] | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CleanupRecord:
        r = JsonReader(raw)
        return cls(r.number("t"), r.text("reason"), r.texts("removed"), r.texts("left"),
                   r.texts("leftovers_found"), r.extra())


@dataclass(frozen=True)
class Telemetry(Wire):
    """Telemetry records over a phase (or the run): increases of the fleet's counters."""

    sent: int | None = None
    acked: int | None = None
    resent: int | None = None
    dropped: int | None = None
    bytes: int | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Telemetry:
        r = JsonReader(raw)
        return cls(r.integer("sent"), r.integer("acked"), r.integer("resent"),
                   r.integer("dropped"), r.integer("bytes"), r.extra())


@dataclass(frozen=True)
class PhaseFault(Wire):
    """A fault really on during a phase, clipped to the phase."""

    label: str | None = None
    on_s: float | None = None
    off_s: float | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PhaseFault:
        r = JsonReader(raw)
        return cls(r.text("label"), r.number("on_s"), r.number("off_s"), r.extra())


@dataclass(frozen=True)
class PhaseSummary(Wire):
    """One phase's figures, summed from its samples."""

    name: str = "?"
    start_s: float = 0.0
    end_s: float = 0.0
    requests: int | None = None
    failures: int | None = None
    by_status: dict[str, int] = field(default_factory=dict)
    p95_ms: float | None = None  # of the fleet's phone API
    by_action: dict[str, ActionStats] = field(default_factory=dict)
    telemetry: Telemetry | None = None
    stranded: int | None = None  # drivers stranded in this phase
    faults: tuple[PhaseFault, ...] | None = None
    errors_5xx: int | None = None  # issue 23: as the run's totals
    normal: dict[str, int] | None = None  # issue 23: statuses the profile calls normal
    bytes_sent: int | None = None  # issue 23
    bytes_received: int | None = None  # issue 23
    unlock_success_ratio: float | None = None  # issue 23: unlock and remote start only
    unlock_p95_ms: float | None = None  # issue 23: unlock and remote start only
    needs: int | None = None  # issue 23: needs that ended in the phase
    stranded_needs: int | None = None  # issue 23
    drivers_with_needs: int | None = None  # issue 23: distinct drivers whose need ended here
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PhaseSummary:
        r = JsonReader(raw)
        span = PhaseSpan.from_json(raw)
        r.used.update(("name", "start_s", "end_s"))
        return cls(span.name, span.start_s, span.end_s, r.integer("requests"),
                   r.integer("failures"), r.counts("by_status"), r.number("p95_ms"),
                   r.by_name("by_action", ActionStats.from_json),
                   r.one("telemetry", Telemetry.from_json), r.integer("stranded"),
                   r.many("faults", PhaseFault.from_json), r.integer("errors_5xx"),
                   r.counts("normal") if r.has("normal") else None, r.integer("bytes_sent"),
                   r.integer("bytes_received"), r.number("unlock_success_ratio"),
                   r.number("unlock_p95_ms"), r.integer("needs"),
                   r.integer("stranded_needs"), r.integer("drivers_with_needs"), r.extra())

    def action(self, name: str) -> ActionStats:
        """One action's figures in this phase (empty when it had none)."""
        return self.by_action.get(name, EMPTY_ACTION)

    def statuses(self, actions: Iterable[str]) -> dict[str, int]:
        """These actions' status counts, summed."""
        return statuses_of(self.by_action, actions)

    @property
    def count_5xx(self) -> int:
        """Answers 5xx in this phase (all requests)."""
        return sum(n for status, n in self.by_status.items() if status.startswith("5"))


@dataclass(frozen=True)
class DriverTotals(Wire):
    """Drivers who needed to get in, by how they did, and how long it took."""

    needing: int | None = None  # needs (attempts to get in); issue 23 names it "needs"
    app: int | None = None
    bluetooth: int | None = None
    keycard: int | None = None
    stranded: int | None = None
    p50_time_to_access_s: float | None = None
    p95_time_to_access_s: float | None = None
    in_fleet: int | None = None  # issue 23: drivers in the fleet
    stranded_drivers: int | None = None  # issue 23: distinct drivers stranded at least once
    needs: int | None = None  # issue 23 (was "needing")
    stranded_needs: int | None = None  # issue 23
    drivers_with_needs: int | None = None  # issue 23: distinct drivers whose need ended
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DriverTotals:
        r = JsonReader(raw)
        return cls(r.integer("needing"), r.integer("app"), r.integer("bluetooth"),
                   r.integer("keycard"), r.integer("stranded"),
                   r.number("p50_time_to_access_s"), r.number("p95_time_to_access_s"),
                   r.integer("in_fleet"), r.integer("stranded_drivers"), r.integer("needs"),
                   r.integer("stranded_needs"), r.integer("drivers_with_needs"), r.extra())


@dataclass(frozen=True)
class Recovery(Wire):
    """How the run recovered after its last fault, from the canary's probes
    (``scenarios.recovery``): ``status`` recovered, not_recovered, fault_active, no_fault
    or no_canary, and always ``text`` to print."""

    fault_end_s: float | None = None
    target_ratio: float | None = None
    steady_ratio: float | None = None
    window_s: float | None = None
    status: str | None = None
    seconds: float | None = None  # recovered: the time; not_recovered: a lower bound
    text: str | None = None
    success_s: float | None = None  # issue 22: canary success back
    latency_s: float | None = None  # issue 22: canary p95 back within latency_factor
    latency_factor: float | None = None  # issue 22
    baseline_p95_ms: float | None = None  # issue 22
    lower_bound: bool | None = None  # issue 22
    probes: int | None = None  # issue 22: canary probes after the faults' end (the samples)
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Recovery:
        r = JsonReader(raw)
        return cls(r.number("fault_end_s"), r.number("target_ratio"), r.number("steady_ratio"),
                   r.number("window_s"), r.text("status"), r.number("seconds"), r.text("text"),
                   r.number("success_s"), r.number("latency_s"), r.number("latency_factor"),
                   r.number("baseline_p95_ms"), r.flag("lower_bound"), r.integer("probes"),
                   r.extra())


@dataclass(frozen=True)
class Fault(Wire):
    """A fault as it really was (from its rollback record): when it was on, what it
    touched and how late against its schedule (``scenarios.lateness``). A ``no_effect``
    (or ``under_delivered``) entry adds the ``message``."""

    step: float | str | None = None
    label: str | None = None
    manual: bool = False
    on_s: float | None = None
    off_s: float | None = None
    touched: int | None = None  # None: unknown
    what: str | None = None
    could_match: str | None = None
    asked: float | None = None  # issue 22: what the step asked for, in ``unit``
    delivered: float | None = None  # issue 22: what it measurably did
    unit: str | None = None  # issue 22: x, share, ms, requests, connections
    delivered_ratio: float | None = None  # issue 22
    min_delivery: float | None = None  # issue 22
    under_delivered: bool | None = None  # issue 22
    cause: str | None = None  # issue 22
    actions: tuple[str, ...] | None = None  # issue 22: actions sharing one injection
    message: str | None = None  # no_effect / under_delivered entries
    injections: tuple[JsonDict, ...] | None = None  # issue 22: http_error, one per route
    offered: float | None = None  # issue 22: verbosity, the factor the cars generated
    late_on_s: float | None = None  # apply call's start minus scheduled_s, never negative
    late_off_s: float | None = None  # undo call's start minus until_s, never negative
    timing_note: str | None = None  # one line when either is past scenarios.lateness.LATE_S
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Fault:
        r = JsonReader(raw)
        step = r.get("step")
        injections = r.get("injections")
        return cls(_step_key(step),
                   r.text("label"), r.truth("manual"), r.number("on_s"), r.number("off_s"),
                   r.integer("touched"), r.text("what"), r.text("could_match"),
                   r.number("asked"), r.number("delivered"), r.text("unit"),
                   r.number("delivered_ratio"), r.number("min_delivery"),
                   r.flag("under_delivered"), r.text("cause"), r.texts("actions"),
                   r.text("message"),
                   tuple({str(k): v for k, v in i.items()} for i in injections
                         if isinstance(i, Mapping)) if isinstance(injections, list) else None,
                   r.number("offered"), r.number("late_on_s"), r.number("late_off_s"),
                   r.text("timing_note"), r.extra())


@dataclass(frozen=True)
class Totals(Wire):
    """The run's totals (the sum of its phases')."""

    requests: int | None = None
    failures: int | None = None
    by_status: dict[str, int] = field(default_factory=dict)
    telemetry: Telemetry | None = None
    errors_5xx: int | None = None  # issue 23
    normal: dict[str, int] | None = None  # issue 23: statuses the profile calls normal
    bytes_sent: int | None = None  # issue 23
    bytes_received: int | None = None  # issue 23
    unlock_success_ratio: float | None = None  # issue 23
    unlock_p95_ms: float | None = None  # issue 23
    by_action: dict[str, ActionStats] | None = None  # issue 23: the run's, per action
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Totals:
        r = JsonReader(raw)
        return cls(r.integer("requests"), r.integer("failures"), r.counts("by_status"),
                   r.one("telemetry", Telemetry.from_json), r.integer("errors_5xx"),
                   r.counts("normal") if r.has("normal") else None, r.integer("bytes_sent"),
                   r.integer("bytes_received"), r.number("unlock_success_ratio"),
                   r.number("unlock_p95_ms"),
                   r.by_name("by_action", ActionStats.from_json) if r.has("by_action") else None,
                   r.extra())


@dataclass(frozen=True)
class RunConfig(Wire):
    """How the run was configured (issue 23), from the journal's header."""

    profile: str | None = None
    host: str | None = None
    toxiproxy: str | None = None  # "built-in" or its URL
    seed: int | None = None
    time_scale: float | None = None
    retry_policy: str | None = None
    overrides: tuple[str, ...] | None = None  # every --set, as given
    cars: int | None = None
    drivers: int | None = None
    workers: int | None = None
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RunConfig:
        r = JsonReader(raw)
        return cls(r.text("profile"), r.text("host"), r.text("toxiproxy"), r.integer("seed"),
                   r.number("time_scale"), r.text("retry_policy"), r.texts("overrides"),
                   r.integer("cars"), r.integer("drivers"), r.integer("workers"), r.extra())


VERDICTS = ("pass", "fail", "incomplete", "no-effect", "under-delivered", "insufficient",
            "refused", "error")


@dataclass(frozen=True)
class Summary(Wire):
    """The run's verdict and every figure a report prints (``scenarios.summary``
    computes it; ``--summary`` writes it; the journal's last record holds it)."""

    scenario: str | None = None
    title: str | None = None
    run_id: str | None = None
    seed: int | None = None
    verdict: str = "incomplete"  # one of VERDICTS
    duration_s: float | None = None
    slos: tuple[SloResult, ...] = ()
    phases: tuple[PhaseSummary, ...] = ()
    stranded_drivers: int | None = None
    drivers: DriverTotals = field(default_factory=DriverTotals)
    recovery: Recovery | None = None
    recovery_s: float | None = None  # older readers: only when recovered
    faults_left: int | None = None
    faults: tuple[Fault, ...] = ()
    no_effect: tuple[Fault, ...] = ()
    totals: Totals | None = None
    error: str | None = None  # the harness failure (verdict "error")
    verdict_reason: str | None = None  # issue 22: one line saying why
    config: RunConfig | None = None  # issue 23
    insufficient: tuple[str, ...] | None = None  # issue 22: SLOs below min_samples
    under_delivered: tuple[Fault, ...] | None = None  # issue 22
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Summary:
        r = JsonReader(raw)
        r.used.add("t")
        verdict = r.text("verdict")
        return cls(
            scenario=r.text("scenario"), title=r.text("title"), run_id=r.text("run_id"),
            seed=r.integer("seed"), verdict="incomplete" if verdict is None else verdict,
            duration_s=r.number("duration_s"), slos=r.many("slos", SloResult.from_json) or (),
            phases=r.many("phases", PhaseSummary.from_json) or (),
            stranded_drivers=r.integer("stranded_drivers"),
            drivers=r.one("drivers", DriverTotals.from_json) or DriverTotals(),
            recovery=r.one("recovery", Recovery.from_json), recovery_s=r.number("recovery_s"),
            faults_left=r.integer("faults_left"), faults=r.many("faults", Fault.from_json) or (),
            no_effect=r.many("no_effect", Fault.from_json) or (),
            totals=r.one("totals", Totals.from_json), error=r.text("error"),
            verdict_reason=r.text("verdict_reason"), config=r.one("config", RunConfig.from_json),
            insufficient=r.texts("insufficient"),
            under_delivered=r.many("under_delivered", Fault.from_json), extra=r.extra())

    def phase(self, name: str) -> PhaseSummary | None:
        return next((p for p in self.phases if p.name == name), None)

    def slo(self, name: str) -> SloResult | None:
        return next((s for s in self.slos if s.name == name), None)

    @property
    def slos_held(self) -> int:
        return sum(1 for s in self.slos if s.passed)


@dataclass(frozen=True)
class SummaryRecord(Record):
    """The journal's last record: the summary (a killed run has none)."""

    TYPE: ClassVar[str] = "summary"
    t: float | None = None
    summary: Summary = field(default_factory=Summary)
    extra: JsonDict = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        return {"type": self.TYPE, **({} if self.t is None else {"t": self.t}),
                **self.summary.to_json()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SummaryRecord:
        return cls(as_number(raw.get("t")), Summary.from_json(raw))


@dataclass(frozen=True)
class OtherRecord(Record):
    """A record of a type this version does not know: kept as it was."""

    type: str = ""
    t: float | None = None
    extra: JsonDict = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        return {"type": self.type, **({} if self.t is None else {"t": self.t}), **self.extra}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> OtherRecord:
        return cls(type=str(raw.get("type")), t=as_number(raw.get("t")),
                   extra={k: v for k, v in raw.items() if k not in ("type", "t") and v is not None})


AnyRecord = (HeaderRecord | ScheduleRecord | StepRecord | ErrorRecord | SampleRecord
             | DriverRecord | SloRecord | CleanupRecord | SummaryRecord | OtherRecord)

_PARSERS: dict[str, Callable[[Mapping[str, Any]], AnyRecord | None]] = {
    "header": HeaderRecord.from_json, "schedule": ScheduleRecord.from_json,
    "step": StepRecord.from_json, "error": ErrorRecord.from_json,
    "sample": SampleRecord.from_json, "driver": DriverRecord.from_json,
    "slo": SloRecord.from_json, "cleanup": CleanupRecord.from_json,
    "summary": SummaryRecord.from_json,
}


def parse_record(raw: object) -> AnyRecord | None:
    """One journal line's object, typed; None when it cannot be used (not an object, no
    ``type``, or a sample or driver outcome without a time)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
        return None
    parse = _PARSERS.get(raw["type"], OtherRecord.from_json)
    return parse(raw)


@dataclass(frozen=True)
class Journal:
    """A run's journal, typed: its records in order, and each kind of them by name."""

    records: tuple[AnyRecord, ...] = ()

    @classmethod
    def from_json(cls, raw: Iterable[object]) -> Journal:
        return cls(tuple(r for r in (parse_record(x) for x in raw) if r is not None))

    def to_json(self) -> list[JsonDict]:
        return [r.to_json() for r in self.records]

    def _all(self, kind: type[T]) -> tuple[T, ...]:
        return tuple(r for r in self.records if isinstance(r, kind))

    @cached_property
    def header(self) -> HeaderRecord:
        """The first header (an empty one when the journal has none)."""
        return next(iter(self._all(HeaderRecord)), HeaderRecord())

    @cached_property
    def schedule(self) -> ScheduleRecord | None:
        return next(iter(self._all(ScheduleRecord)), None)

    @cached_property
    def samples(self) -> tuple[SampleRecord, ...]:
        return self._all(SampleRecord)

    @cached_property
    def steps(self) -> tuple[StepRecord, ...]:
        return self._all(StepRecord)

    @cached_property
    def drivers(self) -> tuple[DriverRecord, ...]:
        return self._all(DriverRecord)

    @cached_property
    def errors(self) -> tuple[ErrorRecord, ...]:
        return self._all(ErrorRecord)

    @cached_property
    def cleanup(self) -> CleanupRecord | None:
        """The last clean-up record: a run that has one ended and rolled back."""
        found = self._all(CleanupRecord)
        return found[-1] if found else None

    @cached_property
    def summary(self) -> Summary | None:
        """The last summary record's summary; None for a run cut short by a kill."""
        found = self._all(SummaryRecord)
        return found[-1].summary if found else None

    @property
    def has_header(self) -> bool:
        return any(isinstance(r, HeaderRecord) for r in self.records)
