"""Renderers: golden terminal renders at 80 and 120 columns, JUnit structure, HTML chart data,
Markdown, and `fleetchaos report` on whole and cut-short journals."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from journal_factory import write_journal, write_story_journal
from rich.console import Console

from fleetchaos.reports.format import statuses
from fleetchaos.reports.run.export import write_all
from fleetchaos.reports.run.report import RunReport
from fleetchaos.reports.run.terminal import TerminalReport
from fleetchaos.scenarios.journal import read_journal

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[2]


def render(report: RunReport, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False,
                      file=open(os.devnull, "w"))  # noqa: SIM115 - closed with the console
    console.print(TerminalReport(report))
    return console.export_text()


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("journal", ["lockout", "story"])
def test_terminal_report_matches_golden_at_80_and_120_columns(tmp_path, width, journal):
    """Golden renders (regenerate with FLEETCHAOS_UPDATE_GOLDEN=1 and review the diff): no
    line past the width, no phase name, status cell or SLO name wrapped or cut."""
    write = write_journal if journal == "lockout" else write_story_journal
    report = RunReport.from_records(read_journal(write(tmp_path / "j.jsonl")))
    text = render(report, width)
    golden = GOLDEN / ("terminal_80.txt" if (journal, width) == ("lockout", 80)
                       else f"terminal_{journal}_{width}.txt")
    if os.environ.get("FLEETCHAOS_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "FAIL" in text and "stranded" in text
    for phase in report.summary.phases:  # each phase's row starts with its whole name
        assert sum(1 for line in lines if line.split()[:1] == [phase.name]) >= 2
    for slo in report.summary.slos:  # each SLO's name on one line, whole
        assert any(slo.name in line for line in lines), slo.name
    for phase in report.summary.phases:  # each action's answers on one line when shown
        for action, stats in phase.by_action.items():
            if stats.by_status and "answers" in text.split("Actions per phase", 1)[1][:400]:
                assert any(action in line and statuses(stats.by_status) in line
                           for line in lines), (phase.name, action)


def test_summary_figures_come_from_the_samples(tmp_path):
    report = RunReport.from_records(read_journal(write_journal(tmp_path / "j.jsonl")))
    phases = {p.name: p for p in report.summary.phases}
    assert phases["baseline"].by_status == {"200": 40}
    assert phases["flood"].by_status["500"] == 12  # samples at t=5..8
    slos = {s.name: s for s in report.summary.slos}
    # the flood phase holds samples t=5..8: 2 of 5 unlocks answered 200 in each
    assert slos["unlocks work in the flood"].observed == pytest.approx(8 / 20)
    assert slos["nobody stranded"].observed == 1 and not slos["nobody stranded"].passed
    assert report.summary.drivers.keycard == 1
    assert report.verdict == "fail"


def test_junit_has_a_case_per_slo_and_failures_say_observed_vs_threshold(tmp_path):
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    write_all(records, junit=tmp_path / "junit.xml")
    text = (tmp_path / "junit.xml").read_text()
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert suite.get("tests") == "2" and len(cases) == 2
    failures = [f for c in cases if (f := c.find("failure")) is not None]
    assert suite.get("failures") == str(len(failures)) == "2"
    assert all(re.search(r"observed .+, threshold [≥≤]", f.attrib["message"]) for f in failures)
    # the JUnit schema's suite attributes: when, where, how long; every case has a time
    assert suite.get("timestamp") == "2026-01-01T00:00:00"
    assert suite.get("hostname") and float(suite.attrib["time"]) == 12.0
    assert [float(c.attrib["time"]) for c in cases] == [4.0, 12.0]  # the flood phase; "all"
    assert '"None"' not in text and "recovery_s" not in text
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["recovery"] and props["verdict"] == "fail"


def test_junit_of_a_journal_without_start_or_recovery_never_says_none(tmp_path):
    records = read_journal(write_journal(tmp_path / "j.jsonl", complete=False))
    header = next(r for r in records if r["type"] == "header")
    del header["started_at"]
    write_all(records, junit=tmp_path / "junit.xml")
    text = (tmp_path / "junit.xml").read_text()
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("errors") == "1" and suite.get("timestamp") and "None" not in text


def test_markdown_says_pass_or_fail_first_then_when_faults_and_recovery(tmp_path):
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    md = __import__("fleetchaos.reports.run.markdown", fromlist=["x"]).render_markdown(
        RunReport.from_records(records))
    first = md.splitlines()[0]
    assert first.startswith("## ❌ FAIL")
    assert "0 of 2 SLOs held" in md
    assert "2026-01-01 00:00:00 · 12 s" in md and "| seed | 7 |" in md
    assert ("| 4.0 | 8.0 | verbosity x60 on 50 % | scheduled | touched 240 telemetry records |"
            in md)
    assert "| 9.0 | 10.5 | latency 500 ms on api | by hand | - |" in md
    assert "Recovery: " in md and "None" not in md and "{" not in md


def test_html_draws_phases_and_every_fault_on_every_time_axis(tmp_path):
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    write_all(records, html=tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    charts = re.findall(r'<figure class="chart"[^>]*>(.*?)</figure>', page, re.S)
    assert len(charts) >= 6
    for chart in charts:
        for phase in ("baseline", "flood", "recovery"):
            assert f'title="phase {phase}:' in chart
        assert "verbosity x60 on 50 %</span>" in chart
        assert "by hand: latency 500 ms on api</span>" in chart
    # the phone API per action (unlock first), apart from telemetry
    titles = re.findall(r"<figcaption>(.*?) <small>", page)
    assert titles[0] == "Timeline" and titles[1].startswith("Phone API success per action")
    assert any(t.startswith("Telemetry p95") for t in titles)
    api = page.split("Phone API p95 latency per action", 1)[1].split("</figure>", 1)[0]
    assert "unlock at 5 s: 2,000 ms" in api and "telemetry at" not in api
    # values on hover, the run's facts, labels never dicts
    assert 'title="unlock at 5 s: 40% ratio"' in page
    for fact in ("2026-01-01 00:00:00", "<td>12 s</td>", "python 3.11", "r1234567"):
        assert fact in page
    assert "{&#x27;" not in page and "{'" not in page.split('id="chart-data"')[0]


def test_html_is_self_contained_and_carries_its_chart_data(tmp_path):
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    write_all(records, html=tmp_path / "r.html", markdown=tmp_path / "r.md",
              summary=tmp_path / "s.json")
    page = (tmp_path / "r.html").read_text()
    assert "<svg" in page and "http://" not in page.split("<script", 1)[0].replace(
        "http://127.0.0.1:1", "")
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page,
                      re.S)
    assert found is not None
    data = json.loads(found.group(1))
    assert len(data["series"]["t"]) == 12
    assert data["fault_windows"] == [[4.0, 8.0, "verbosity x60 on 50 %"],
                                     [9.0, 10.5, "latency 500 ms on api"]]
    assert max(data["series"]["error_5xx_ratio"]) > 0
    assert data["series"]["stranded_cumulative"][-1] == 1
    assert data["actions"]["unlock"]["success_ratio"][5] == 0.4
    assert "| flood |" in (tmp_path / "r.md").read_text()
    assert json.loads((tmp_path / "s.json").read_text())["verdict"] == "fail"


def run_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleetchaos.cli", "report", *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "80"})


def test_report_cli_rerenders_a_journal_cut_short_by_a_kill(tmp_path):
    path = write_journal(tmp_path / "j.jsonl", complete=False)
    with path.open("a") as fh:
        fh.write('{"type": "sample", "t": 13.0, "by_sta')  # the kill landed mid-line
    result = run_report(str(path), "--html", str(tmp_path / "r.html"), "--width", "80")
    assert result.returncode == 1
    assert "INCOMPLETE" in result.stdout
    assert (tmp_path / "r.html").exists()


def test_report_cli_refuses_what_is_not_a_journal(tmp_path):
    missing = run_report(str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2 and "none.jsonl" in missing.stderr
    junk = tmp_path / "junk.jsonl"
    junk.write_text("hello\n")
    result = run_report(str(junk))
    assert result.returncode == 2 and "not a fleetchaos journal" in result.stderr
    assert "Traceback" not in result.stderr + missing.stderr


def test_duration_says_wind_down_or_cut_short(tmp_path):
    from fleetchaos.reports.run.report import duration_text

    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    last = max(i for i, r in enumerate(records) if r["type"] == "sample")
    longer = [*records[:last + 1], {**records[last], "t": 15.0}, *records[last + 1:]]
    assert duration_text(RunReport.from_records(longer)) == "12 s timeline, 15 s with the wind-down"
    cut = [r for r in records if r["type"] != "sample" or r["t"] <= 5]
    assert duration_text(RunReport.from_records(cut)) == "5 s of 12 s planned (cut short)"
