"""A fault that went on or off late against its schedule (scenarios/lateness.py): the
summary says how late (``late_on_s``, ``late_off_s``) and, past LATE_S, one
``timing_note`` naming the fault, how late and the likely cause; every report prints it
beside the fault; an on-time fault has none; the verdict does not change.

The journals are written by tests/report/journal_factory.py (no run, no timing): the
flood's rollback, scheduled at 8.0 s, starts ``late_off_s`` later, as when the engine's
gevent timer shares a CPU-bound Locust process with open-model cars (a rollback scheduled
at 30.0 s started at 32.4 s on a loaded CI machine)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from journal_factory import write_journal
from rich.console import Console

from fleetchaos.reports.run.html import render_html
from fleetchaos.reports.run.junit import render_junit
from fleetchaos.reports.run.markdown import render_markdown
from fleetchaos.reports.run.report import RunReport
from fleetchaos.reports.run.terminal import TerminalReport
from fleetchaos.scenarios.journal import read_journal
from fleetchaos.scenarios.lateness import LATE_S
from fleetchaos.scenarios.records import Fault
from fleetchaos.scenarios.summary import build_summary

LABEL = "verbosity x60 on 50 %"


def report_of(tmp_path: Path, *, late_off_s: float,
              cpu_share_max: float | None = None) -> RunReport:
    path = write_journal(tmp_path / "j.jsonl", late_off_s=late_off_s,
                         cpu_share_max=cpu_share_max)
    return RunReport.from_records(read_journal(path))


def flood(report: RunReport) -> Fault:
    return next(f for f in report.summary.faults if f.label == LABEL)


def words(text: str) -> str:
    """Whitespace collapsed: a note the terminal wrapped reads as one line again."""
    return re.sub(r"\s+", " ", text.replace("&#x27;", "'"))


def renders(report: RunReport) -> dict[str, str]:
    """Every report's text where its faults are listed (HTML: the page's own listing, not
    the terminal report it embeds below)."""
    console = Console(width=80, record=True, color_system=None, force_terminal=False,
                      file=io.StringIO())
    console.print(TerminalReport(report))
    page = render_html(report)
    listing = re.search(r'<ol class="faults">(.*?)</ol>', page, re.S)
    assert listing is not None
    return {"terminal": words(console.export_text()), "markdown": words(render_markdown(report)),
            "html": words(listing.group(1)), "junit": words(render_junit(report))}


def test_a_late_rollback_is_measured_and_noted_with_its_likely_cause(tmp_path: Path) -> None:
    report = report_of(tmp_path, late_off_s=2.4, cpu_share_max=1.0)
    fault = flood(report)
    assert (fault.late_on_s, fault.late_off_s) == (0.0, 2.4)
    assert fault.off_s == 10.4  # the reports draw the real times
    assert fault.timing_note == (
        f"fault '{LABEL}' went off 2.4 s late (scheduled 8.0 s, started 10.4 s): likely the "
        "load generator's CPU was saturated (100 % of a core)")
    for name, text in renders(report).items():
        assert text.count(fault.timing_note) == 1, name
    manual = next(f for f in report.summary.faults if f.manual)
    assert (manual.late_on_s, manual.late_off_s, manual.timing_note) == (None, None, None)


def test_junit_says_it_in_a_property_and_in_the_fault_case_system_out(tmp_path: Path) -> None:
    """A fault whose delivery was measured has a case of its own: the note follows its
    asked/delivered line there (a late fault is no failure)."""
    records = [r for r in read_journal(write_journal(tmp_path / "j.jsonl", late_off_s=2.4,
                                                     cpu_share_max=1.0))
               if r["type"] != "summary"]  # the report rebuilds it from the records below
    rollback = next(r for r in records if r["type"] == "step" and r.get("off_s") == 10.4)
    rollback["effect"]["delivery"] = {"unit": "requests", "asked": 10, "delivered": 10}
    report = RunReport.from_records(records)
    note = flood(report).timing_note
    assert note
    suite = ET.fromstring(render_junit(report)).find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["late_fault.0"] == note
    case = next(c for c in suite.iter("testcase") if c.get("name") == f"fault delivered: {LABEL}")
    assert case.find("failure") is None
    assert case.findtext("system-out") == f"asked 10 requests, delivered 10 requests\n{note}"
    assert suite.get("failures") == "2"  # the two SLOs


def test_a_late_fault_without_a_saturated_cpu_names_no_cause(tmp_path: Path) -> None:
    for cpu in (None, 0.4):
        report = report_of(tmp_path / str(cpu), late_off_s=1.5, cpu_share_max=cpu)
        assert flood(report).timing_note == (
            f"fault '{LABEL}' went off 1.5 s late (scheduled 8.0 s, started 9.5 s)")


@pytest.mark.parametrize("late", [0.0, LATE_S, -1.0])
def test_an_on_time_fault_gets_no_note_and_lateness_is_never_negative(
        tmp_path: Path, late: float) -> None:
    """Up to LATE_S is on time; a rollback before its time (removed by hand, the run's end)
    is 0 late, never early."""
    report = report_of(tmp_path, late_off_s=late, cpu_share_max=1.0)
    fault = flood(report)
    assert (fault.late_on_s, fault.late_off_s, fault.timing_note) == (0.0, max(0.0, late), None)
    for name, text in renders(report).items():
        assert " late (scheduled" not in text and "late_fault" not in text, name


def test_lateness_does_not_change_the_verdict(tmp_path: Path) -> None:
    on_time = build_summary(read_journal(write_journal(tmp_path / "a.jsonl",
                                                       cpu_share_max=1.0)))
    late = build_summary(read_journal(write_journal(tmp_path / "b.jsonl", late_off_s=2.4,
                                                    cpu_share_max=1.0)))
    assert late["faults"][0]["timing_note"] and not on_time["faults"][0]["timing_note"]
    assert (late["verdict"], late["verdict_reason"]) == \
        (on_time["verdict"], on_time["verdict_reason"])
    assert [s["passed"] for s in late["slos"]] == [s["passed"] for s in on_time["slos"]]


def test_a_journal_without_a_schedule_has_no_lateness(tmp_path: Path) -> None:
    """A step record without ``scheduled_s``/``until_s`` (a hand-written journal): unknown,
    not 0 and not a guess from the header's timeline."""
    records = read_journal(write_journal(tmp_path / "j.jsonl", late_off_s=2.4))
    for r in records:
        if r["type"] == "step":
            r.pop("scheduled_s", None)
            r.pop("until_s", None)
    [fault, _] = build_summary(records)["faults"]
    assert (fault["late_on_s"], fault["late_off_s"], fault["timing_note"]) == (None, None, None)


def test_every_report_says_what_the_fault_asked_and_delivered(tmp_path: Path) -> None:
    """Issue 22: terminal, Markdown, HTML and JUnit show "asked x60, delivered …" beside the
    fault (Markdown and HTML listed only its effect before). The factory's flood gets the
    delivery its step plug-in journals (scenarios/steps/verbosity.py); its samples carry no
    cohort counters, so what was delivered reads "not measured"."""
    import json

    from fleetchaos.reports.format import delivery_text

    path = write_journal(tmp_path / "j.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for record in lines:
        if record.get("type") == "step" and isinstance(record.get("effect"), dict):
            record["effect"]["delivery"] = {"unit": "x", "asked": 60, "measure": "cohort_rate",
                                            "actions": ["telemetry"]}
    lines = [r for r in lines if r.get("type") != "summary"]  # rebuilt from the steps
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    report = RunReport.from_records(read_journal(path))
    text = delivery_text(flood(report))
    assert text.startswith("asked x60, delivered x"), text
    delivered = text.split(",")[1].split()[1]  # "x19"
    for name, rendered in renders(report).items():
        assert "asked x60" in rendered and f"delivered {delivered}" in rendered, name
