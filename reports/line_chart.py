"""Inline SVG line charts with several series on one set of axes (no scripts, no network).

The sweep's report draws one line per combination against a swept value (categories on
x), with a legend and the SLO's threshold. As in the run report's charts
(``reports/chart.py``), a line stops where a value is missing (a combination without an
observation) instead of joining its neighbours, and the y axis ends on a round value.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from fleetchaos.reports.chart import nice_ticks, segments, time_step

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 720, 220, 56, 12, 26, 30
SHADE = ["#fde2e1", "#fff1c2", "#dbeafe", "#e9d5ff"]
COLORS = ["#6b7280", "#ea580c", "#2563eb", "#16a34a", "#9333ea", "#dc2626", "#0891b2"]


@dataclass(frozen=True)
class Line:
    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    dashed: bool = False


def line_chart(title: str, lines: list[Line], *, unit: str, fmt: str = "{:g}",
               windows: list[tuple[float, float, str]] | None = None,
               x_labels: dict[float, str] | None = None, x_unit: str = "s",
               threshold: float | None = None) -> str:
    """A figure with every line on shared axes; ``x_labels`` names categorical x positions."""
    windows = windows or []
    xs_all = [x for ln in lines for x in ln.xs] + [w[1] for w in windows]
    if x_labels is None:
        xmin = min([*xs_all, 0.0])
        xmax = max([*xs_all, xmin + 1.0])
    else:  # categories: half a step of room on each side, so the end labels fit
        xs_all += list(x_labels)
        ordered = sorted(set(xs_all))
        step = min((b - a for a, b in itertools.pairwise(ordered)), default=1.0)
        xmin, xmax = min(xs_all) - step / 2, max(xs_all) + step / 2
    ys_all = [y for ln in lines for y in ln.ys if y is not None]
    if threshold is not None:
        ys_all.append(threshold)
    ticks = nice_ticks(max(ys_all, default=0.0))  # all zeros: an axis of 0..1
    ymax = ticks[-1]

    def sx(x: float) -> float:
        return PAD_L + (W - PAD_L - PAD_R) * (x - xmin) / (xmax - xmin)

    def sy(y: float) -> float:
        return PAD_T + (H - PAD_T - PAD_B) * (1 - y / ymax)

    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(title)}">']
    for i, (a, b, label) in enumerate(windows):
        parts.append(f'<rect x="{sx(a):.1f}" y="{PAD_T}" width="{max(1.0, sx(b) - sx(a)):.1f}" '
                     f'height="{H - PAD_T - PAD_B}" fill="{SHADE[i % len(SHADE)]}">'
                     f"<title>{html.escape(label)}</title></rect>")
    for y in ticks:
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
                     'stroke="#e5e7eb"/>')
        parts.append(f'<text x="{PAD_L - 4}" y="{sy(y) + 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#6b7280">{html.escape(fmt.format(y))}</text>')
    if x_labels is not None:
        x_ticks = sorted(x_labels.items())
    else:
        step = time_step(xmax - xmin)
        first = math.ceil(xmin / step)
        x_ticks = [(i * step, f"{i * step:g}{x_unit}")
                   for i in range(first, int(xmax // step) + 1)]
    for x, label in x_ticks:
        parts.append(f'<text x="{sx(x):.1f}" y="{H - 10}" font-size="10" text-anchor="middle" '
                     f'fill="#6b7280">{html.escape(label)}</text>')
    if threshold is not None:
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(threshold):.1f}" '
                     f'y2="{sy(threshold):.1f}" stroke="#dc2626" stroke-dasharray="2 3">'
                     f"<title>threshold {html.escape(fmt.format(threshold))}</title></line>")
    for i, ln in enumerate(lines):
        color = COLORS[i % len(COLORS)]
        points = [(x, y) for x, y in zip(ln.xs, ln.ys, strict=True) if y is not None]
        dash = ' stroke-dasharray="6 3"' if ln.dashed else ""
        runs, _gaps = segments(ln.xs, ln.ys)  # a missing value breaks the line
        path = " ".join(f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}"
                        for run in runs for j, (x, y) in enumerate(run))
        if any(len(run) > 1 for run in runs):
            parts.append(f'<path class="series" data-label="{html.escape(ln.label)}" d="{path}" '
                         f'fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        radius = 3 if len(points) <= 30 else 1.5  # dense series: dots for hover, not ink
        for x, y in points:
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{radius}" '
                         f'fill="{color}">'
                         f"<title>{html.escape(ln.label)}: {html.escape(fmt.format(y))}"
                         "</title></circle>")
        if len(lines) > 1:  # a legend only when there is something to tell apart
            parts.append(f'<rect x="{PAD_L + 8 + 170 * i}" y="6" width="12" height="4" '
                         f'fill="{color}"/><text x="{PAD_L + 24 + 170 * i}" y="12" '
                         f'font-size="10" fill="#374151">{html.escape(ln.label[:30])}</text>')
    parts.append("</svg>")
    return (f'<figure><figcaption>{html.escape(title)} <small>({html.escape(unit)})</small>'
            f"</figcaption>{''.join(parts)}</figure>")


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 980px; color: #111827; }
h1 { font-size: 22px; margin-bottom: 4px; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 6px; color: white; }
.bad { background: #dc2626; } .good { background: #16a34a; }
figure { margin: 0 0 18px; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg { width: 100%; height: auto; background: #fafafa; border: 1px solid #e5e7eb; }
pre.rich { font-size: 12px; line-height: 1.25; overflow-x: auto; }
table.runs { border-collapse: collapse; font-size: 13px; }
table.runs td, table.runs th { border: 1px solid #e5e7eb; padding: 3px 8px; text-align: left; }
"""
