"""The HTML report in headless Chromium at 1280, 800 and 390 px (installed by `make test`'s
set-up; skipped with the reason otherwise): laid out without sideways scrolling, every word
at least 10 px even on a 390 px phone, fault labels inside their band, round axis values,
and where the phone API had no answer at all (seconds 5-7 of the journal below) no line is
drawn across the gap: checked in the DOM (no segment of a line spans the shaded "no data"
stretch) and in the screenshot (no pixel of a line's colour inside it).

1280 and 390 px are emulated over the DevTools protocol (``cdp.Browser``,
``Emulation.setDeviceMetricsOverride``): a headless window is never narrower than 500 px."""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cdp import Browser
from journal_factory import write_journal, write_story_journal
from png import has_color, read_png

from fleetchaos.reports.chart import nice_ticks
from fleetchaos.reports.run.export import write_all
from fleetchaos.reports.run.html import LINE_COLORS
from fleetchaos.scenarios.journal import JournalWriter, read_journal
from fleetchaos.scenarios.summary import build_summary

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None,
                                 reason="chromium not installed (make test installs it)")]

PROBE_JS = """(() => {
const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
const worded = [...document.querySelectorAll('body *')].filter(el =>
  !el.closest('pre, script, style') && visible(el) &&
  [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()));
const smallest = worded.map(el => ({px: parseFloat(getComputedStyle(el).fontSize),
                                    text: el.textContent.trim().slice(0, 40)}))
  .sort((a, b) => a.px - b.px)[0];
const success = document.querySelector('figure.chart[data-title^="Phone API success"]');
const gaps = [...success.querySelectorAll('.nodata')].map(g => g.getBoundingClientRect());
const svg = success.querySelector('svg.lines').getBoundingClientRect();
const crossing = [];
for (const path of success.querySelectorAll('path.series')) {
  let last = null;
  for (const [, cmd, x] of path.getAttribute('d').matchAll(/([ML])([\\d.]+),[\\d.]+/g)) {
    const px = svg.left + svg.width * parseFloat(x) / 1000;
    if (cmd === 'L' && last !== null)
      for (const g of gaps) if (last < g.left + 1 && px > g.right - 1)
        crossing.push([path.dataset.series, last, px, g.left, g.right]);
    last = px;
  }
}
const labels = [...document.querySelectorAll('figure.chart .band.fault')].map(band => {
  const span = band.querySelector('span'), b = band.getBoundingClientRect(),
        s = span.getBoundingClientRect();
  return {inside: s.left >= b.left - 0.5 && s.right <= b.right + 0.5, title: band.title,
          text: span.textContent};
});
document.body.setAttribute('data-probe', JSON.stringify({
  viewport: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
  charts: [...document.querySelectorAll('figure.chart .plot')].map(
    p => p.getBoundingClientRect().width),
  smallest, verdict: document.getElementById('verdict').textContent,
  hoverable: document.querySelectorAll('.plot .pt[title]').length,
  gaps: gaps.map(g => [g.left, g.top, g.right, g.bottom]), crossing, labels,
  yTicks: [...document.querySelectorAll('figure.chart .plot')].map(p => [...p.querySelectorAll(
    '.yaxis span')].map(s => s.textContent)).filter(t => t.length),
}));
return document.body.getAttribute('data-probe');
})()"""
PROBE = f"<script>{PROBE_JS}</script></body>"


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--force-device-scale-factor=1",
             f"--user-data-dir={profile}", "--virtual-time-budget=3000"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


def gap_journal(path: Path) -> Path:
    """The story journal, with no phone API answer at all in seconds 5-7 (the fleet's and
    the canary's actions left out of those samples): a stretch without data."""
    records = [r for r in read_journal(write_story_journal(path.with_suffix(".src")))
               if r["type"] != "summary"]
    for r in records:
        if r["type"] == "sample" and 5 <= r["t"] <= 7:
            r["by_action"] = {"telemetry": r["by_action"]["telemetry"]}
            r["by_status"] = {}
    j = JournalWriter(path)
    for r in records:
        j.write(r.pop("type"), **r)
    j.write("summary", t=12.6, **build_summary(read_journal(path)))
    j.close()
    return path


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    write_all(read_journal(write_journal(folder / "j.jsonl")), html=folder / "report.html")
    return folder / "report.html"


@pytest.fixture(scope="module")
def gap_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gap")
    write_all(read_journal(gap_journal(folder / "gap.jsonl")), html=folder / "gap.html")
    return folder / "gap.html"


def probe(report: Path, tmp_path: Path, width: int, height: int = 1200) -> dict[str, Any]:
    probed = tmp_path / f"probed-{width}.html"
    probed.write_text(report.read_text().replace("</body>", PROBE))
    dom = chromium(tmp_path / "profile", "--dump-dom", f"--window-size={width},{height}",
                   probed.as_uri()).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[-2000:]
    return dict(json.loads(html.unescape(found.group(1))))


def test_html_report_reads_at_800_px(report_html, tmp_path):
    seen = probe(report_html, tmp_path, 800)
    assert seen["viewport"] == 800
    assert seen["scrollWidth"] <= 800  # nothing wider than the window: no sideways scroll
    assert len(seen["charts"]) >= 7 and all(560 <= w <= 800 for w in seen["charts"])
    assert seen["smallest"]["px"] >= 10, seen["smallest"]
    assert seen["verdict"] == "FAIL" and seen["hoverable"] > 50
    assert {"verbosity x60 on 50 %", "by hand: latency 500 ms on api"} <= {
        label["text"] for label in seen["labels"]}


def test_html_report_screenshot_at_800_px_shows_verdict_phases_and_faults(report_html,
                                                                          tmp_path):
    shot = tmp_path / "report-800.png"
    chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=800,1400",
             report_html.as_uri())
    assert shot.exists(), "chromium wrote no screenshot"
    width, height, rows = read_png(shot)
    assert (width, height) == (800, 1400)
    assert has_color(rows, (0xDC, 0x26, 0x26), y1=80)          # the red FAIL badge on top
    assert has_color(rows, (0xE5, 0xE7, 0xEB), y0=300)         # phase bands
    assert has_color(rows, (0xFE, 0xCA, 0xCA), y0=300)         # the first fault (timeline)
    assert has_color(rows, (0xFD, 0xE6, 0x8A), y0=300)         # the fault added by hand


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM, tmp_path_factory.mktemp("cdp-profile"))
    yield b
    b.close()


def emulated(browser: Browser, page: Path, width: int, height: int) -> dict[str, Any]:
    """The page at ``width`` x ``height`` CSS px (scale 1), probed."""
    browser.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                 deviceScaleFactor=1, mobile=width < 600)
    browser.goto(page.as_uri())
    return dict(json.loads(browser.js(PROBE_JS)))


def test_round_axis_values() -> None:
    """No 19.5 drivers, no 347 records/s: 0 and steps of 1, 2, 2.5 or 5 x 10^n."""
    assert nice_ticks(19.5, integer=True) == [0, 5, 10, 15, 20]
    assert nice_ticks(347, integer=True) == [0, 100, 200, 300, 400]
    assert nice_ticks(1.0) == [0, 0.25, 0.5, 0.75, 1.0]
    assert nice_ticks(3, integer=True) == [0, 1, 2, 3]
    assert nice_ticks(0.0) == [0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize("width", [1280, 390])
def test_no_line_across_missing_data_and_words_readable(gap_html, browser, tmp_path, width):
    height = 3200
    seen = emulated(browser, gap_html, width, height)
    assert seen["viewport"] == width and seen["scrollWidth"] <= width
    assert seen["smallest"]["px"] >= 10, seen["smallest"]  # 390 px too: no 6-7 px words
    assert seen["gaps"], "the stretch without phone API answers is not marked"
    assert seen["crossing"] == []  # no line segment spans the stretch without data
    for ticks in seen["yTicks"]:  # round axis values, evenly spaced from 0
        values = [float(t.replace(",", "").rstrip("%")) for t in ticks]
        assert values[0] == 0 and len(values) <= 6, ticks
        step = values[1] - values[0]
        assert all(abs(b - a - step) < 1e-6 for a, b in itertools.pairwise(values))
        mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
        assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 5)), ticks
    for label in seen["labels"]:  # each fault's label inside its band, its title whole
        text = re.sub(r"^\d+\. ", "", label["text"])  # the timeline numbers its faults
        assert label["inside"] and text in label["title"], label
    shot = browser.call("Page.captureScreenshot", format="png",
                        clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
    path = tmp_path / f"gap-{width}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    png_width, _, rows = read_png(path)
    assert png_width == width
    left, top, right, bottom = (round(v) for v in seen["gaps"][0])
    assert bottom <= height, "the chart is below the screenshot"
    inside = [row[3 * (left + 3):3 * (right - 3)] for row in rows[top + 2:bottom - 2]]
    for color in LINE_COLORS:  # no line, no point of any series inside the gap
        assert not has_color(inside, _hex(color), tolerance=30, at_least=1), color
    # while the same chart draws its lines elsewhere (the check can see them)
    chart_rows = [row[3 * max(0, left - 200):3 * left] for row in rows[top:bottom]]
    assert has_color(chart_rows, _hex(LINE_COLORS[0]), tolerance=30, at_least=5)
