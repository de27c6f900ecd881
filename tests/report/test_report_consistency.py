"""One story in every report (issue 23): every report of the same journal (the terminal at
80 and 120 columns, the live view's last frame, Markdown, HTML, JUnit and the web UI's
Chaos page) says the same headline figures, taken from the summary: server errors (5xx)
on the phone API over the run and per phase, drivers stranded of the drivers in the fleet
(and the needs behind them), recovery said as a lower bound when the run ended first, each
SLO's value (and the samples it stands on), the run's settings; and the phases' figures
add up to the run's.

The journal (tests/report/journal_factory.py, ``write_story_journal``) is one a careless
report tells differently: 5xx in two phases plus the canary's own 500s (not the fleet's),
408 car-asleep answers the profile declares normal, a driver stranded twice (7 needs of 5
drivers), a canary still failing when the run ended. Before issue 23 the headline said
"12 server errors (5xx) on the phone API, most in the flood phase" (the worst phase
alone) beside a phase table of 12 + 4, and "2 of 7 drivers stranded" (needs, not drivers).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from journal_factory import write_story_journal
from rich.console import Console
from test_report_webui_state import StoppedEngine

from fleetchaos.locust_app.webui_live import LiveStatus
from fleetchaos.reports.format import observed
from fleetchaos.reports.run.html import render_html
from fleetchaos.reports.run.junit import render_junit
from fleetchaos.reports.run.live import LiveState
from fleetchaos.reports.run.markdown import render_markdown
from fleetchaos.reports.run.report import RunReport
from fleetchaos.reports.run.terminal import TerminalReport
from fleetchaos.scenarios.journal import read_journal
from fleetchaos.scenarios.records import Summary

FIVE_XX = re.compile(r"([\d,]+) server errors \(5xx\) on the phone API")
STRANDED = re.compile(r"(\d+) of (\d+) drivers stranded \((\d+) of (\d+) attempts to get in\)")


def n(text: str) -> int:
    return int(text.replace(",", ""))


def terminal(report: RunReport, width: int) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False,
                      file=io.StringIO())
    console.print(TerminalReport(report))
    return console.export_text()


def html_text(page: str) -> str:
    """The page's words before the embedded terminal report and data, tags removed."""
    head = page.split("<h2>Report</h2>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", head)).replace("&gt;", ">") \
        .replace("&amp;", "&").replace("&#x27;", "'")


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = write_story_journal(tmp_path_factory.mktemp("story") / "j.jsonl")
    records = read_journal(path)
    report = RunReport.from_records(records)
    live = LiveState(clock=iter(range(10_000)).__next__)
    for record in records:
        live.on_record(record)
    live_console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    live_console.print(live.render())
    chaos = LiveStatus().status(StoppedEngine(path), "stopped")["live"]
    page = render_html(report)
    return {"summary": report.summary, "report": report,
            "terminal 120": terminal(report, 120), "terminal 80": terminal(report, 80),
            "markdown": render_markdown(report), "html": html_text(page), "page": page,
            "junit": ET.fromstring(render_junit(report).split("?>", 1)[1]),
            "live": live_console.export_text(), "chaos": chaos}


def headlines(story: dict[str, Any]) -> dict[str, str]:
    """Where each report says its headline."""
    chaos = story["chaos"].get("figures") or {}
    props = {p.get("name"): p.get("value") for p in story["junit"].iter("property")}
    return {"terminal 120": story["terminal 120"], "terminal 80":
            re.sub(r"\s+", " ", story["terminal 80"]), "markdown": story["markdown"],
            "html": story["html"], "live": re.sub(r"\s+", " ", story["live"]),
            "chaos": " ".join(str(chaos.get(k)) for k in ("headline", "errors_5xx", "stranded")),
            "junit": str(props.get("headline"))}


def test_the_phases_add_up_to_the_run(story):
    s: Summary = story["summary"]
    t = s.totals
    assert t is not None
    for key in ("requests", "failures", "errors_5xx", "bytes_sent", "bytes_received"):
        assert getattr(t, key) == sum(getattr(p, key) for p in s.phases), key
    for key in ("needs", "stranded_needs"):
        assert getattr(s.drivers, key) == sum(getattr(p, key) for p in s.phases), key
    normal: dict[str, int] = {}
    for p in s.phases:
        for status, count in (p.normal or {}).items():
            normal[status] = normal.get(status, 0) + count
    assert t.normal == normal == {"408": 8}  # counted apart: not among the failures
    assert t.failures == sum(a.failures for a in t.by_action.values()) if t.by_action else 0
    assert (t.errors_5xx, [p.errors_5xx for p in s.phases]) == (16, [0, 12, 4])
    # the canary's own 500s are not the fleet's: the phone API's 5xx is what the SLO counts
    slo = s.slo("server errors stay rare")
    assert slo is not None and slo.observed is not None
    api_answers = sum(sum(a.by_status.values()) for name, a in (t.by_action or {}).items()
                      if name in ("unlock", "vehicle_data"))
    assert t.errors_5xx is not None and round(t.errors_5xx / api_answers, 4) == slo.observed


@pytest.mark.parametrize("where", ["terminal 120", "markdown"])
def test_the_phase_table_adds_up_to_its_run_row_and_to_the_headline(story, where):
    text = story[where]
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c.strip("* ") for c in (line.strip("|").split("|") if where == "markdown"
                                         else line.split())]
        if cells and cells[0] in ("baseline", "flood", "recovery", "run") and len(cells) >= 9:
            rows.setdefault(cells[0], cells)
    assert set(rows) == {"baseline", "flood", "recovery", "run"}, text
    # phase | window | requests | failed | normal | 5xx | unlock ok | unlock p95 | stranded
    for column in (2, 3, 4, 5):
        assert sum(n(rows[p][column]) for p in ("baseline", "flood", "recovery")) \
            == n(rows["run"][column]), column
    headline = FIVE_XX.search(text)
    assert headline is not None and n(headline.group(1)) == n(rows["run"][5]) == 16
    assert n(rows["run"][8]) == 2  # stranded drivers of the run: distinct, not the sum


def test_every_report_says_the_same_5xx_count_as_the_phases_sum(story):
    s: Summary = story["summary"]
    assert s.totals is not None
    for where, text in headlines(story).items():
        five = FIVE_XX.search(text)
        assert five is not None, f"{where}: no 5xx count in {text[:300]!r}"
        # 16: the phase table's 0 + 12 + 4 (the canary's own 500s left out)
        assert (where, n(five.group(1))) == (where, 16) == (where, s.totals.errors_5xx)
        assert "flood 12, recovery 4" in text, where
    props = {p.get("name"): p.get("value") for p in story["junit"].iter("property")}
    assert props.get("errors_5xx") == "16"


def test_every_report_says_drivers_stranded_of_the_drivers_in_the_fleet(story):
    for where, text in headlines(story).items():
        stranded = STRANDED.search(text)
        assert stranded is not None, f"{where}: no 'N of M drivers stranded (K of L " \
            f"attempts to get in)' in {text[:400]!r}"
        assert (where, *(int(g) for g in stranded.groups())) == (where, 2, 5, 3, 7)
    props = {p.get("name"): p.get("value") for p in story["junit"].iter("property")}
    assert (props.get("stranded_drivers"), props.get("drivers_in_fleet"), props.get("needs"),
            props.get("stranded_needs")) == ("2", "5", "7", "3")


def test_every_slo_reads_the_same_everywhere_and_a_lower_bound_says_so(story):
    s: Summary = story["summary"]
    failures = {case.get("name"): case.find("failure") for case in story["junit"].iter("testcase")}
    cards = {c["name"]: c for c in story["chaos"]["slos"]}
    for slo in s.slos:
        value = observed(slo)
        for where in ("terminal 120", "markdown"):  # on the SLO's own row
            assert any(slo.name in line and value in line
                       for line in story[where].splitlines()), (where, slo.name, value)
        assert f"{slo.name} {value}" in story["html"]
        assert f"{slo.name}: {value}" in story["live"]
        failure = failures[slo.name]
        assert failure is not None and f"observed {value}" in str(failure.get("message"))
        assert str(cards[slo.name]["observed"]).startswith(value)
        if slo.samples is not None:  # the samples each value stands on (issue 22)
            of = f"of {slo.samples:,}"
            assert of in story["live"].split(slo.name, 1)[1].split("\n", 1)[0]
            assert of in str(failure.get("message")) and of in cards[slo.name]["observed"]
            assert any(slo.name in line and f" {slo.samples:,} " in line
                       for line in story["markdown"].splitlines())
    recovery = s.slo("unlocks recover within 2 s")
    assert recovery is not None and recovery.lower_bound
    assert observed(recovery) == "> 4 s (run ended first)"
    for where in ("terminal 120", "terminal 80", "markdown", "html", "live"):
        assert "> 4 s (run ended first)" in story[where], where
        assert "4 s <= 2 s" not in story[where] and "observed 4 s" not in story[where]


def test_every_report_shows_the_runs_configuration(story):
    props = {p.get("name"): p.get("value") for p in story["junit"].iter("property")}
    for where in ("terminal 120", "terminal 80", "markdown", "html"):
        text = re.sub(r"\s+", " ", story[where])
        for item in ("reference", "http://127.0.0.1:8080", "built-in", "11",
                     "exponential-full-jitter", "fleet.cars=10", "10 cars, 5 drivers"):
            assert item in text, (where, item)
        assert re.search(r"time scale\W+0\.5", text), where
    assert props["config.time_scale"] == "0.5" and "fleet.cars=10" in props["config.--set"]
    assert props["config.retry_policy"] == "exponential-full-jitter"


def test_the_normal_answers_are_counted_apart_not_as_failures(story):
    s: Summary = story["summary"]
    baseline = s.phase("baseline")
    assert baseline is not None and baseline.failures == 0 and baseline.normal == {"408": 8}
    vehicle = baseline.action("vehicle_data")
    assert vehicle.failures == 0 and vehicle.normal == {"408": 8}
    assert "408 car asleep: 8" in story["terminal 120"]
    assert "408 car asleep: 8" in story["markdown"]


def test_the_terminal_fits_80_columns_without_wrapping_a_cell(story):
    text = story["terminal 80"]
    assert max(len(line) for line in text.splitlines()) <= 80
    for name in ("baseline", "flood", "recovery"):
        assert any(line.split()[:1] == [name] for line in text.splitlines())
    for slo in story["summary"].slos:  # never cut, never wrapped
        assert any(slo.name in line for line in text.splitlines()), slo.name

