"""A self-contained HTML report: the run's facts (date, duration, host, versions), a
timeline strip, inline SVG charts with the phases as bands and every fault (scheduled or
added by hand) shaded and labelled, the phone API per action (unlock first) apart from
telemetry, the same tables as the terminal (rich's recorded console), and the chart data
as embedded JSON.

No network resources: it opens from a CI artifact with nothing else around it. Every
data point carries an SVG ``<title>``, so hovering shows its value; the layout is one
column that reads at 800 px.
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from fleetchaos.reports.format import (
    SLO_MARKS,
    dash,
    effect_text,
    num,
    observed,
    slo_status,
    started_text,
    threshold,
    verdict_reason,
)
from fleetchaos.reports.run.report import FaultWindow, RunReport, duration_text
from fleetchaos.reports.run.terminal import TerminalReport
from fleetchaos.scenarios.records import PhaseSpan

W, PAD_L, PAD_R = 720, 56, 12
PHASE_H = 16        # the phase band above every plot
PLOT_H = 150
PAD_B = 26
FAULT_FILL = ["#fecaca", "#fde68a", "#bfdbfe", "#ddd6fe", "#bbf7d0"]
FAULT_INK = ["#991b1b", "#92400e", "#1e40af", "#5b21b6", "#166534"]
PHASE_FILL = ["#e5e7eb", "#f3f4f6"]
LINE_COLORS = ["#dc2626", "#2563eb", "#059669", "#d97706", "#7c3aed", "#0891b2"]
MAX_API_ACTIONS = 6

Line = tuple[str, Sequence[float | None], str]  # name, values (None = no data), colour


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


class _Axes:
    """Time (x) and value (y) scales of one chart."""

    def __init__(self, xmax: float, ymax: float, label_rows: int) -> None:
        self.xmax = max(xmax, 1.0)
        self.ymax = ymax
        self.top = PHASE_H + 4 + 12 * label_rows
        self.height = self.top + PLOT_H + PAD_B

    def x(self, t: float) -> float:
        return PAD_L + (W - PAD_L - PAD_R) * min(max(t, 0.0), self.xmax) / self.xmax

    def y(self, v: float) -> float:
        return self.top + PLOT_H * (1 - v / self.ymax)


def _time_ticks(ax: _Axes) -> list[str]:
    raw = ax.xmax / 6
    step = next((s for s in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600) if s >= raw), None)
    if step is None:  # long runs (or a journal with odd times): 1-2-5 steps, at most ~12 ticks
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [f'<text x="{ax.x(i * step):.1f}" y="{ax.height - 8}" font-size="10" '
            f'text-anchor="middle" fill="#4b5563">{i * step:g}s</text>'
            for i in range(int(ax.xmax // step) + 1)]


def _phase_bands(ax: _Axes, phases: tuple[PhaseSpan, ...]) -> list[str]:
    out = []
    for i, p in enumerate(phases):
        a, b = float(p.start_s), float(p.end_s)
        x0, x1 = ax.x(a), ax.x(b)
        tip = f"phase {p.name}: {a:g}-{b:g} s"
        out.append(f'<g class="phase"><title>{_esc(tip)}</title>'
                   f'<rect x="{x0:.1f}" y="0" width="{max(1.0, x1 - x0):.1f}" height="{PHASE_H}" '
                   f'fill="{PHASE_FILL[i % 2]}" stroke="#9ca3af" stroke-width="0.5"/>'
                   f'<text x="{x0 + 4:.1f}" y="{PHASE_H - 4}" font-size="10" fill="#111827">'
                   f"{_esc(p.name)}</text></g>")
        if i:
            out.append(f'<line x1="{x0:.1f}" x2="{x0:.1f}" y1="{PHASE_H}" '
                       f'y2="{ax.top + PLOT_H}" stroke="#6b7280" stroke-dasharray="3,3"/>')
    return out


def _fault_label(f: FaultWindow) -> str:
    return ("by hand: " if f.manual else "") + f.label


def _fault_shading(ax: _Axes, faults: list[FaultWindow]) -> list[str]:
    out = []
    for i, f in enumerate(faults):
        x0, x1 = ax.x(f.start), ax.x(f.end)
        label = _fault_label(f)
        tip = f"{label}: {f.start:.1f}-{f.end:.1f} s"
        if f.ended_by:
            tip += f" (ended: {f.ended_by})"
        effect = effect_text(f.effect, manual=f.manual)
        if effect:
            tip += f"; {effect}"
        outline = ' stroke="#6b7280" stroke-dasharray="4,2"' if f.manual else ""
        row_y = PHASE_H + 14 + 12 * (i % max(1, (ax.top - PHASE_H - 4) // 12))
        out.append(f'<g class="fault"><title>{_esc(tip)}</title>'
                   f'<rect x="{x0:.1f}" y="{PHASE_H + 2}" width="{max(2.0, x1 - x0):.1f}" '
                   f'height="{ax.top + PLOT_H - PHASE_H - 2:.1f}" '
                   f'fill="{FAULT_FILL[i % len(FAULT_FILL)]}" fill-opacity="0.55"{outline}/>'
                   f'<text x="{x0 + 3:.1f}" y="{row_y}" font-size="10" '
                   f'fill="{FAULT_INK[i % len(FAULT_INK)]}">{_esc(label)}</text></g>')
    return out


def _chart(title: str, t: Sequence[float], lines: list[Line], report: RunReport, *, unit: str,
           fmt: str = "{:g}", ymax: float | None = None, note: str = "") -> str:
    faults = report.faults()
    phases = report.phases()
    values = [v for _, vs, _ in lines for v in vs if v is not None]
    top = ymax if ymax is not None else max([*values, 1e-9]) * 1.1
    xmax = max([*t, *(f.end for f in faults), *(float(p.end_s) for p in phases), 1.0])
    ax = _Axes(xmax, top, min(3, len(faults)))
    parts = [f'<svg viewBox="0 0 {W} {ax.height}" role="img" aria-label="{_esc(title)}">']
    parts += _phase_bands(ax, phases)
    parts += _fault_shading(ax, faults)
    for frac in (0, 0.5, 1):
        v = top / (1.1 if ymax is None else 1) * frac
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{ax.y(v):.1f}" y2="{ax.y(v):.1f}" '
                     'stroke="#d1d5db"/>')
        parts.append(f'<text x="{PAD_L - 4}" y="{ax.y(v) + 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#4b5563">{fmt.format(v)}</text>')
    parts += _time_ticks(ax)
    # the first line (unlock) is drawn last, thicker: on top of the others
    for rank, (name, vs, color) in reversed(list(enumerate(lines))):
        points = sorted((x, y) for x, y in zip(t, vs, strict=False) if y is not None)
        if not points:
            continue
        path = " ".join(f"{'M' if i == 0 else 'L'}{ax.x(x):.1f},{ax.y(y):.1f}"
                        for i, (x, y) in enumerate(points))
        width = 3 if rank == 0 and len(lines) > 1 else 2
        parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="{width}">'
                     f"<title>{_esc(name)}</title></path>")
        for x, y in points:
            parts.append(f'<circle cx="{ax.x(x):.1f}" cy="{ax.y(y):.1f}" r="2.5" fill="{color}">'
                         f"<title>{_esc(name)} at {x:g} s: {_esc(fmt.format(y))} {_esc(unit)}"
                         "</title></circle>")
    parts.append("</svg>")
    legend = "".join(f'<span class="key"><i style="background:{c}"></i>{_esc(n)}</span>'
                     for n, vs, c in lines if any(v is not None for v in vs))
    if not legend:
        legend = '<span class="key">no data</span>'
    caption = (f"{_esc(title)} <small>({_esc(unit)})</small>"
               f'<div class="legend">{legend}</div>'
               + (f'<div class="note">{_esc(note)}</div>' if note else ""))
    return f"<figure><figcaption>{caption}</figcaption>{''.join(parts)}</figure>"


def _timeline_strip(report: RunReport) -> str:
    """Phases on one row, then one row per fault: what was on, when, scheduled or by hand."""
    faults, phases = report.faults(), report.phases()
    xmax = max([report.run_end(), *(f.end for f in faults), *(float(p.end_s) for p in phases),
                1.0])
    row = 18
    ax = _Axes(xmax, 1.0, 0)
    height = PHASE_H + 6 + row * max(1, len(faults)) + PAD_B
    ax.height = height
    parts = [f'<svg viewBox="0 0 {W} {height}" role="img" aria-label="timeline">']
    parts += _phase_bands(ax, phases)
    for i, f in enumerate(faults):
        y = PHASE_H + 6 + row * i
        x0, x1 = ax.x(f.start), ax.x(f.end)
        label = _fault_label(f)
        effect = effect_text(f.effect, manual=f.manual)
        tip = f"{label}: {f.start:.1f}-{f.end:.1f} s" + (f"; {effect}" if effect else "")
        right = x0 > W * 0.55  # labels of late faults end at the bar, inside the chart
        anchor, anchor_x = ("end", x1 - 4) if right else ("start", x0 + 4)
        parts.append(f'<g class="fault"><title>{_esc(tip)}</title>'
                     f'<rect x="{x0:.1f}" y="{y}" width="{max(2.0, x1 - x0):.1f}" height="{row - 4}" '
                     f'fill="{FAULT_FILL[i % len(FAULT_FILL)]}" stroke="{FAULT_INK[i % len(FAULT_INK)]}" '
                     f'stroke-width="0.8"/>'
                     f'<text x="{anchor_x:.1f}" y="{y + row - 8}" font-size="11" '
                     f'text-anchor="{anchor}" fill="{FAULT_INK[i % len(FAULT_INK)]}">{_esc(label)} '
                     f"({f.start:.0f}-{f.end:.0f} s)</text></g>")
    if not faults:
        parts.append(f'<text x="{PAD_L}" y="{PHASE_H + 18}" font-size="11" fill="#4b5563">'
                     "no fault was injected</text>")
    parts += _time_ticks(ax)
    parts.append("</svg>")
    return ('<figure id="timeline"><figcaption>Timeline <small>(phases; faults as they were '
            f"really on)</small></figcaption>{''.join(parts)}</figure>")


def _facts(report: RunReport) -> str:
    h = report.header
    target, fleet = h.target, h.fleet
    rows = [("date", started_text(h.started_at)), ("duration", duration_text(report)),
            ("host", h.hostname or "-"),
            ("backend", f"{dash(target.host)} (profile {dash(target.profile)})"),
            ("Toxiproxy", dash(target.toxiproxy_server)),
            ("fleet", f"{num(fleet.cars)} cars, {num(fleet.drivers)} drivers, "
                      f"retry {dash(fleet.retry_policy)}"),
            ("run", f"{report.run_id} · seed {report.seed}"),
            ("versions", " · ".join(f"{k} {v}" for k, v in (h.versions or {}).items()) or "-")]
    cells = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts">{cells}</table>'


def _reason(report: RunReport) -> str:
    """Why a run has no verdict on its SLOs (a child of the run died: which, and when)."""
    reason = verdict_reason(report.summary)
    if report.verdict != "error" or not reason:
        return ""
    return f'<p class="reason" id="verdict-reason">{_esc(reason)}</p>'


def _slo_table(report: RunReport) -> str:
    rows = []
    for slo in report.summary.slos:
        mark = SLO_MARKS[slo_status(slo)]
        kind = {"PASS": "pass", "FAIL": "fail"}.get(mark, "unjudged")
        rows.append(f'<tr class="{kind}"><td class="mark">'
                    f'{mark}</td><td>{_esc(slo.name)}</td>'
                    f"<td>{_esc(observed(slo))}</td><td>{_esc(threshold(slo))}</td></tr>")
    if not rows:
        return ""
    return ('<table class="slos"><tr><th></th><th>SLO</th><th>observed</th><th>threshold</th>'
            f"</tr>{''.join(rows)}</table>")


def render_html(report: RunReport) -> str:
    series = report.series()
    t = series.t
    actions = report.api_actions()[:MAX_API_ACTIONS]
    per_action = report.action_series(actions)
    colors = {a: LINE_COLORS[i % len(LINE_COLORS)] for i, a in enumerate(actions)}
    charts = "".join([
        _chart("Phone API success per action (share of 2xx answers)", t,
               [(a, per_action[a].success_ratio, colors[a]) for a in actions], report,
               unit="ratio", fmt="{:.0%}", ymax=1.0),
        _chart("Phone API p95 latency per action", t,
               [(a, per_action[a].p95_ms, colors[a]) for a in actions], report, unit="ms",
               fmt="{:,.0f}"),
        _chart("Share of phone API answers that were 5xx", t,
               [("all phone API actions", series.error_5xx_ratio, "#dc2626")], report,
               unit="ratio", fmt="{:.0%}"),
        _chart("Stranded drivers (cumulative)", t,
               [("stranded", series.stranded_cumulative, "#9333ea")], report,
               unit="drivers", fmt="{:g}"),
        _chart("Telemetry records acked per second", t,
               [("acked", series.telemetry_acked_per_s, "#059669")], report,
               unit="records/s", fmt="{:,.0f}"),
        _chart("Telemetry p95 latency (send to ack)", t,
               [("telemetry", series.telemetry_p95_ms, "#0891b2")], report, unit="ms",
               fmt="{:,.0f}", note="cars wait for an ack up to their timeout: telemetry "
                                   "sits apart from the phone API on purpose"),
    ])
    broker = report.broker_series()
    if broker.t:
        charts += _chart("MQTT broker messages per second ($SYS)", broker.t,
                         [("in", broker.messages_in_per_s, "#2563eb"),
                          ("out", broker.messages_out_per_s, "#059669"),
                          ("dropped", broker.dropped_per_s, "#dc2626")], report,
                         unit="messages/s", fmt="{:,.0f}",
                         note="one point per $SYS update: the rate since the previous one")
    console = Console(record=True, width=96, color_system="truecolor", file=io.StringIO())
    console.print(TerminalReport(report))
    tables = console.export_html(inline_styles=True, code_format="<pre class='rich'>{code}</pre>")
    faults = report.faults()
    chart_data: dict[str, Any] = {
        "series": series.to_json(), "actions": {a: v.to_json() for a, v in per_action.items()},
        "fault_windows": report.fault_windows(), "faults": [f.to_json() for f in faults],
        "phases": [p.to_json() for p in report.phases()], "summary": report.summary.to_json()}
    if broker.t:
        chart_data["broker"] = {"series": broker.to_json(),
                                "phases": [b.to_json() for b in report.broker_phases()]}
    data = json.dumps(chart_data, default=str).replace("</", "<\\/")
    verdict = report.verdict
    title = _esc(report.title)
    badge = {"pass": "#16a34a", "fail": "#dc2626"}.get(verdict, "#ca8a04")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fleetchaos: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 16px auto; max-width: 980px; padding: 0 12px;
  color: #111827; }}
h1 {{ font-size: 22px; margin: 0 0 6px; }}
.verdict {{ display: inline-block; padding: 2px 10px; border-radius: 6px; color: white;
  font-weight: 700; background: {badge}; }}
.headline {{ font-size: 16px; margin: 10px 0 14px; }}
table.facts, table.slos {{ border-collapse: collapse; font-size: 13px; margin: 0 0 14px; }}
table.facts th {{ text-align: left; color: #4b5563; font-weight: 500; padding: 1px 12px 1px 0; }}
table.slos td, table.slos th {{ padding: 3px 10px 3px 0; text-align: left; }}
tr.fail .mark {{ color: #b91c1c; font-weight: 700; }} tr.pass .mark {{ color: #15803d; }}
tr.unjudged .mark {{ color: #6b7280; }}
.reason {{ color: #b91c1c; font-weight: 600; margin: 8px 0 0; }}
figure {{ margin: 0 0 18px; }} figcaption {{ font-weight: 600; margin-bottom: 4px; }}
.legend {{ font-weight: 400; font-size: 12px; }} .note {{ font-weight: 400; font-size: 12px;
  color: #4b5563; }}
.key {{ margin-right: 12px; white-space: nowrap; }}
.key i {{ display: inline-block; width: 12px; height: 3px; margin-right: 4px;
  vertical-align: middle; }}
svg {{ width: 100%; height: auto; background: #fafafa; border: 1px solid #e5e7eb; }}
pre.rich {{ font-size: 11px; line-height: 1.25; overflow-x: auto; }}
</style></head><body>
<h1>{title}</h1>
<div><span class="verdict" id="verdict">{verdict.upper()}</span>
scenario <code>{_esc(report.scenario)}</code></div>
{_reason(report)}
<p class="headline">{_esc(report.headline())}</p>
{_slo_table(report)}
{_facts(report)}
{_timeline_strip(report)}
{charts}
<h2>Report</h2>
{tables}
<script type="application/json" id="chart-data">{data}</script>
</body></html>
"""
