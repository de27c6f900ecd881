"""A self-contained HTML report: inline SVG charts (fault windows shaded), the same tables
as the terminal (rich's recorded console), and the chart data as embedded JSON.

No network resources: it opens from a CI artifact with nothing else around it.
"""

from __future__ import annotations

import html
import io
import json
from typing import Any

from rich.console import Console

from fleetchaos.reports.model import RunReport
from fleetchaos.reports.terminal import TerminalReport

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 720, 200, 56, 12, 14, 28
SHADE = ["#fde2e1", "#fff1c2", "#dbeafe", "#e9d5ff"]


def _chart(title: str, t: list[float], values: list[Any], windows: list[tuple[float, float, str]],
           *, unit: str, color: str, fmt: str = "{:g}") -> str:
    points = [(x, y) for x, y in zip(t, values, strict=True) if y is not None]
    xmax = max([*t, *(w[1] for w in windows), 1.0])
    ymax = max([y for _, y in points] + [1e-9]) * 1.1
    def sx(x: float) -> float:
        return float(PAD_L + (W - PAD_L - PAD_R) * x / xmax)
    def sy(y: float) -> float:
        return float(PAD_T + (H - PAD_T - PAD_B) * (1 - y / ymax))
    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(title)}">']
    for i, (a, b, label) in enumerate(windows):
        parts.append(f'<rect x="{sx(a):.1f}" y="{PAD_T}" width="{max(1.0, sx(b) - sx(a)):.1f}" '
                     f'height="{H - PAD_T - PAD_B}" fill="{SHADE[i % len(SHADE)]}">'
                     f"<title>{html.escape(label)}</title></rect>")
        parts.append(f'<text x="{sx(a) + 3:.1f}" y="{PAD_T + 11}" font-size="10" '
                     f'fill="#7f1d1d">{html.escape(label)}</text>')
    for frac in (0, 0.5, 1):
        y = ymax / 1.1 * frac
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
                     'stroke="#e5e7eb"/>')
        parts.append(f'<text x="{PAD_L - 4}" y="{sy(y) + 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#6b7280">{fmt.format(y)}</text>')
    step = max(10, int(xmax / 6 / 10) * 10)
    for x in range(0, int(xmax) + 1, step):
        parts.append(f'<text x="{sx(x):.1f}" y="{H - 8}" font-size="10" text-anchor="middle" '
                     f'fill="#6b7280">{x}s</text>')
    if points:
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}"
                        for i, (x, y) in enumerate(points))
        parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
    parts.append("</svg>")
    return (f'<figure><figcaption>{html.escape(title)} <small>({html.escape(unit)})</small>'
            f"</figcaption>{''.join(parts)}</figure>")


def render_html(report: RunReport) -> str:
    series = report.series()
    windows = report.fault_windows()
    console = Console(record=True, width=100, color_system="truecolor", file=io.StringIO())
    console.print(TerminalReport(report))
    tables = console.export_html(inline_styles=True, code_format="<pre class='rich'>{code}</pre>")
    charts = "".join([
        _chart("p95 latency of all requests", series["t"], series["p95_ms"], windows,
               unit="ms", color="#2563eb"),
        _chart("Share of phone API answers that were 5xx", series["t"],
               series["error_5xx_ratio"], windows, unit="ratio", color="#dc2626",
               fmt="{:.0%}"),
        _chart("Stranded drivers (cumulative)", series["t"], series["stranded_cumulative"],
               windows, unit="drivers", color="#9333ea", fmt="{:.0f}"),
        _chart("Telemetry records acked per second", series["t"],
               series["telemetry_acked_per_s"], windows, unit="records/s", color="#059669",
               fmt="{:.0f}"),
    ])
    data = json.dumps({"series": series, "fault_windows": windows,
                       "summary": report.summary}, default=str).replace("</", "<\\/")
    verdict = report.verdict
    title = html.escape(str(report.summary.get("title") or report.summary.get("scenario")))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>fleetchaos: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px auto; max-width: 980px; color: #111827; }}
h1 {{ font-size: 22px; margin-bottom: 4px; }}
.verdict {{ display: inline-block; padding: 2px 10px; border-radius: 6px; color: white;
  background: {"#16a34a" if verdict == "pass" else "#dc2626" if verdict == "fail" else "#ca8a04"}; }}
.headline {{ font-size: 16px; margin: 12px 0 20px; }}
figure {{ margin: 0 0 18px; }} figcaption {{ font-weight: 600; margin-bottom: 4px; }}
svg {{ width: 100%; height: auto; background: #fafafa; border: 1px solid #e5e7eb; }}
pre.rich {{ font-size: 12px; line-height: 1.25; overflow-x: auto; }}
</style></head><body>
<h1>{title}</h1>
<div>scenario <code>{html.escape(str(report.summary.get("scenario")))}</code> ·
run <code>{html.escape(str(report.summary.get("run_id")))}</code> ·
<span class="verdict">{verdict.upper()}</span></div>
<p class="headline">{html.escape(report.headline())}</p>
{charts}
<h2>Report</h2>
{tables}
<script type="application/json" id="chart-data">{data}</script>
</body></html>
"""

