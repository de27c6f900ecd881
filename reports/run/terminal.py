"""The final report in the terminal (rich), as complete as k6's end-of-test summary.

Every figure is the summary's (``scenarios.summary`` and ``scenarios.totals`` compute them
once; the other reports print the same ones): the run's configuration, each SLO with its
mark, observed value and the samples it stands on, the phases (requests, failures,
answers the profile calls normal, 5xx on the phone API, unlocks, stranded drivers) with the
run's totals beneath (the sum of the phases'), telemetry and payload bytes, each action's
avg/min/med/max/p90/p95 within each phase (never mixed across phases), drivers, faults.

Readable at 80 columns: cells never wrap; columns give way by width (``reports/fit.py``)
and the caption says which; golden renders at 80 and 120 columns. NO_COLOR is honoured.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fleetchaos.reports.fit import Cell, Column, Fitted, fitted_table
from fleetchaos.reports.format import (
    config_items,
    delivery_text,
    effect_text,
    normal_text,
    num,
    observed,
    observed_of,
    pct,
    recovery_text,
    samples,
    size,
    slo_mark,
    started_text,
    statuses,
    threshold,
    verdict_reason,
)
from fleetchaos.reports.run.report import RunReport, duration_text
from fleetchaos.scenarios.records import ActionStats, SloResult

VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "incomplete": "bold yellow",
                 "no-effect": "bold yellow", "under-delivered": "bold yellow",
                 "insufficient": "bold yellow", "refused": "bold red", "error": "bold red"}
MARK_STYLE = {"PASS": "green", "FAIL": "bold red", "INSUFFICIENT": "bold yellow",
              "NOT JUDGED": "dim"}
SLO_TABLE_MIN = 100  # below this width each SLO is two lines: its name, then its figures


def _red(value: int | None) -> Text:
    return Text(num(value), style="red" if value else "")


class TerminalReport:
    def __init__(self, report: RunReport) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        r = self.report
        yield self._header()
        yield Text(r.headline(), style="bold")
        yield self._config(options)
        yield self._slos(console, options)
        yield self._phases(console, options)
        yield self._telemetry(console, options)
        if r.broker_phases():
            yield self._broker(console, options)
        yield self._actions(console, options)
        yield self._drivers(console, options)
        yield self.faults()

    # --- the run ------------------------------------------------------------------------
    def _header(self) -> Panel:
        r = self.report
        h, s = r.header, r.summary
        lines = Text()
        lines.append(f"{r.title}\n", style="bold")
        lines.append(f"scenario {r.scenario} · run {r.run_id}\n")
        lines.append(f"{started_text(h.started_at)} · {duration_text(r)}"
                     + (f" · on {h.hostname}" if h.hostname else "") + "\n")
        lines.append("verdict ")
        lines.append(r.verdict.upper(), style=VERDICT_STYLE.get(r.verdict, "bold"))
        lines.append(f"  ({s.slos_held}/{len(s.slos)} SLOs held; "
                     f"faults left on Toxiproxy: {num(s.faults_left)})")
        reason = verdict_reason(s)  # why (a harness failure: which child died, when)
        if reason:
            lines.append(f"\n{reason}", style="red" if r.verdict == "error" else "")
        return Panel(lines, title="fleetchaos", box=box.ROUNDED, expand=True)

    def _config(self, options: ConsoleOptions) -> Group:
        """The run's settings as ``what value`` items, packed into lines of the width."""
        lines: list[Text] = []
        line = Text("  ")
        for what, value in config_items(self.report.summary.config):
            item = Text.assemble((what, "dim"), f" {value}")
            if len(line) > 2 and len(line) + 3 + len(item) > options.max_width:
                lines.append(line)
                line = Text("  ")
            if len(line) > 2:
                line.append(" · ", style="dim")
            line.append_text(item)
        lines.append(line)
        return Group(Text("Configuration", style="bold italic"), *lines)

    # --- SLOs ---------------------------------------------------------------------------
    def slo_table(self, console: Console, options: ConsoleOptions) -> RenderableType:
        return self._slos(console, options)

    def _slos(self, console: Console, options: ConsoleOptions) -> RenderableType:
        slos = self.report.summary.slos
        if not slos:
            return Text("No SLOs.", style="dim")
        if options.max_width >= SLO_TABLE_MIN:
            rows: list[Sequence[Cell]] = [
                [_mark(slo), slo.name, observed(slo), samples(slo), threshold(slo)]
                for slo in slos]
            columns = [Column("", "left"), Column("SLO", "left"), Column("observed"),
                       Column("samples"), Column("threshold")]
            table = fitted_table(console, options, columns, rows, title="SLOs")
            if not table.dropped:
                return table
        # narrow: the name on a line of its own, the figures indented below it
        out: list[RenderableType] = [Text("SLOs", style="bold italic")]
        for slo in slos:
            line = Text("  ")
            line.append_text(_mark(slo))
            line.append(f"  {slo.name}")
            out.append(line)
            out.append(Text(f"        observed {observed_of(slo)} · needs {threshold(slo)}",
                            style="dim" if slo.passed else ""))
        return Group(*out)

    # --- phases -------------------------------------------------------------------------
    def _phases(self, console: Console, options: ConsoleOptions) -> Fitted:
        s = self.report.summary
        columns = [Column("phase", "left"), Column("s", "left", drop=3, name="window (s)"),
                   Column("reqs"), Column("failed", drop=2),
                   Column("normal", drop=4, name="normal answers"),
                   Column("5xx\nAPI"), Column("unlock\nok"), Column("unlock\np95 ms"),
                   Column("stranded\ndrivers")]
        rows: list[Sequence[Cell]] = []
        for p in s.phases:
            rows.append([p.name, f"{p.start_s:g}-{p.end_s:g}", num(p.requests),
                         num(p.failures), num(_sum(p.normal)), _red(p.errors_5xx),
                         pct(p.unlock_success_ratio), num(p.unlock_p95_ms), _red(p.stranded)])
        t = s.totals
        if t is not None:
            rows.append([Text("run", style="bold"), f"0-{num(s.duration_s)}",
                         num(t.requests), num(t.failures), num(_sum(t.normal)),
                         _red(t.errors_5xx), pct(t.unlock_success_ratio),
                         num(t.unlock_p95_ms), _red(s.drivers.stranded_drivers)])
        caption = "5xx on the phone API; failed leaves out normal answers"
        normal = normal_text(t.normal if t else None, self.report.header.target)
        if normal:
            caption += f" ({normal})"
        return fitted_table(console, options, columns, rows, title="Phases",
                            caption=caption, sections=[len(s.phases) - 1])

    def _telemetry(self, console: Console, options: ConsoleOptions) -> Fitted:
        s = self.report.summary
        columns = [Column("phase", "left"), Column("records\nsent"), Column("acked"),
                   Column("resent", drop=2), Column("dropped", drop=3),
                   Column("bytes\nsent"), Column("bytes\nreceived")]
        rows: list[Sequence[Cell]] = []
        for name, tel, sent, received in (
                [(p.name, p.telemetry, p.bytes_sent, p.bytes_received) for p in s.phases]
                + ([("run", s.totals.telemetry, s.totals.bytes_sent, s.totals.bytes_received)]
                   if s.totals is not None else [])):
            rows.append([Text(name, style="bold" if name == "run" and s.totals else ""),
                         num(tel.sent if tel else None), num(tel.acked if tel else None),
                         num(tel.resent if tel else None), num(tel.dropped if tel else None),
                         size(sent), size(received)])
        return fitted_table(console, options, columns, rows,
                            title="Telemetry and payload bytes",
                            caption="bytes: request bodies and telemetry records sent, "
                                    "response bodies received",
                            sections=[len(s.phases) - 1])

    def _broker(self, console: Console, options: ConsoleOptions) -> Fitted:
        columns = [Column("phase", "left"), Column("msgs\nin"), Column("msgs\nout"),
                   Column("dropped"), Column("peak\nqueued", drop=1),
                   Column("clients", drop=2)]
        rows: list[Sequence[Cell]] = [
            [b.name, num(b.messages_in), num(b.messages_out), _red(b.dropped),
             num(b.peak_queued_inflight), num(b.clients_connected)]
            for b in self.report.broker_phases()]
        return fitted_table(console, options, columns, rows, title="MQTT broker ($SYS)",
                            caption="messages during the phase; peak queued or in flight; "
                                    "clients at its end")

    def _actions(self, console: Console, options: ConsoleOptions) -> Fitted:
        """Each action within each phase: counts, answers and response times (ms) of that
        phase alone, as k6 prints per scenario."""
        columns = [Column("phase / action", "left"), Column("reqs"), Column("failed"),
                   Column("avg", drop=3), Column("min", drop=5), Column("med"),
                   Column("max", drop=4), Column("p90", drop=6), Column("p95"),
                   Column("answers", "left", drop=7)]
        rows: list[Sequence[Cell]] = []
        sections = []
        for p in self.report.summary.phases:
            rows.append([Text(f"{p.name} {p.start_s:g}-{p.end_s:g} s", style="bold"),
                         *[""] * 9])
            for action, a in _by_volume(p.by_action):
                rows.append([f"  {action}", num(a.requests), _red(a.failures),
                             num(a.avg_ms), num(a.min_ms), num(a.p50_ms), num(a.max_ms),
                             num(a.p90_ms), num(a.p95_ms), statuses(a.by_status)])
            sections.append(len(rows) - 1)
        return fitted_table(console, options, columns, rows, title="Actions per phase",
                            caption="response times in ms, within each phase; "
                                    "conn = connection error", sections=sections[:-1])

    def _drivers(self, console: Console, options: ConsoleOptions) -> Fitted:
        d = self.report.summary.drivers
        columns = [Column("in\nfleet"), Column("need-\ning", name="needing"),
                   Column("attempts"),
                   Column("got in\nby app/\nkey/card", drop=2, name="got in by"),
                   Column("stranded\ndrivers"), Column("stranded\nattempts"),
                   Column("p50\ns", drop=1, name="p50 s"), Column("p95\ns", drop=1,
                                                                   name="p95 s")]
        needs = d.needs if d.needs is not None else d.needing
        stranded = d.stranded_needs if d.stranded_needs is not None else d.stranded
        rows: list[Sequence[Cell]] = [[
            num(d.in_fleet), num(d.drivers_with_needs), num(needs),
            f"{num(d.app)}/{num(d.bluetooth)}/{num(d.keycard)}",
            Text(num(d.stranded_drivers), style="bold red" if d.stranded_drivers else ""),
            _red(stranded), num(d.p50_time_to_access_s, 1), num(d.p95_time_to_access_s, 1)]]
        return fitted_table(console, options, columns, rows, title="Drivers",
                            caption="needing: drivers who needed to get in; attempts: their "
                                    "needs; got in by app, phone key or key card; p50/p95: "
                                    "time to get in")

    def faults(self) -> Group | Text:
        """Each fault as it was really on (its times in a column of their own, so a long
        label wraps beside them), then recovery."""
        faults = self.report.faults()
        if not faults:
            return Text("No faults were injected.", style="dim")
        grid = Table.grid(padding=(0, 2), pad_edge=False)
        grid.add_column(no_wrap=True)
        grid.add_column()
        judged = {str(f.step): f for f in self.report.summary.faults}
        for f in faults:
            line = Text(("by hand  " if f.manual else "") + f.label)
            effect = effect_text(f.effect, manual=f.manual)
            if effect:
                line.append(f"  {effect}", style="bold yellow" if "no effect" in effect else "")
            delivery = delivery_text(judged.get(f.step))  # asked vs delivered (issue 22)
            if delivery:
                line.append(f"; {delivery}",
                            style="bold yellow" if "UNDER-DELIVERED" in delivery else "")
            late = judged[f.step].timing_note if f.step in judged else None
            if late:  # it went on or off later than scheduled (scenarios/lateness.py)
                line.append(f"; {late}", style="yellow")
            grid.add_row(f"  {f.start:>5.1f}-{f.end:<5.1f} s", line)
        rec = recovery_text(self.report.summary, short=True)
        grid.add_row("  recovery", rec or "not reached")
        return Group(Text("Faults (as they were really on)", style="bold italic"), grid)


def _mark(slo: SloResult) -> Text:
    mark = slo_mark(slo)
    return Text(mark, style=MARK_STYLE.get(mark, "bold"))


def _sum(counts: dict[str, int] | None) -> int | None:
    return None if counts is None else sum(counts.values())


def _by_volume(by_action: dict[str, ActionStats]) -> list[tuple[str, ActionStats]]:
    return sorted(by_action.items(), key=lambda kv: (-kv[1].requests, kv[0]))


def render_terminal(report: RunReport, console: Console | None = None) -> None:
    (console or Console()).print(TerminalReport(report))
