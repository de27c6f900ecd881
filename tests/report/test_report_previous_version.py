"""Journals written by the previous version (fleetchaos 0.2.0 before the records were
typed: `fleetchaos run baseline --time-scale 0.3` and `fleetchaos run api-500-storm
--time-scale 0.3`, one driver outcome in eight and most of the schedule's needs trimmed)
still render with every renderer, and say what that version said of them: the terminal
report, Markdown and JUnit are compared with what the previous version rendered from the
same files (tests/report/golden/previous_version/, written by it, not by this code).

When a renderer's content changes on purpose, regenerate those files with
FLEETCHAOS_UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from fleetchaos.reports.compare.comparison import RunInput, compare
from fleetchaos.reports.compare.html import render_compare_html
from fleetchaos.reports.compare.markdown import render_compare_markdown
from fleetchaos.reports.compare.terminal import CompareReport
from fleetchaos.reports.run.end_of_run import EndOfRunReport
from fleetchaos.reports.run.html import render_html
from fleetchaos.reports.run.junit import render_junit
from fleetchaos.reports.run.live import LiveState
from fleetchaos.reports.run.markdown import render_markdown
from fleetchaos.reports.run.report import RunReport
from fleetchaos.reports.run.summary_json import render_summary_json
from fleetchaos.reports.run.terminal import TerminalReport
from fleetchaos.scenarios.journal import read_journal
from fleetchaos.scenarios.records import Journal

DATA = Path(__file__).resolve().parents[1] / "data"
GOLDEN = Path(__file__).parent / "golden" / "previous_version"
JOURNALS = sorted(DATA.glob("v0.2.0-*.journal.jsonl"))


def text(renderable: object, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False,
                      file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def same_as_golden(name: str, rendered: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("FLEETCHAOS_UPDATE_GOLDEN"):
        golden.write_text(rendered)
    assert rendered == golden.read_text(), f"{name} differs from what the previous version said"


def without_nulls(value: object) -> object:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def test_the_fixtures_are_journals_of_the_previous_version() -> None:
    assert [p.name for p in JOURNALS] == ["v0.2.0-api-500-storm.journal.jsonl",
                                          "v0.2.0-baseline.journal.jsonl"]
    for path in JOURNALS:
        header = read_journal(path)[0]
        assert header["type"] == "header" and header["versions"]["fleetchaos"] == "0.2.0"


@pytest.mark.parametrize("path", JOURNALS, ids=lambda p: p.name.split(".")[0])
def test_terminal_markdown_and_junit_say_what_the_previous_version_said(path: Path) -> None:
    report = RunReport.from_records(read_journal(path))
    stem = path.name.removesuffix(".journal.jsonl")
    same_as_golden(f"{stem}.terminal.txt", text(TerminalReport(report)))
    same_as_golden(f"{stem}.md", render_markdown(report))
    same_as_golden(f"{stem}.junit.xml", render_junit(report))


@pytest.mark.parametrize("path", JOURNALS, ids=lambda p: p.name.split(".")[0])
def test_every_renderer_reads_it(path: Path) -> None:
    records = read_journal(path)
    report = RunReport.from_records(records)
    summary = next(r for r in records if r["type"] == "summary")
    # the summary JSON is the journal's summary record (its nulls left out, as before), with
    # the figures that version did not write (issue 23: the run's settings, totals, 5xx and
    # drivers per phase) computed from the same journal; its verdict and SLOs as it judged
    written = json.loads(render_summary_json(report))
    upgraded = ("phases", "totals", "drivers", "config")
    assert {k: v for k, v in written.items() if k not in upgraded} == without_nulls(
        {k: v for k, v in summary.items() if k not in ("type", "t", *upgraded)})
    assert written["config"]["profile"] == records[0]["target"]["profile"]
    assert written["totals"]["errors_5xx"] == sum(p["errors_5xx"] for p in written["phases"])
    for old, new in zip(summary["phases"], written["phases"], strict=True):
        assert (new["name"], new["requests"]) == (old["name"], old["requests"])
    page = render_html(report)
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page,
                      re.S)
    assert found is not None
    data = json.loads(found.group(1))
    samples = [r for r in records if r["type"] == "sample"]
    assert len(data["series"]["t"]) == len(samples) and data["summary"] == written
    assert f'id="verdict">{summary["verdict"].upper()}<' in page
    for slo in summary["slos"]:
        assert slo["name"] in page
    assert (f"<th>retry policy</th><td>{records[0]['fleet'].get('retry_policy', '-')}</td>"
            in page)
    end = text(EndOfRunReport(report, str(path)))
    assert f"fleetchaos verdict: {summary['verdict'].upper()}" in end
    live = LiveState(clock=iter(range(10_000)).__next__)
    for record in records:
        live.on_record(record)
    assert f"verdict {summary['verdict'].upper()}" in text(live.render(), 100)
    for rendered in (page, end, text(TerminalReport(report)), render_markdown(report)):
        assert "None" not in rendered.split('id="chart-data"')[0]
    for fault in summary["faults"]:
        assert fault["label"] in page and fault["label"] in render_markdown(report)


def test_compare_reads_two_journals_of_the_previous_version() -> None:
    base, new = (RunInput.from_records(str(p), read_journal(p)) for p in JOURNALS)
    comparison = compare(base, new)
    assert [r.name for r in comparison.slos] == ["stranded_drivers <= 0 (all)"]
    assert text(CompareReport(comparison), 110) and render_compare_markdown(comparison)
    page = render_compare_html(comparison)
    assert page.count('<figure class="chart"') == 5  # both sides are journals: overlaid
    ET.fromstring(render_junit(RunReport.from_journal(base.journal or Journal())).split("?>")[1])


def test_typed_records_give_back_the_previous_versions_records() -> None:
    """from_json then to_json is the record as written (a typed field that was null is left
    out; pure data such as the canary's settings is passed through as it was): nothing of
    the previous version's journal is lost on the way through the typed records."""
    for path in JOURNALS:
        records = read_journal(path)
        again = Journal.from_json(records).to_json()
        assert without_nulls(again) == without_nulls(records)
