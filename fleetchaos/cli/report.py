"""`fleetchaos report JOURNAL`: re-render any journal, including one cut short by a kill."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fleetchaos.common.errors import UsageError

HELP = "re-render a journal: terminal, --html, --junit, --markdown, --summary"
DESCRIPTION = "Re-render a run's journal (JSON Lines)."
EPILOG = "example: fleetchaos report fleetchaos-out/1a2b3c4d.journal.jsonl --html report.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("journal", help="the journal written by a run")
    parser.add_argument("--html", help="write the HTML report here")
    parser.add_argument("--junit", help="write JUnit XML here")
    parser.add_argument("--markdown", help="write Markdown here")
    parser.add_argument("--summary", help="write the summary JSON here")
    parser.add_argument("--width", type=int, default=None, help="terminal width to render at")


def run(ns: argparse.Namespace) -> int:
    from rich.console import Console

    from fleetchaos.reports.run.export import write_all
    from fleetchaos.reports.run.terminal import TerminalReport
    from fleetchaos.runs.output_paths import check_outputs
    from fleetchaos.scenarios.journal import read_journal, version_warning

    outputs = {f"--{name}": Path(getattr(ns, name)) if getattr(ns, name) else None
               for name in ("summary", "junit", "html", "markdown")}
    # before anything is read or written: no output may be the journal itself
    check_outputs(outputs, {"the journal being read": Path(ns.journal)})
    try:
        records = read_journal(ns.journal)
    except OSError as exc:
        raise UsageError(f"{ns.journal}: {exc.strerror or exc}") from None
    if not any(r.get("type") == "header" for r in records):
        raise UsageError(f"{ns.journal}: not a fleetchaos journal (no header record)")
    warning = version_warning(records, ns.journal)
    if warning:
        print(f"fleetchaos report: warning: {warning}", file=sys.stderr)
    try:
        report = write_all(records, summary=ns.summary, junit=ns.junit, html=ns.html,
                           markdown=ns.markdown)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise UsageError(f"cannot write{where}: {exc.strerror or exc}") from None
    Console(width=ns.width).print(TerminalReport(report))
    return {"pass": 0, "fail": 1}.get(report.verdict, 1)
