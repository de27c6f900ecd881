"""The typed journal records (fleetchaos.scenarios.records): what the writers write is what
the readers type (no key of theirs left unknown), the wire form survives from_json and
to_json, and from_json keeps its defensive promise on any JSON at all: values of the wrong
kind dropped to their default, list items that are not objects dropped, a sample or a
driver outcome without a time skipped, unknown keys kept."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journal_factory import write_journal

from fleetchaos.fleet_sim import stats
from fleetchaos.scenarios.journal import read_journal
from fleetchaos.scenarios.records import (
    DriverRecord,
    Effect,
    FleetCounters,
    HeaderRecord,
    Journal,
    SampleRecord,
    StepRecord,
    Summary,
    SummaryRecord,
    Wire,
    parse_record,
)
from fleetchaos.scenarios.summary import build_summary

DATA = Path(__file__).resolve().parents[1] / "data"


def without_nulls(value: object) -> object:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def unknown_keys(obj: object, path: str = "") -> Iterator[str]:
    """Every key a typed record kept in ``extra`` (it knew no field for it), with its path."""
    if isinstance(obj, Wire) and dataclasses.is_dataclass(obj):
        yield from (f"{path}.{k}" for k in obj.extra)
        for f in dataclasses.fields(obj):
            if f.name != "extra":
                yield from unknown_keys(getattr(obj, f.name), f"{path}.{f.name}")
    elif isinstance(obj, tuple | list):
        for i, x in enumerate(obj):
            yield from unknown_keys(x, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for k, x in obj.items():
            yield from unknown_keys(x, f"{path}[{k}]")


def test_every_key_the_writers_write_has_a_typed_field(tmp_path: Path) -> None:
    """The engine's records (the fixture journals) and build_summary's summary: a key this
    fails on was added by a writer without adding it to scenarios/records.py."""
    journals = [read_journal(p) for p in sorted(DATA.glob("*.journal.jsonl"))]
    journals.append(read_journal(write_journal(tmp_path / "j.jsonl")))
    for records in journals:
        journal = Journal.from_json(records)
        for record in journal.records:
            assert list(unknown_keys(record, type(record).__name__)) == []
        built = Summary.from_json(build_summary(records))
        assert list(unknown_keys(built, "summary")) == []


def test_every_counter_the_fleet_reports_has_a_typed_field() -> None:
    """fleet_sim.stats' snapshot, of one process and summed by a master over two workers,
    reads with no key left over (the open-model counters: offered, buffered, in flight,
    dropped unsent and unacked, the cohort's, the fleet's CPU) and writes back the same
    keys, values and order. A counter added to the fleet without a field here fails."""
    counters = stats.FleetCounters()
    for n, key in enumerate(get_args(stats.Counter), start=1):  # each its own figure
        counters.add(key, n + (0.25 if isinstance(counters.data[key], float) else 0))
    counters.status("unlock", 200)
    counters.outcome("bluetooth")
    counters.outcome("stranded")
    process = counters.as_dict()
    master = stats.merge([process, process])
    assert master["telemetry_cohort_baseline"] == 2 * process["telemetry_cohort_baseline"]
    for snapshot in (process, master):
        fleet = FleetCounters.from_json(snapshot)
        assert list(unknown_keys(fleet, "fleet")) == []
        assert fleet.to_json() == snapshot and list(fleet.to_json()) == list(snapshot)
    fleet = FleetCounters.from_json(master)
    assert (fleet.telemetry_offered, fleet.telemetry_cohort_sent, fleet.fleet_processes) == \
        (master["telemetry_offered"], master["telemetry_cohort_sent"],
         2 * process["fleet_processes"])
    assert isinstance(fleet.telemetry_cohort_baseline, float)
    assert fleet.fleet_cpu_share_max == process["fleet_cpu_share_max"]  # a max, not a sum


def test_summary_to_json_is_what_build_summary_wrote_without_its_nulls(tmp_path: Path) -> None:
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    built = build_summary(records)
    again = Summary.from_json(built).to_json()
    assert list(again) == [k for k, v in built.items() if v is not None]  # same order too
    assert again == without_nulls(built)


def test_the_contract_fields_of_issues_22_and_23_read_and_write_back() -> None:
    """notes/SUMMARY_CONTRACT.md's names: typed now, filled in by the summary later."""
    raw: dict[str, Any] = {
        "verdict": "under-delivered", "verdict_reason": "the flood delivered 0.3 of x60",
        "config": {"profile": "reference", "host": "http://127.0.0.1:8080",
                   "toxiproxy": "built-in", "seed": 7, "time_scale": 0.5,
                   "retry_policy": "fixed-1s", "overrides": ["fleet.cars=300"], "cars": 300,
                   "drivers": 100, "workers": 2},
        "totals": {"requests": 10, "failures": 2, "by_status": {"500": 1, "408": 1},
                   "errors_5xx": 1, "normal": {"408": 1}, "bytes_sent": 100,
                   "bytes_received": 2000},
        "drivers": {"in_fleet": 100, "stranded_drivers": 3, "needs": 40, "stranded_needs": 4},
        "slos": [{"name": "u", "metric": "unlock_success_ratio", "samples": 3,
                  "min_samples": 20, "status": "insufficient", "passed": False}],
        "insufficient": ["u"],
        "faults": [{"label": "verbosity x60", "asked": 60.0, "delivered": 18.0, "unit": "x",
                    "delivered_ratio": 0.3, "min_delivery": 0.5, "under_delivered": True,
                    "cause": "backend throttled the cars", "actions": ["telemetry"]}],
        "under_delivered": [{"label": "verbosity x60", "under_delivered": True,
                             "message": "asked x60, delivered x18"}],
        "recovery": {"status": "recovered", "seconds": 12.0, "success_s": 8.0,
                     "latency_s": 12.0, "latency_factor": 1.5, "baseline_p95_ms": 40.0,
                     "lower_bound": False, "text": "recovered 12 s after the last fault"},
    }
    summary = Summary.from_json(raw)
    assert list(unknown_keys(summary)) == []
    assert summary.config is not None and summary.config.overrides == ("fleet.cars=300",)
    assert summary.totals is not None and summary.totals.normal == {"408": 1}
    assert summary.drivers.in_fleet == 100 and summary.slos[0].status == "insufficient"
    assert summary.faults[0].under_delivered and summary.faults[0].delivered_ratio == 0.3
    assert summary.under_delivered is not None and summary.under_delivered[0].message
    assert summary.recovery is not None and summary.recovery.latency_s == 12.0
    assert Summary.from_json(summary.to_json()) == summary


def test_values_of_the_wrong_kind_fall_back_to_their_defaults() -> None:
    raw = {"type": "summary", "t": 3.0, "verdict": None, "seed": "7", "faults_left": True,
           "duration_s": float("nan"), "stranded_drivers": 2.5, "drivers": [1, 2],
           "phases": {"not": "a list"}, "recovery": "recovered",
           "slos": [1, "x", None, {"metric": "unlock_p95_ms", "observed": "high",
                                   "threshold": float("inf"), "passed": True}],
           "faults": [{"label": 5, "on_s": 1e12, "touched": [1, "a"], "manual": 1}]}
    record = parse_record(raw)
    assert isinstance(record, SummaryRecord)
    s = record.summary
    assert (s.verdict, s.seed, s.faults_left, s.duration_s, s.stranded_drivers) == \
        ("incomplete", None, None, None, None)
    assert s.drivers.needing is None and s.phases == () and s.recovery is None
    [slo] = s.slos  # the items that are not objects are dropped
    assert (slo.name, slo.phase, slo.op, slo.observed, slo.threshold) == \
        ("unlock_p95_ms", "all", ">=", None, None)  # a missing name is the metric's
    [fault] = s.faults
    assert (fault.label, fault.on_s, fault.touched, fault.manual) == ("5", 1e12, None, True)
    json.dumps(record.to_json(), allow_nan=False)  # nothing of the wrong kind is written back


def test_records_that_cannot_be_placed_in_time_are_skipped() -> None:
    for t in (None, float("nan"), float("inf"), True, "1.0"):
        assert parse_record({"type": "sample", "t": t}) is None
        assert parse_record({"type": "driver", "t": t, "outcome": "app"}) is None
    assert isinstance(parse_record({"type": "sample", "t": 1}), SampleRecord)
    assert isinstance(parse_record({"type": "driver", "t": 2.0}), DriverRecord)
    unusable: list[object] = [[], "header", {"t": 1.0}, {"type": 3}]
    for raw in unusable:
        assert parse_record(raw) is None


def test_unknown_keys_and_record_types_are_kept_and_written_back() -> None:
    step = parse_record({"type": "step", "t": 1.0, "action": "toxic_add", "step": 3,
                         "detail": {"rollback": None}, "from_the_future": {"x": [1]}})
    assert isinstance(step, StepRecord) and step.extra == {"from_the_future": {"x": [1]}}
    assert step.to_json()["from_the_future"] == {"x": [1]}
    assert step.is_rollback and step.rollback == "None" and step.key == "3"
    other = parse_record({"type": "checkpoint", "t": 4.0, "what": "x"})
    assert other is not None and other.to_json() == {"type": "checkpoint", "t": 4.0, "what": "x"}


def test_an_effect_of_unknown_size_keeps_its_null_count() -> None:
    """The engine journals ``effect.count`` null when nobody can tell (docs/scenarios.md)."""
    assert Effect(None, "unknown (boom)", "").to_json() == {
        "count": None, "what": "unknown (boom)", "could_match": ""}


def test_a_phase_without_an_end_ends_where_it_starts() -> None:
    header = HeaderRecord.from_json({"phases": [{"name": "a", "start_s": 4.0}, {"end_s": 2}]})
    assert [(p.name, p.start_s, p.end_s) for p in header.phases] == [("a", 4.0, 4.0),
                                                                      ("?", 0.0, 2)]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4), max_leaves=20)
KEYS = st.sampled_from(["t", "name", "phase", "metric", "op", "threshold", "observed", "passed",
                        "slos", "phases", "by_action", "by_status", "requests", "fleet",
                        "drivers", "recovery", "faults", "effect", "detail", "step", "target",
                        "timeline", "spread", "observations", "totals", "config", "broker"])
TYPES = st.sampled_from(["header", "schedule", "step", "error", "sample", "driver", "slo",
                         "cleanup", "summary", "other"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=TYPES, fields=st.dictionaries(KEYS | st.text(max_size=4), JSON, max_size=8))
def test_any_json_reads_and_reading_what_was_written_changes_nothing(
        kind: str, fields: dict[str, Any]) -> None:
    record = parse_record({**fields, "type": kind})
    if record is None:
        return
    again = parse_record(record.to_json())
    assert again == record  # to_json writes only what from_json keeps, in the same kinds
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, float):
            assert math.isfinite(value)
