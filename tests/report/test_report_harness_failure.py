"""A run whose child died says so in the journal and in every report (issue 27): verdict
ERROR with the line that names the child under it, and no SLO of a phase the death cut
judged PASS or FAIL. The journal is the factory's, cut at 6 s as a backend death would cut
it, then closed by the orchestrator's own writer (runs.child_watch.journal_failure)."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from journal_factory import write_journal
from rich.console import Console

from fleetchaos.reports.run.export import RENDERERS
from fleetchaos.reports.run.report import RunReport
from fleetchaos.reports.run.terminal import TerminalReport
from fleetchaos.runs.child_watch import ChildFailure, journal_failure
from fleetchaos.scenarios.journal import read_journal

LINE = ("the reference backend (pid 4242) was killed by SIGKILL at t=6.0 s: the run was "
        "stopped and its faults rolled back on what is left; no SLO is judged on a dead part")


def _failed_journal(tmp_path: Path) -> Path:
    full = write_journal(tmp_path / "full.jsonl", complete=False)
    cut = tmp_path / "cut.jsonl"
    keep = [x for x in full.read_text().splitlines() if json.loads(x).get("t", 0) <= 6.0]
    cut.write_text("\n".join(keep) + "\n")
    failure = ChildFailure("backend", "the reference backend", 4242, "died",
                           "was killed by SIGKILL", time.time())
    assert journal_failure(cut, failure, t=6.0, line=LINE, removed=["api/fc-x"], left=[])
    return cut


def test_the_journal_says_which_child_failed_and_the_verdict_is_error(tmp_path: Path) -> None:
    records = read_journal(_failed_journal(tmp_path))
    [error] = [r for r in records if r["type"] == "error"]
    assert (error["what"], error["child"], error["pid"], error["t"]) == ("child", "backend",
                                                                         4242, 6.0)
    assert error["removed"] == ["api/fc-x"] and error["message"] == LINE
    summary = records[-1]
    assert summary["type"] == "summary" and summary["verdict"] == "error"
    assert summary["verdict_reason"] == LINE
    status = {s["name"]: s["status"] for s in summary["slos"]}
    assert status == {"unlocks work in the flood": "not_judged",
                      "nobody stranded": "not_judged"}
    assert not any(s["passed"] for s in summary["slos"])


def test_every_report_says_so(tmp_path: Path) -> None:
    report = RunReport.from_records(read_journal(_failed_journal(tmp_path)))
    assert report.verdict == "error"
    console = Console(width=400, record=True, color_system=None)  # no wrapped line
    console.print(TerminalReport(report))
    terminal = " ".join(console.export_text().split())
    assert "verdict ERROR" in terminal and " ".join(LINE.split()) in terminal
    assert terminal.count("NOT JUDGED") == 2 and "FAIL" not in terminal.split("SLOs", 1)[1][:300]
    html = RENDERERS["html"](report)
    assert f'id="verdict-reason">{LINE}<' in html
    assert html.split("<table class=\"slos\">", 1)[1].split("</table>", 1)[0].count("NOT JUDGED") == 2
    markdown = RENDERERS["markdown"](report)
    assert "ERROR" in markdown and LINE in markdown and markdown.count("NOT JUDGED") == 2
    junit = ET.fromstring(RENDERERS["junit"](report).split("?>", 1)[1])
    suite = junit.find("testsuite")
    assert suite is not None and suite.get("errors") == "1" and suite.get("failures") == "0"
    assert suite.get("skipped") == "2"
    errors = [e.get("message") for e in junit.iter("error")]
    assert errors == [LINE]
    summary = json.loads(RENDERERS["summary"](report))
    assert summary["verdict"] == "error" and summary["verdict_reason"] == LINE
