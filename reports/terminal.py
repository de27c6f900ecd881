"""The final report in the terminal (rich): readable at 80 columns, honours NO_COLOR."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fleetchaos.reports.format import (
    count_5xx,
    duration_text,
    effect_text,
    num,
    observed,
    pct,
    phase_unlock_ok,
    recovery_text,
    started_text,
    statuses,
    threshold,
)
from fleetchaos.reports.model import RunReport

VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "incomplete": "bold yellow"}


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
        h, s = self.report.header, self.report.summary
        verdict = self.report.verdict
        lines = Text()
        lines.append(f"{self.report.title}\n", style="bold")
        target = h.get("target") or {}
        fleet = h.get("fleet") or {}
        lines.append(f"scenario {self.report.scenario} · run {self.report.fact('run_id')} · "
                     f"seed {self.report.fact('seed')}"
                     "\n")
        lines.append(f"{started_text(h.get('started_at'))} · {duration_text(self.report)}"
                     + (f" · on {h['hostname']}" if h.get("hostname") else "") + "\n")
        lines.append(f"target {target.get('host', '-')} ({target.get('profile', '-')}) · "
                     f"toxiproxy {target.get('toxiproxy_server', '-')} · "
                     f"{num(fleet.get('cars'))} cars, {num(fleet.get('drivers'))} drivers\n")
        lines.append("verdict ")
        lines.append(verdict.upper(), style=VERDICT_STYLE.get(verdict, "bold"))
        passed = sum(1 for x in s.get("slos", []) if x.get("passed"))
        lines.append(f"  ({passed}/{len(s.get('slos', []))} SLOs held; "
                     f"faults left on Toxiproxy: {num(s.get('faults_left'))})")
        return Panel(lines, title="fleetchaos", box=box.ROUNDED, expand=True)

    def _phases(self) -> Table:
        t = Table(title="Phases", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
        t.add_column("phase (s)", ratio=1)
        for col in ("reqs", "5xx", "unlock ok", "p95 ms", "acked", "resent", "stranded"):
            t.add_column(col, justify="right", no_wrap=True)
        for p in self.report.summary.get("phases", []):
            tel = p.get("telemetry") or {}
            n5 = count_5xx(p.get("by_status"))
            t.add_row(f"{p['name']} {p['start_s']:g}-{p['end_s']:g}", num(p.get("requests")),
                      Text(num(n5), style="red" if n5 else ""), pct(phase_unlock_ok(p)),
                      num(p.get("p95_ms")), num(tel.get("acked")), num(tel.get("resent")),
                      Text(num(p.get("stranded")), style="red" if p.get("stranded") else ""))
        return t

    def _broker(self) -> Table:
        t = Table(title="MQTT broker ($SYS)", box=box.SIMPLE_HEAD, expand=True,
                  title_justify="left")
        t.add_column("phase", ratio=1)
        for col in ("msgs in", "msgs out", "dropped", "peak queued", "clients"):
            t.add_column(col, justify="right", no_wrap=True)
        for b in self.report.broker_phases():
            dropped = b.get("dropped")
            t.add_row(str(b["name"]), num(b.get("messages_in")), num(b.get("messages_out")),
                      Text(num(dropped), style="red" if dropped else ""),
                      num(b.get("peak_queued_inflight")), num(b.get("clients_connected")))
        t.caption = "messages during the phase; peak queued or in flight; clients at its end"
        return t

    def _actions(self) -> Table:
        t = Table(title="Actions (whole run)", box=box.SIMPLE_HEAD, expand=True,
                  title_justify="left")
        for col in ("action", "reqs", "fails", "p50", "p95", "p99", "statuses"):
            t.add_column(col, justify="left" if col in ("action", "statuses") else "right",
                         no_wrap=col != "statuses")
        merged: dict[str, dict[str, Any]] = {}
        for p in self.report.summary.get("phases", []):
            for action, a in (p.get("by_action") or {}).items():
                m = merged.setdefault(action, {"requests": 0, "failures": 0, "by_status": {},
                                               "p50": [], "p95": [], "p99": []})
                m["requests"] += a.get("requests", 0)
                m["failures"] += a.get("failures", 0)
                for k, v in (a.get("by_status") or {}).items():
                    m["by_status"][k] = m["by_status"].get(k, 0) + v
                for q in ("p50", "p95", "p99"):
                    if a.get(f"{q}_ms") is not None:
                        m[q].append(a[f"{q}_ms"])
        for action, m in sorted(merged.items(), key=lambda kv: -kv[1]["requests"]):
            t.add_row(action, num(m["requests"]), num(m["failures"]),
                      num(max(m["p50"], default=None)), num(max(m["p95"], default=None)),
                      num(max(m["p99"], default=None)), statuses(m["by_status"]))
        t.caption = "ms; the worst phase's percentile; conn = connection error"
        return t

    def _drivers(self) -> Table:
        d = self.report.summary.get("drivers", {})
        t = Table(title="Drivers who needed to get in", box=box.SIMPLE_HEAD, expand=True,
                  title_justify="left")
        for col in ("needed", "by app", "phone key", "key card", "stranded", "p50 s", "p95 s"):
            t.add_column(col, justify="right")
        stranded = d.get("stranded", 0)
        t.add_row(num(d.get("needing")), num(d.get("app")), num(d.get("bluetooth")),
                  num(d.get("keycard")), Text(num(stranded), style="bold red" if stranded else ""),
                  num(d.get("p50_time_to_access_s"), 1), num(d.get("p95_time_to_access_s"), 1))
        return t

    def _slos(self) -> Table:
        t = Table(title="SLOs", box=box.SIMPLE_HEAD, expand=True, title_justify="left")
        t.add_column("", no_wrap=True)
        t.add_column("SLO", ratio=1)
        t.add_column("observed", justify="right", no_wrap=True)
        t.add_column("threshold", justify="right", no_wrap=True)
        for slo in self.report.summary.get("slos", []):
            mark = Text("PASS", style="green") if slo["passed"] else Text("FAIL", style="bold red")
            t.add_row(mark, slo["name"], observed(slo), threshold(slo))
        return t

    def _faults(self) -> Group | Text:
        faults = self.report.faults()
        if not faults:
            return Text("No faults were injected.", style="dim")
        lines = [Text("Faults (as they were really on)", style="bold italic")]
        for f in faults:
            how = "by hand  " if f.get("manual") else ""
            line = Text(f"  {f['start']:>5.1f}-{f['end']:<5.1f} s  {how}{f['label']}")
            effect = effect_text(f)
            if effect:
                line.append(f"  {effect}", style="bold yellow" if "no effect" in effect else "")
            lines.append(line)
        rec = recovery_text(self.report.summary, short=True)
        lines.append(Text(f"  recovery: {rec or 'not reached'}"))
        return Group(*lines)


def render_terminal(report: RunReport, console: Console | None = None) -> None:
    (console or Console()).print(TerminalReport(report))
