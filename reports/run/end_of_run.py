"""The verdict at the end of a plain ``locust -f locustfile.py --headless`` run.

Locust prints its own request tables when it quits and nothing else, so the verdict
was only in the summary file. This renders, for printing right after Locust's tables
(same stream, stderr; ``fleetchaos.locust_app.end_of_run`` hooks it to Locust's ``quit``),
the verdict, the headline, the SLO table and the faults, read back from the journal like
every other report. ``fleetchaos run`` prints the full report itself.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from fleetchaos.reports.run.report import RunReport
from fleetchaos.reports.run.terminal import VERDICT_STYLE, TerminalReport
from fleetchaos.scenarios.records import Journal


class EndOfRunReport:
    """Verdict line, headline, SLOs, faults and where the journal is."""

    def __init__(self, report: RunReport, journal: str | None = None) -> None:
        self.report = report
        self.journal = journal

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        r = self.report
        full = TerminalReport(r)
        line = Text("fleetchaos verdict: ", style="bold")
        line.append(r.verdict.upper(), style=VERDICT_STYLE.get(r.verdict, "bold"))
        line.append(f"  ({r.summary.slos_held}/{len(r.summary.slos)} SLOs held) - {r.title}")
        parts: list[RenderableType] = [Text(""), line, Text(r.headline())]
        for item in r.summary.no_effect:
            parts.append(Text(item.message or str(item.to_json()), style="yellow"))
        for fault in r.summary.under_delivered or ():  # asked vs delivered (issue 22)
            parts.append(Text(f"under-delivered: {fault.message or fault.label}",
                              style="yellow"))
        if r.verdict in ("insufficient", "refused") and r.summary.verdict_reason:
            parts.append(Text(r.summary.verdict_reason, style="yellow"))
        parts += [full.slo_table(console, options), full.faults()]
        if self.journal:
            parts.append(Text(f"journal: {self.journal}  (fleetchaos report JOURNAL --html "
                              "report.html re-renders it)", style="dim"))
        yield Group(*parts)


def print_end_of_run(journal_path: str, console: Console | None = None) -> str | None:
    """Print the end-of-run verdict from a finished journal; return the verdict."""
    from fleetchaos.scenarios.journal import read_journal

    try:
        journal = Journal.from_json(read_journal(journal_path))
    except OSError:
        return None
    if journal.summary is None:
        return None  # set-up failed or the run was cut: that was said already
    report = RunReport.from_journal(journal)
    (console or Console(stderr=True)).print(EndOfRunReport(report, journal_path))
    return report.verdict
