"""A self-contained HTML report: the verdict and the headline, the SLOs (observed, the
samples each stands on), the run's configuration and facts (date, duration, host,
versions), a timeline strip, charts with the phases as bands and every fault (scheduled
or added by hand) shaded and labelled (``reports/chart.py``: lines break where there is
no data, round axis values, text that stays readable at 390 px), the phone API per action
(unlock first) apart from telemetry, the same tables as the terminal (rich's recorded
console), and the chart data as embedded JSON.

No network resources: it opens from a CI artifact with nothing else around it. Every
data point has a hover title; the layout is one column from 390 px to 1280 px.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from fleetchaos.reports.chart import CHART_STYLE, Band, Series, chart, time_step
from fleetchaos.reports.format import (
    config_items,
    delivery_text,
    effect_text,
    observed,
    samples,
    slo_mark,
    started_text,
    threshold,
    verdict_reason,
)
from fleetchaos.reports.run.report import FaultWindow, RunReport, duration_text
from fleetchaos.reports.run.terminal import TerminalReport

FAULT_FILL = ["#fecaca", "#fde68a", "#bfdbfe", "#ddd6fe", "#bbf7d0"]
FAULT_INK = ["#991b1b", "#92400e", "#1e40af", "#5b21b6", "#166534"]
PHASE_FILL = ["#e5e7eb", "#f3f4f6"]
LINE_COLORS = ["#dc2626", "#2563eb", "#059669", "#d97706", "#7c3aed", "#0891b2"]
MAX_API_ACTIONS = 6


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fault_label(f: FaultWindow) -> str:
    return ("by hand: " if f.manual else "") + f.label


def _fault_tip(f: FaultWindow) -> str:
    tip = f"{_fault_label(f)}: {f.start:.1f}-{f.end:.1f} s"
    if f.ended_by:
        tip += f" (ended: {f.ended_by})"
    effect = effect_text(f.effect, manual=f.manual)
    return tip + (f"; {effect}" if effect else "")


class _Canvas:
    """What every chart of one report shares: its time axis, phases and faults."""

    def __init__(self, report: RunReport) -> None:
        faults, phases = report.faults(), report.phases()
        self.xmax = max([report.run_end(), *(f.end for f in faults),
                         *(float(p.end_s) for p in phases), 1.0])
        self.phases = [Band(float(p.start_s), float(p.end_s), p.name, PHASE_FILL[i % 2],
                            tip=f"phase {p.name}: {p.start_s:g}-{p.end_s:g} s")
                       for i, p in enumerate(phases)]
        self.faults = [Band(f.start, f.end, _fault_label(f), FAULT_FILL[i % len(FAULT_FILL)],
                            FAULT_INK[i % len(FAULT_INK)], _fault_tip(f), f.manual)
                       for i, f in enumerate(faults)]

    def chart(self, title: str, t: Sequence[float], series: list[Series], *, unit: str,
              fmt: str, ymax: float | None = None, integer: bool = False,
              note: str = "") -> str:
        return chart(title, t, series, unit=unit, fmt=fmt.format, xmax=self.xmax,
                     phases=self.phases, faults=self.faults, ymax=ymax, integer=integer,
                     note=note)


def _timeline_strip(report: RunReport, canvas: _Canvas) -> str:
    """Phases on one row, then one row per fault: what was on, when, scheduled or by hand;
    each label inside its bar (cut there; the list below and the hover say it whole)."""
    xmax = canvas.xmax

    def left(t: float) -> str:
        return f"{100 * min(max(t, 0.0), xmax) / xmax:.3f}%"

    rows = []
    for p in canvas.phases:
        rows.append(f'<div class="band phase" style="left:{left(p.start)};width:calc('
                    f'{left(p.end)} - {left(p.start)});background:{p.fill}" '
                    f'title="{_esc(p.tip)}"><span>{_esc(p.label)}</span></div>')
    items = []
    judged = {str(f.step): f for f in report.summary.faults}
    for i, (band, f) in enumerate(zip(canvas.faults, report.faults(), strict=True)):
        rows.append(f'<div class="band fault bar{" manual" if band.outline else ""}" '
                    f'style="left:{left(band.start)};width:max(2px, calc({left(band.end)} - '
                    f'{left(band.start)}));top:{18 * (i + 1) + 2}px;height:14px;'
                    f'background:{band.fill};border:1px solid {band.ink}" '
                    f'title="{_esc(band.tip)}"><span style="color:{band.ink}">{i + 1}. '
                    f"{_esc(band.label)}</span></div>")
        effect = "; ".join(x for x in (effect_text(f.effect, manual=f.manual),
                                       delivery_text(judged.get(f.step))) if x)  # asked vs delivered
        late = judged[f.step].timing_note if f.step in judged else None
        items.append(f'<li><b style="color:{band.ink}">{_esc(band.label)}</b> '
                     f"{f.start:.1f}-{f.end:.1f} s{' · ' + _esc(effect) if effect else ''}"
                     f"""{f' · <span class="late">{_esc(late)}</span>' if late else ''}</li>""")
    height = 18 * (len(canvas.faults) + 1) + 22
    step = time_step(xmax)
    ticks = "".join(f'<span style="left:{left(i * step)}">{i * step:g}s</span>'
                    for i in range(int(xmax // step) + 1))
    listing = (f'<ol class="faults">{"".join(items)}</ol>' if items
               else '<p class="note">no fault was injected</p>')
    return (f'<figure id="timeline" class="chart"><figcaption>Timeline <small>(phases; faults '
            f'as they were really on)</small></figcaption><div class="plot" style="height:'
            f'{height}px"><div class="yaxis"></div><div class="area">{"".join(rows)}'
            f'<div class="xaxis" style="top:{height - 20}px">{ticks}</div></div></div>'
            f"{listing}</figure>")


def _facts(report: RunReport) -> str:
    """The run's facts and its configuration (the summary's ``config``)."""
    h = report.header
    rows = [("date", started_text(h.started_at)), ("duration", duration_text(report)),
            ("machine", h.hostname or "-"), ("run", report.run_id),
            *config_items(report.summary.config),
            ("versions", " · ".join(f"{k} {v}" for k, v in (h.versions or {}).items()) or "-")]
    cells = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table class="facts" id="config">{cells}</table></div>'


def _reason(report: RunReport) -> str:
    """Why a run has no verdict on its SLOs (a child of the run died: which, and when)."""
    reason = verdict_reason(report.summary)
    if report.verdict != "error" or not reason:
        return ""
    return f'<p class="reason" id="verdict-reason">{_esc(reason)}</p>'


def _slo_table(report: RunReport) -> str:
    rows = []
    for slo in report.summary.slos:
        mark = slo_mark(slo)
        css = mark.lower().replace(" ", "-")
        rows.append(f'<tr class="{css}"><td class="mark">{mark}</td><td>{_esc(slo.name)}</td>'
                    f'<td class="num">{_esc(observed(slo))}</td>'
                    f'<td class="num">{_esc(samples(slo))}</td>'
                    f'<td class="num">{_esc(threshold(slo))}</td></tr>')
    if not rows:
        return ""
    return ('<div class="scroll"><table class="slos"><tr><th></th><th>SLO</th><th>observed</th>'
            f"<th>samples</th><th>threshold</th></tr>{''.join(rows)}</table></div>")


def render_html(report: RunReport) -> str:
    series = report.series()
    t = series.t
    canvas = _Canvas(report)
    actions = report.api_actions()[:MAX_API_ACTIONS]
    per_action = report.action_series(actions)
    colors = {a: LINE_COLORS[i % len(LINE_COLORS)] for i, a in enumerate(actions)}
    widths = {a: 3.0 if i == 0 and len(actions) > 1 else 2.0 for i, a in enumerate(actions)}
    charts = "".join([
        canvas.chart("Phone API success per action (share of 2xx answers)", t,
                     [Series(a, per_action[a].success_ratio, colors[a], widths[a])
                      for a in actions], unit="ratio", fmt="{:.0%}", ymax=1.0),
        canvas.chart("Phone API p95 latency per action", t,
                     [Series(a, per_action[a].p95_ms, colors[a], widths[a]) for a in actions],
                     unit="ms", fmt="{:,.0f}"),
        canvas.chart("Share of phone API answers that were 5xx", t,
                     [Series("all phone API actions", series.error_5xx_ratio, "#dc2626")],
                     unit="ratio", fmt="{:.0%}"),
        canvas.chart("Stranded drivers (cumulative, attempts)", t,
                     [Series("stranded", series.stranded_cumulative, "#9333ea")],
                     unit="attempts", fmt="{:,.0f}", integer=True),
        canvas.chart("Telemetry records acked per second", t,
                     [Series("acked", series.telemetry_acked_per_s, "#059669")],
                     unit="records/s", fmt="{:,.0f}", integer=True),
        canvas.chart("Telemetry p95 latency (send to ack)", t,
                     [Series("telemetry", series.telemetry_p95_ms, "#0891b2")], unit="ms",
                     fmt="{:,.0f}", note="cars wait for an ack up to their timeout: telemetry "
                                         "sits apart from the phone API on purpose"),
    ])
    broker = report.broker_series()
    if broker.t:
        charts += canvas.chart(
            "MQTT broker messages per second ($SYS)", broker.t,
            [Series("in", broker.messages_in_per_s, "#2563eb"),
             Series("out", broker.messages_out_per_s, "#059669"),
             Series("dropped", broker.dropped_per_s, "#dc2626")],
            unit="messages/s", fmt="{:,.0f}", integer=True,
            note="one point per $SYS update: the rate since the previous one")
    console = Console(record=True, width=100, color_system="truecolor", file=io.StringIO())
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
h1 {{ font-size: 22px; margin: 0 0 6px; overflow-wrap: anywhere; }}
.verdict {{ display: inline-block; padding: 2px 10px; border-radius: 6px; color: white;
  font-weight: 700; background: {badge}; }}
.headline {{ font-size: 16px; margin: 10px 0 14px; }}
.scroll {{ overflow-x: auto; max-width: 100%; }}
table.facts, table.slos {{ border-collapse: collapse; font-size: 13px; margin: 0 0 14px; }}
table.facts th {{ text-align: left; color: #4b5563; font-weight: 500; padding: 1px 12px 1px 0;
  vertical-align: top; white-space: nowrap; }}
table.facts td {{ overflow-wrap: anywhere; }}
table.slos td, table.slos th {{ padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }}
table.slos td.num {{ text-align: right; white-space: nowrap; }}
tr.fail .mark {{ color: #b91c1c; font-weight: 700; }} tr.pass .mark {{ color: #15803d; }}
tr.insufficient .mark, tr.not-judged .mark {{ color: #6b7280; font-weight: 700; }}
.plot .fault.bar {{ opacity: 1; }}
ol.faults {{ font-size: 12px; margin: 6px 0 0; padding-left: 20px; }}
ol.faults .late {{ color: #b45309; }}
.reason {{ color: #b91c1c; font-weight: 600; margin: 8px 0 0; }}
pre.rich {{ font-size: 11px; line-height: 1.25; overflow-x: auto; }}
{CHART_STYLE}
</style></head><body>
<h1>{title}</h1>
<div><span class="verdict" id="verdict">{verdict.upper()}</span>
scenario <code>{_esc(report.scenario)}</code></div>
{_reason(report)}
<p class="headline" id="headline">{_esc(report.headline())}</p>
{_slo_table(report)}
{_facts(report)}
{_timeline_strip(report, canvas)}
{charts}
<h2>Report</h2>
{tables}
<script type="application/json" id="chart-data">{data}</script>
</body></html>
"""
