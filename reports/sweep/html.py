"""`fleetchaos sweep` as HTML: a chart of each SLO against the first varied value (one line
per combination of the other varied values), the table, and the runs' journals."""

from __future__ import annotations

import html
import io
import itertools
import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console

from fleetchaos.reports.chart import CHART_STYLE, COLORS, PAGE_STYLE, Series, chart
from fleetchaos.reports.sweep.table import ComboRow, SloInfo, Sweep, combo_rows, slo_infos
from fleetchaos.reports.sweep.terminal import SweepReport


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _slo_chart(info: SloInfo, rows: list[ComboRow], key: str, values: list[str]) -> str:
    numbers = [_as_number(v) for v in values]
    numeric = all(n is not None for n in numbers)
    position = {v: (n if numeric and n is not None else float(i))
                for i, (v, n) in enumerate(zip(values, numbers, strict=True))}
    lines: dict[str, tuple[list[float], list[float | None]]] = {}
    for row in rows:
        others = " ".join(f"{k}={v}" for k, v in row.combo.items() if k != key) or info.name
        xs, ys = lines.setdefault(others, ([], []))
        cell = row.cells.get(info.name)
        xs.append(position[row.combo[key]])
        ys.append(None if cell is None else cell.observed)
    ratio = info.metric.endswith("_ratio")
    ordered = sorted(position.values())
    half = min((b - a for a, b in itertools.pairwise(ordered)), default=1.0) / 2
    fmt = "{:.1%}" if ratio else "{:,.4g}"
    return chart(f"{info.name} against {key}", ordered,
                 [Series(label, ys, COLORS[i % len(COLORS)], xs=xs)
                  for i, (label, (xs, ys)) in enumerate(lines.items())],
                 unit=info.metric, fmt=fmt.format, xmin=ordered[0] - half,
                 xmax=ordered[-1] + half, x_labels={position[v]: v for v in values},
                 threshold=info.threshold, integer=info.metric == "stranded_drivers")


def render_sweep_html(data: Mapping[str, Any]) -> str:
    """The sweep as HTML, from ``sweep.json``'s content (embedded as it is)."""
    sweep = Sweep.from_json(data)
    rows, infos = combo_rows(sweep), slo_infos(sweep)
    vary = sweep.vary
    key = next(iter(vary), "")
    charts = "".join(_slo_chart(info, rows, key, list(vary[key])) for info in infos) if key else ""
    console = Console(record=True, width=120, color_system="truecolor", file=io.StringIO())
    console.print(SweepReport(data))
    tables = console.export_html(inline_styles=True, code_format="<pre class='rich'>{code}</pre>")
    runs = "".join(
        f"<tr><td>{n}</td><td>{html.escape(' '.join(f'{k}={v}' for k, v in r.combo.items()))}"
        f"</td><td>{1 if r.repeat is None else r.repeat}</td>"
        f"<td>{html.escape(str(r.verdict))}</td>"
        f"<td><code>{html.escape(str(r.journal))}</code></td></tr>"
        for n, r in enumerate(sweep.runs, 1))
    embedded = json.dumps(data, default=str).replace("</", "<\\/")
    scenario = html.escape(str(sweep.scenario))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>fleetchaos sweep: {scenario}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{PAGE_STYLE}{CHART_STYLE}</style></head><body>
<h1>Sweep: {scenario}</h1>
<p>{html.escape("; ".join(f"{k} = {', '.join(v)}" for k, v in vary.items()))} ·
{sweep.repeat} run(s) per combination · red dotted line: the SLO's threshold</p>
{charts}
<h2>Table</h2>
{tables}
<h2>Runs</h2>
<table class="runs"><tr><th>#</th><th>combination</th><th>repeat</th><th>verdict</th>
<th>journal</th></tr>{runs}</table>
<script type="application/json" id="sweep-data">{embedded}</script>
</body></html>
"""
