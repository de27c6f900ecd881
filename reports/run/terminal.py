"""The final report in the terminal (rich): readable at 80 columns, honours NO_COLOR."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fleetchaos.reports.format import (
    SLO_MARKS,
    count_5xx,
    dash,
    delivery_text,
    effect_text,
    num,
    observed_of,
    pct,
    phase_unlock_ok,
    recovery_text,
    slo_status,
    started_text,
    statuses,
    threshold,
    verdict_reason,
)
from fleetchaos.reports.run.report import RunReport, duration_text

VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "incomplete": "bold yellow",
                 "no-effect": "bold yellow", "under-delivered": "bold yellow",
                 "insufficient": "bold yellow", "refused": "bold red", "error": "bold red"}
SLO_STYLE = {"pass": "green", "fail": "bold red", "insufficient": "bold yellow",
             "not_judged": "dim"}


@dataclass
class _ActionTotals:
    """One action over the whole run: summed counts, each phase's percentiles."""

    requests: int = 0
    failures: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    p50: list[float] = field(default_factory=list)
    p95: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)


class TerminalReport:
    def __init__(self, report: RunReport) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        r = self.report
        yield self._header()
        yield Text(r.headline(), style="bold")
        yield self._phases()
        if r.broker_phases():
            yield self._broker()
        yield self._actions()
        yield self._drivers()
        yield self._slos()
        yield self._faults()

    def _header(self) -> Panel:
        r = self.report
        h, s = r.header, r.summary
        target, fleet = h.target, h.fleet
        lines = Text()
        lines.append(f"{r.title}\n", style="bold")
        lines.append(f"scenario {r.scenario} · run {r.run_id} · seed {r.seed}\n")
        lines.append(f"{started_text(h.started_at)} · {duration_text(r)}"
                     + (f" · on {h.hostname}" if h.hostname else "") + "\n")
        lines.append(f"target {dash(target.host)} ({dash(target.profile)}) · "
                     f"toxiproxy {dash(target.toxiproxy_server)} · "
                     f"{num(fleet.cars)} cars, {num(fleet.drivers)} drivers\n")
        lines.append("verdict ")
        lines.append(r.verdict.upper(), style=VERDICT_STYLE.get(r.verdict, "bold"))
        lines.append(f"  ({s.slos_held}/{len(s.slos)} SLOs held; "
                     f"faults left on Toxiproxy: {num(s.faults_left)})")
        if r.verdict == "error" and verdict_reason(s):
            lines.append(f"\n{verdict_reason(s)}", style="red")
        return Panel(lines, title="fleetchaos", box=box.ROUNDED, expand=True)

    def _phases(self) -> Table:
        t = Table(title="Phases", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
        t.add_column("phase (s)", ratio=1)
        for col in ("reqs", "5xx", "unlock ok", "p95 ms", "acked", "resent", "stranded"):
            t.add_column(col, justify="right", no_wrap=True)
        for p in self.report.summary.phases:
            acked = p.telemetry.acked if p.telemetry else None
            resent = p.telemetry.resent if p.telemetry else None
            n5 = count_5xx(p.by_status)
            t.add_row(f"{p.name} {p.start_s:g}-{p.end_s:g}", num(p.requests),
                      Text(num(n5), style="red" if n5 else ""), pct(phase_unlock_ok(p)),
                      num(p.p95_ms), num(acked), num(resent),
                      Text(num(p.stranded), style="red" if p.stranded else ""))
        return t

    def _broker(self) -> Table:
        t = Table(title="MQTT broker ($SYS)", box=box.SIMPLE_HEAD, expand=True,
                  title_justify="left")
        t.add_column("phase", ratio=1)
        for col in ("msgs in", "msgs out", "dropped", "peak queued", "clients"):
            t.add_column(col, justify="right", no_wrap=True)
        for b in self.report.broker_phases():
            t.add_row(b.name, num(b.messages_in), num(b.messages_out),
                      Text(num(b.dropped), style="red" if b.dropped else ""),
                      num(b.peak_queued_inflight), num(b.clients_connected))
        t.caption = "messages during the phase; peak queued or in flight; clients at its end"
        return t

    def _actions(self) -> Table:
        t = Table(title="Actions (whole run)", box=box.SIMPLE_HEAD, expand=True,
                  title_justify="left")
        for col in ("action", "reqs", "fails", "p50", "p95", "p99", "statuses"):
            t.add_column(col, justify="left" if col in ("action", "statuses") else "right",
                         no_wrap=col != "statuses")
        merged: dict[str, _ActionTotals] = {}
        for p in self.report.summary.phases:
            for action, a in p.by_action.items():
                m = merged.setdefault(action, _ActionTotals())
                m.requests += a.requests
                m.failures += a.failures
                for k, v in a.by_status.items():
                    m.by_status[k] = m.by_status.get(k, 0) + v
                for values, value in ((m.p50, a.p50_ms), (m.p95, a.p95_ms), (m.p99, a.p99_ms)):
                    if value is not None:
                        values.append(value)
        for action, m in sorted(merged.items(), key=lambda kv: -kv[1].requests):
            t.add_row(action, num(m.requests), num(m.failures), num(max(m.p50, default=None)),
                      num(max(m.p95, default=None)), num(max(m.p99, default=None)),
                      statuses(m.by_status))
        t.caption = "ms; the worst phase's percentile; conn = connection error"
        return t

    def _drivers(self) -> Table:
        d = self.report.summary.drivers
        t = Table(title="Drivers who needed to get in", box=box.SIMPLE_HEAD, expand=True,
                  title_justify="left")
        for col in ("needed", "by app", "phone key", "key card", "stranded", "p50 s", "p95 s"):
            t.add_column(col, justify="right")
        t.add_row(num(d.needing), num(d.app), num(d.bluetooth), num(d.keycard),
                  Text(num(d.stranded), style="bold red" if d.stranded else ""),
                  num(d.p50_time_to_access_s, 1), num(d.p95_time_to_access_s, 1))
        return t

    def _slos(self) -> Table:
        t = Table(title="SLOs", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
        t.add_column("", no_wrap=True)
        t.add_column("SLO", ratio=1)
        t.add_column("observed", justify="right", no_wrap=True)
        t.add_column("threshold", justify="right", no_wrap=True)
        for slo in self.report.summary.slos:
            status = slo_status(slo)
            t.add_row(Text(SLO_MARKS[status], style=SLO_STYLE[status]), slo.name,
                      observed_of(slo), threshold(slo))
        return t

    def _faults(self) -> Group | Text:
        faults = self.report.faults()
        if not faults:
            return Text("No faults were injected.", style="dim")
        lines = [Text("Faults (as they were really on)", style="bold italic")]
        judged = {str(f.step): f for f in self.report.summary.faults}
        for f in faults:
            how = "by hand  " if f.manual else ""
            line = Text(f"  {f.start:>5.1f}-{f.end:<5.1f} s  {how}{f.label}")
            effect = effect_text(f.effect, manual=f.manual)
            if effect:
                line.append(f"  {effect}", style="bold yellow" if "no effect" in effect else "")
            delivery = delivery_text(judged.get(f.step))
            if delivery:
                line.append(f"; {delivery}",
                            style="bold yellow" if "UNDER-DELIVERED" in delivery else "")
            lines.append(line)
        rec = recovery_text(self.report.summary, short=True)
        lines.append(Text(f"  recovery: {rec or 'not reached'}"))
        return Group(*lines)


def render_terminal(report: RunReport, console: Console | None = None) -> None:
    (console or Console()).print(TerminalReport(report))
