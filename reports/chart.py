"""Time charts for the HTML reports: lines over time, the phases as bands, the faults
shaded, readable from a 390 px phone to a 1280 px screen (no scripts, no network).

Each chart is HTML with an SVG inside. The SVG holds only what may stretch: grid lines,
the lines themselves (``preserveAspectRatio="none"``, strokes that do not scale) and the
no-data shading. Every word and number (axis labels, phase and fault labels, the points'
hover titles) is HTML in pixels, so it stays 11 px whatever the chart's width; a fault's
label sits inside its band and is cut there with an ellipsis (its title holds it whole).

Missing data is said as such: a line stops where its series has no value (``None``: no
answer of that kind in that second) and starts again after; a stretch where no series has
data is shaded and labelled "no data"; a single series' gap is marked by a dashed stub of
its colour on the time axis. (A sample that came late is not a gap: each sample holds
everything since the one before.) The y axis ends on
a round value with at most five ticks on 1, 2, 2.5 or 5 x 10^n (whole numbers for counts).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

PLOT_H = 150  # px
PHASE_H = 16
LABEL_ROW = 14
MAX_LABEL_ROWS = 3
AXIS_W = 52


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class Series:
    name: str
    ys: Sequence[float | None]
    color: str
    width: float = 2.0
    dashed: bool = False
    xs: Sequence[float] | None = None  # its own times (else the chart's)


@dataclass(frozen=True)
class Band:
    """A phase or a fault drawn over the chart: from ``start`` to ``end`` seconds."""

    start: float
    end: float
    label: str
    fill: str
    ink: str = "#111827"
    tip: str | None = None
    outline: bool = False  # added by hand: a dashed outline


def nice_ticks(vmax: float, *, integer: bool = False, count: int = 4) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 x 10^n; whole steps when ``integer``) up to the
    first at or above ``vmax``: at most ``count`` + 1 ticks."""
    if not vmax > 0 or not math.isfinite(vmax):
        vmax = 1.0
    raw = vmax / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude * 10
    for m in (1, 2, 2.5, 5, 10):
        candidate = m * magnitude
        if candidate >= raw and (not integer or float(candidate).is_integer()):
            step = candidate
            break
    if integer:
        step = max(1.0, step)
    n = math.ceil(vmax / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def time_step(xmax: float) -> float:
    """A round step for the time axis: about six ticks."""
    raw = max(xmax, 1.0) / 6
    for s in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600):
        if s >= raw:
            return float(s)
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))


def segments(xs: Sequence[float], ys: Sequence[float | None]
             ) -> tuple[list[list[tuple[float, float]]], list[tuple[float, float]]]:
    """The runs of consecutive points a line may join, and the gaps between them (from
    the last point before to the first after; none before the first or after the last)."""
    runs: list[list[tuple[float, float]]] = []
    gaps: list[tuple[float, float]] = []
    current: list[tuple[float, float]] = []
    last_seen: float | None = None
    for x, y in zip(xs, ys, strict=False):
        if y is None:
            if current:
                runs.append(current)
                current = []
            continue
        if last_seen is not None and not current:
            gaps.append((last_seen, x))
        current.append((x, float(y)))
        last_seen = x
    if current:
        runs.append(current)
    return runs, gaps


def chart(title: str, xs: Sequence[float], series: Sequence[Series], *, unit: str,
          fmt: Callable[[float], str], xmax: float, phases: Sequence[Band] = (),
          faults: Sequence[Band] = (), ymax: float | None = None, integer: bool = False,
          note: str = "", css_class: str = "chart", xmin: float = 0.0,
          x_labels: Mapping[float, str] | None = None, threshold: float | None = None) -> str:
    """A figure: caption and legend, then the plot (HTML + SVG). Time (s) on x from
    ``xmin`` to ``xmax``, or named positions (``x_labels``: a sweep's values); a
    ``threshold`` is a dashed red line."""
    span = max(xmax - xmin, 1e-9)
    values = [v for s in series for v in s.ys if v is not None]
    if threshold is not None:
        values.append(threshold)
    ticks = nice_ticks(ymax if ymax is not None else max([*values, 0.0]), integer=integer)
    top = ticks[-1]
    rows = min(MAX_LABEL_ROWS, len(faults))
    plot_top = PHASE_H + 4 + LABEL_ROW * rows

    def frac(t: float) -> float:
        return (min(max(t, xmin), xmin + span) - xmin) / span

    def left(t: float) -> str:
        return f"{100 * frac(t):.3f}%"

    def sx(t: float) -> float:
        return 1000 * frac(t)

    def at(x: float) -> str:
        return x_labels.get(x, f"{x:g}") if x_labels is not None else f"{x:g} s"

    def sy(v: float) -> float:
        return 1000 * (1 - min(max(v, 0.0), top) / top)

    def py(v: float) -> float:  # pixels from the plot area's top
        return plot_top + PLOT_H * (1 - min(max(v, 0.0), top) / top)

    height = plot_top + PLOT_H + 18
    area: list[str] = []
    for i, p in enumerate(phases):
        area.append(f'<div class="band phase" style="left:{left(p.start)};'
                    f'width:calc({left(p.end)} - {left(p.start)});background:{p.fill}" '
                    f'title="{esc(p.tip or p.label)}"><span>{esc(p.label)}</span></div>')
        if i:
            area.append(f'<div class="divider" style="left:{left(p.start)};top:{PHASE_H}px;'
                        f'height:{plot_top + PLOT_H - PHASE_H}px"></div>')
    for i, f in enumerate(faults):
        row = i % max(1, rows)
        outline = " manual" if f.outline else ""
        area.append(f'<div class="band fault{outline}" style="left:{left(f.start)};'
                    f'width:max(2px, calc({left(f.end)} - {left(f.start)}));top:{PHASE_H + 2}px;'
                    f'height:{plot_top + PLOT_H - PHASE_H - 2}px;background:{f.fill}" '
                    f'title="{esc(f.tip or f.label)}"><span style="top:{LABEL_ROW * row}px;'
                    f'color:{f.ink}">{esc(f.label)}</span></div>')
    svg = [f'<svg class="lines" viewBox="0 0 1000 1000" preserveAspectRatio="none" '
           f'style="top:{plot_top}px;height:{PLOT_H}px" aria-hidden="true">']
    for v in ticks:
        svg.append(f'<line x1="0" x2="1000" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#d1d5db" '
                   'vector-effect="non-scaling-stroke"/>')
    if threshold is not None:
        svg.append(f'<line class="threshold" x1="0" x2="1000" y1="{sy(threshold):.1f}" '
                   f'y2="{sy(threshold):.1f}" stroke="#dc2626" stroke-dasharray="2 3" '
                   'vector-effect="non-scaling-stroke"/>')
    per_series = []
    for s in series:
        times = s.xs if s.xs is not None else xs
        runs, gaps = segments(times, s.ys)
        per_series.append((s, times, runs, gaps))
    # stretches where no series has a value: shaded, said in words
    empty = _no_data(xs, [(times, s.ys) for s, times, _, _ in per_series])
    for a, b in empty:
        area.append(f'<div class="nodata" style="left:{left(a)};width:calc({left(b)} - '
                    f'{left(a)});top:{plot_top}px;height:{PLOT_H}px" '
                    f'title="no data {a:g}-{b:g} s"><span>no data</span></div>')
    points: list[str] = []
    for rank, (s, _times, runs, gaps) in reversed(list(enumerate(per_series))):
        dash = ' stroke-dasharray="6 3"' if s.dashed else ""
        for run in runs:
            d = " ".join(f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}"
                         for j, (x, y) in enumerate(run))
            svg.append(f'<path class="series" data-series="{esc(s.name)}" d="{d}" fill="none" '
                       f'stroke="{s.color}" stroke-width="{s.width}"{dash} '
                       'vector-effect="non-scaling-stroke" stroke-linejoin="round"/>')
            for x, y in run:
                points.append(f'<i class="pt" style="left:{left(x)};top:{py(y):.1f}px;'
                              f'background:{s.color}" title="{esc(s.name)} at {esc(at(x))}: '
                              f'{esc(fmt(y))} {esc(unit)}"></i>')
        for a, b in gaps:  # this series alone has no data here: a stub on the time axis
            if any(c <= a and b <= d for c, d in empty):
                continue  # no series has data there: the shaded stretch says it
            area.append(f'<div class="gapmark" data-series="{esc(s.name)}" '
                        f'style="left:{left(a)};width:calc({left(b)} - {left(a)});'
                        f'top:{plot_top + PLOT_H - 3 - 3 * rank}px;border-color:{s.color}" '
                        f'title="{esc(s.name)}: no data {a:g}-{b:g} s"></div>')
    svg.append("</svg>")
    yaxis = "".join(f'<span style="top:{py(v) - 7:.1f}px">{esc(fmt(v))}</span>' for v in ticks)
    if x_labels is not None:
        xticks = "".join(f'<span style="left:{left(x)}">{esc(label)}</span>'
                         for x, label in sorted(x_labels.items()))
    else:
        step = time_step(span)
        xticks = "".join(f'<span style="left:{left(i * step)}">{i * step:g}s</span>'
                         for i in range(math.ceil(xmin / step), int(xmax // step) + 1))
    legend = "".join(f'<span class="key"><i style="background:{s.color}"></i>{esc(s.name)}'
                     "</span>" for s in series if any(v is not None for v in s.ys))
    if not legend:
        legend = '<span class="key">no data</span>'
    caption = (f"{esc(title)} <small>({esc(unit)})</small><div class=\"legend\">{legend}</div>"
               + (f'<div class="note">{esc(note)}</div>' if note else ""))
    return (f'<figure class="{css_class}" data-title="{esc(title)}"><figcaption>{caption}'
            f'</figcaption><div class="plot" style="height:{height}px">'
            f'<div class="yaxis">{yaxis}</div><div class="area">{"".join(area)}'
            f'{"".join(svg)}{"".join(points)}<div class="xaxis" style="top:{plot_top + PLOT_H}px">'
            f"{xticks}</div></div></div></figure>")


def _no_data(xs: Sequence[float], series: Sequence[tuple[Sequence[float], Sequence[float | None]]]
             ) -> list[tuple[float, float]]:
    """Stretches where no series has a value, between two times that have one."""
    have: dict[float, bool] = dict.fromkeys(xs, False)
    for times, ys in series:
        for x, y in zip(times, ys, strict=False):
            have[x] = have.get(x, False) or y is not None
    out: list[tuple[float, float]] = []
    last_with: float | None = None
    missing = False
    for x in sorted(have):
        if have[x]:
            if missing and last_with is not None:
                out.append((last_with, x))
            missing = False
            last_with = x
        else:
            missing = True
    return out


# the palette of lines told apart by colour (compare: BASE grey, NEW orange; sweep lines)
COLORS = ["#6b7280", "#ea580c", "#2563eb", "#16a34a", "#9333ea", "#dc2626", "#0891b2"]

# the page around the charts of compare and sweep (the run report has its own)
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


CHART_STYLE = f"""
figure.chart {{ margin: 0 0 18px; }}
figure.chart figcaption {{ font-weight: 600; margin-bottom: 4px; font-size: 14px; }}
.legend, .note {{ font-weight: 400; font-size: 12px; }} .note {{ color: #4b5563; }}
.key {{ margin-right: 12px; white-space: nowrap; display: inline-block; }}
.key i {{ display: inline-block; width: 12px; height: 3px; margin-right: 4px;
  vertical-align: middle; }}
.plot {{ position: relative; background: #fafafa; border: 1px solid #e5e7eb;
  padding-left: {AXIS_W}px; padding-right: 10px; font-size: 11px; line-height: 14px; }}
.plot .yaxis {{ position: absolute; left: 0; top: 0; bottom: 0; width: {AXIS_W - 4}px; }}
.plot .yaxis span {{ position: absolute; right: 0; color: #4b5563; white-space: nowrap; }}
.plot .area {{ position: relative; height: 100%; }}
.plot .band {{ position: absolute; overflow: hidden; box-sizing: border-box; }}
.plot .band span {{ position: absolute; left: 3px; right: 2px; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }}
.plot .phase {{ top: 0; height: {PHASE_H}px; border: 0.5px solid #9ca3af; }}
.plot .phase span {{ top: 1px; color: #111827; }}
.plot .fault {{ opacity: 0.6; }} .plot .fault span {{ font-weight: 600; }}
.plot .fault.manual {{ outline: 1px dashed #6b7280; outline-offset: -1px; }}
.plot .divider {{ position: absolute; border-left: 1px dashed #6b7280; }}
.plot svg.lines {{ position: absolute; left: 0; width: 100%; overflow: visible; }}
.plot .nodata {{ position: absolute; box-sizing: border-box; border: 1px dashed #9ca3af;
  background: repeating-linear-gradient(135deg, #f3f4f6 0 4px, #e5e7eb 4px 8px);
  overflow: hidden; }}
.plot .nodata span {{ position: absolute; left: 3px; top: 2px; color: #4b5563;
  white-space: nowrap; }}
.plot .gapmark {{ position: absolute; height: 0; border-top: 2px dashed; }}
.plot .pt {{ position: absolute; width: 6px; height: 6px; margin: -3px 0 0 -3px;
  border-radius: 3px; }}
.plot .xaxis {{ position: absolute; left: 0; right: 0; height: 16px; }}
.plot .xaxis span {{ position: absolute; transform: translateX(-50%); top: 2px;
  color: #4b5563; white-space: nowrap; }}
"""
