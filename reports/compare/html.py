"""`fleetchaos compare --html`: the two runs' time series overlaid, and the comparison tables.

A side given as a summary file has no time series: its charts are left out and the
page says so, the tables are the same.
"""

from __future__ import annotations

import html
import io
import json

from rich.console import Console

from fleetchaos.reports.chart import CHART_STYLE, PAGE_STYLE, Band, Series, chart
from fleetchaos.reports.compare.comparison import Comparison, RunInput
from fleetchaos.reports.compare.terminal import CompareReport
from fleetchaos.reports.run.report import RunReport

CHARTS = [  # series key, title, unit, number format, whole numbers
    ("unlock_success_ratio", "Unlock success ratio", "ratio", "{:.0%}", False),
    ("error_5xx_ratio", "Share of phone API answers that were 5xx", "ratio", "{:.1%}", False),
    ("p95_ms", "p95 latency of all requests", "ms", "{:,.0f}", False),
    ("stranded_cumulative", "Stranded (cumulative, attempts)", "attempts", "{:,.0f}", True),
    ("telemetry_acked_per_s", "Telemetry records acked per second", "records/s", "{:,.0f}",
     True),
]


def _report(side: RunInput) -> RunReport | None:
    if side.journal is None or not side.journal.samples:
        return None
    return RunReport.from_journal(side.journal)


def render_compare_html(c: Comparison) -> str:
    base, new = _report(c.base), _report(c.new)
    charts = []
    if base is not None and new is not None:
        bs, ns = base.series(), new.series()
        phases = [Band(float(p.start_s), float(p.end_s), p.name,
                       "#e5e7eb" if i % 2 == 0 else "#f3f4f6")
                  for i, p in enumerate(new.phases())]
        faults = [Band(a, b, label, "#fecaca", "#991b1b") for a, b, label in new.fault_windows()]
        xmax = max([*bs.t, *ns.t, *(b.end for b in (*phases, *faults)), 1.0])
        for key, title, unit, fmt, integer in CHARTS:
            lines = [Series(f"BASE {c.base.label}", getattr(bs, key), "#6b7280", dashed=True,
                            xs=bs.t),
                     Series(f"NEW {c.new.label}", getattr(ns, key), "#ea580c", xs=ns.t)]
            charts.append(chart(title, sorted({*bs.t, *ns.t}), lines, unit=unit,
                                fmt=fmt.format, xmax=xmax, phases=phases, faults=faults,
                                integer=integer))
    else:
        charts.append("<p><em>No charts: a side was given as a summary file, which holds no "
                      "time series. Compare the journals (*.journal.jsonl) to see them.</em></p>")
    console = Console(record=True, width=110, color_system="truecolor", file=io.StringIO())
    console.print(CompareReport(c))
    tables = console.export_html(inline_styles=True, code_format="<pre class='rich'>{code}</pre>")
    data = json.dumps({"base": c.base.data, "new": c.new.data,
                       "regressions": [r.name if r.group == "slo" else f"{r.group} {r.metric}"
                                       for r in c.regressions]},
                      default=str).replace("</", "<\\/")
    scenario = html.escape(str(c.new.summary.scenario))
    gate = "REGRESSION" if c.regressions else "NO REGRESSION"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>fleetchaos compare: {scenario}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{PAGE_STYLE}{CHART_STYLE}</style></head><body>
<h1>Compare: {scenario}</h1>
<div>BASE <code>{html.escape(c.base.label)}</code> (dashed) · NEW
<code>{html.escape(c.new.label)}</code> (solid) ·
<span class="verdict {"bad" if c.regressions else "good"}">{gate}</span></div>
<p>{html.escape(c.headline())}</p>
{"".join(charts)}
<h2>Figures</h2>
{tables}
<script type="application/json" id="compare-data">{data}</script>
</body></html>
"""
