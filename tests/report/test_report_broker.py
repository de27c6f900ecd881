"""The MQTT broker's `$SYS` figures in the reports: per-phase deltas of its cumulative
counters (a counter that goes down after a broker restart counts from zero), peak
queued/inflight and clients at the end of each phase in the terminal and Markdown, a
messages-per-second chart in the HTML; nothing at all for a journal without them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from journal_factory import write_journal
from rich.console import Console

from fleetchaos.reports.run.html import render_html
from fleetchaos.reports.run.markdown import render_markdown
from fleetchaos.reports.run.report import RunReport
from fleetchaos.reports.run.terminal import TerminalReport
from fleetchaos.scenarios.journal import read_journal

# one reading per sample t=1..12; phases: baseline t=1-4, flood t=5-8, recovery t=9-12.
# t=1 is only the base (the broker counted before the run); the broker restarts at t=9.
IN = [1000, 1010, 1010, 1030, 1130, 1330, 1530, 1730, 5, 25, 45, 45]
OUT = [2000, 2020, 2020, 2060, 2260, 2660, 3060, 3460, 10, 50, 90, 90]
DROPPED = [0, 0, 0, 0, 0, 10, 30, 30, 0, 0, 0, 0]
QUEUED = [0, 1, 0, 2, 50, 400, 900, 700, 0, 3, 1, 0]
CLIENTS = [12, 12, 12, 12, 12, 12, 11, 10, 0, 8, 12, 12]
# per phase: in 30 / 700 / 45, out 60 / 1,400 / 90, dropped 0 / 30 / 0,
# peak queued 2 / 900 / 3, clients at the end 12 / 10 / 12


def broker_records(tmp_path: Path) -> list[dict[str, Any]]:
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    samples = [r for r in records if r["type"] == "sample"]
    assert [s["t"] for s in samples] == [float(i) for i in range(1, 13)]
    for i, s in enumerate(samples):
        s["broker"] = {"messages_in": IN[i], "messages_out": OUT[i], "dropped": DROPPED[i],
                       "stored": QUEUED[i] + 5, "retained": 5, "queued_inflight": QUEUED[i],
                       "clients_connected": CLIENTS[i]}
    del samples[2]["broker"]  # the $SYS monitor had nothing new: no entry at all
    samples[10]["broker"] = {"messages_in": None, "messages_out": "x",  # a hand-edited one
                             "queued_inflight": "lots", "clients_connected": 12}
    return records


def terminal_text(report: RunReport, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False,
                      file=open(os.devnull, "w"))  # noqa: SIM115 - closed with the console
    console.print(TerminalReport(report))
    return console.export_text()


def broker_table_rows(text: str) -> dict[str, list[str]]:
    section = text[text.index("MQTT broker ($SYS)"):text.index("Actions per phase")]
    rows = {}
    for line in section.splitlines():
        cells = line.split()
        if cells and cells[0] in ("baseline", "flood", "recovery"):
            rows[cells[0]] = cells[1:]
    return rows


def chart_data(page: str) -> Any:
    """The HTML report's chart data (its one JSON script)."""
    found = re.search(r'id="chart-data">(.*?)</script>', page, re.S)
    assert found is not None, "no chart data in the page"
    return json.loads(found.group(1))


def test_terminal_shows_per_phase_deltas_peaks_and_clients(tmp_path):
    report = RunReport.from_records(broker_records(tmp_path))
    rows = broker_table_rows(terminal_text(report))
    # msgs in, msgs out, dropped, peak queued, clients at the phase's end
    assert rows == {"baseline": ["30", "60", "0", "2", "12"],
                    "flood": ["700", "1,400", "30", "900", "10"],
                    "recovery": ["45", "90", "0", "3", "12"]}


def test_terminal_broker_table_fits_80_columns(tmp_path):
    text = terminal_text(RunReport.from_records(broker_records(tmp_path)), width=80)
    assert broker_table_rows(text)["flood"] == ["700", "1,400", "30", "900", "10"]
    assert max(len(line) for line in text.splitlines()) <= 80


def test_markdown_has_the_broker_table(tmp_path):
    md = render_markdown(RunReport.from_records(broker_records(tmp_path)))
    assert "### MQTT broker" in md
    assert "| baseline | 30 | 60 | 0 | 2 | 12 |" in md
    assert "| flood | 700 | 1,400 | 30 | 900 | 10 |" in md
    # the broker restarted at t=9: 5, then +20 twice, not 5 - 1730
    assert "| recovery | 45 | 90 | 0 | 3 | 12 |" in md


def test_html_has_the_broker_chart_with_rates_and_phase_bands(tmp_path):
    page = render_html(RunReport.from_records(broker_records(tmp_path)))
    figure = re.search(r'<figure class="chart"[^>]*><figcaption>MQTT broker messages per '
                       r"second.*?</figure>", page, re.S)
    assert figure is not None
    assert 'class="band phase"' in figure.group(0) and "flood" in figure.group(0)
    assert "dropped at 6 s: 10" in figure.group(0) and "in at 6 s: 200" in figure.group(0)
    data = chart_data(page)
    series = data["broker"]["series"]
    by_t = dict(zip(series["t"], series["messages_in_per_s"], strict=True))
    assert by_t[2.0] == 10 and by_t[5.0] == 100 and by_t[9.0] == 5  # restart: from zero
    assert by_t[4.0] == 10  # no reading at t=3: 20 messages over the 2 s since t=2
    assert "MQTT broker ($SYS)" in page  # the terminal tables below the charts


def test_a_journal_without_broker_figures_renders_no_broker_section(tmp_path):
    report = RunReport.from_records(read_journal(write_journal(tmp_path / "j.jsonl")))
    assert report.broker_phases() == [] and report.broker_series().t == []
    assert "broker" not in terminal_text(report).lower()
    assert "broker" not in render_markdown(report).lower()
    page = render_html(report)
    assert "MQTT broker" not in page
    data = chart_data(page)
    assert "broker" not in data


def test_broker_entries_of_the_wrong_kind_are_ignored(tmp_path):
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    for r in records:
        if r["type"] == "sample":
            r["broker"] = ["not", "a", "mapping"] if r["t"] < 6 else {"messages_in": True}
    report = RunReport.from_records(records)
    assert report.broker_phases() == []
    assert "MQTT broker" not in render_html(report)
