"""Every renderer reads records defensively: a journal from another version, with keys
missing or of the wrong type, still renders (terminal, HTML, JUnit, Markdown, live view),
never a traceback, and never prints Python's None or a dict."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journal_factory import write_journal
from rich.console import Console

from fleetchaos.reports.run.html import render_html
from fleetchaos.reports.run.junit import render_junit
from fleetchaos.reports.run.live import LiveState
from fleetchaos.reports.run.markdown import render_markdown
from fleetchaos.reports.run.report import RunReport
from fleetchaos.reports.run.terminal import TerminalReport
from fleetchaos.scenarios.journal import read_journal

_BASE: list[dict[str, Any]] = []


def base_records(tmp: Path) -> list[dict[str, Any]]:
    if not _BASE:
        _BASE.extend(read_journal(write_journal(tmp / "base.jsonl")))
    return [dict(r) for r in _BASE]


ODD_VALUES = st.sampled_from([None, "", "x", 0, -1, 1e12, float("nan"), [], {}, [1, "a"],
                             {"k": None}])


def render_all(records: list[dict[str, Any]]) -> dict[str, str]:
    report = RunReport.from_records(records)
    console = Console(width=80, record=True, color_system=None, file=io.StringIO())
    console.print(TerminalReport(report))
    state = LiveState(clock=lambda: 0.0)
    for record in records:
        state.on_record(record)
    live = Console(width=80, record=True, color_system=None, file=io.StringIO())
    live.print(state.render())
    out = {"terminal": console.export_text(), "html": render_html(report),
           "junit": render_junit(report), "markdown": render_markdown(report),
           "live": live.export_text()}
    ET.fromstring(out["junit"].split("?>", 1)[1])  # still well-formed XML
    return out


# (record index, key index, replacement: None drops the key, else the odd value)
EDITS = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 40),
                           st.one_of(st.none(), st.tuples(ODD_VALUES))), max_size=25)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=EDITS)
def test_renderers_survive_records_with_keys_missing_or_odd(tmp_path, edits):
    records = base_records(tmp_path)
    for index, key_index, replacement in edits:
        record = records[index % len(records)]
        keys = sorted(k for k in record if k != "type")
        if not keys:
            continue
        key = keys[key_index % len(keys)]
        if replacement is None:
            del record[key]
        else:
            record[key] = replacement[0]
    out = render_all(records)
    assert "None" not in out["markdown"] and "None" not in out["junit"]


def test_renderers_survive_a_header_only_and_an_empty_journal():
    for records in ([{"type": "header", "t": 0.0}], []):
        out = render_all(records)
        assert out["markdown"].startswith("## ")
