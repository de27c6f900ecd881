"""The HTML report in headless Chromium at 800 px: laid out without horizontal overflow,
chart text still readable, and the screenshot shows the verdict, the phase bands and the
fault shading (installed by `make test`'s set-up; skipped with the reason otherwise)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from journal_factory import write_journal
from png import has_color, read_png

from fleetchaos.reports.run.export import write_all
from fleetchaos.scenarios.journal import read_journal

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None,
                                 reason="chromium not installed (make test installs it)")]

PROBE = """<script>
const svgs = [...document.querySelectorAll('figure svg')];
const texts = [...document.querySelectorAll('figure svg text')];
document.body.setAttribute('data-probe', JSON.stringify({
  viewport: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
  charts: svgs.map(s => s.getBoundingClientRect().width),
  smallestText: Math.min(...texts.map(t => t.getBoundingClientRect().height)),
  verdict: document.getElementById('verdict').textContent,
  hoverable: document.querySelectorAll('svg circle > title').length,
  faultLabels: [...new Set([...document.querySelectorAll('g.fault text')].map(
    t => t.textContent.trim()))],
}));
</script></body>"""


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--force-device-scale-factor=1",
             f"--user-data-dir={profile}", "--virtual-time-budget=3000"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def report_html(tmp_path: Path) -> Path:
    records = read_journal(write_journal(tmp_path / "j.jsonl"))
    write_all(records, html=tmp_path / "report.html")
    return tmp_path / "report.html"


def probe(report: Path, tmp_path: Path, width: int) -> dict[str, Any]:
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE))
    dom = chromium(tmp_path / "profile", "--dump-dom", f"--window-size={width},1200",
                   probed.as_uri()).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[-2000:]
    return dict(json.loads(html.unescape(found.group(1))))


def test_html_report_reads_at_800_px(report_html, tmp_path):
    seen = probe(report_html, tmp_path, 800)
    assert seen["viewport"] == 800
    assert seen["scrollWidth"] <= 800  # nothing wider than the window: no sideways scroll
    assert len(seen["charts"]) >= 6 and all(560 <= w <= 800 for w in seen["charts"])
    assert seen["smallestText"] >= 9  # 10-unit SVG text scaled to the chart's width
    assert seen["verdict"] == "FAIL" and seen["hoverable"] > 50
    assert {"verbosity x60 on 50 %", "by hand: latency 500 ms on api"} <= {
        re.sub(r" \(\d+-\d+ s\)$", "", label) for label in seen["faultLabels"]}


def test_html_report_screenshot_at_800_px_shows_verdict_phases_and_faults(report_html,
                                                                          tmp_path):
    shot = tmp_path / "report-800.png"
    chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=800,1100",
             report_html.as_uri())
    assert shot.exists(), "chromium wrote no screenshot"
    width, height, rows = read_png(shot)
    assert (width, height) == (800, 1100)
    assert has_color(rows, (0xDC, 0x26, 0x26), y1=80)          # the red FAIL badge on top
    assert has_color(rows, (0xE5, 0xE7, 0xEB), y0=300)         # phase bands
    assert has_color(rows, (0xFE, 0xCA, 0xCA), y0=300)         # the first fault (timeline)
    assert has_color(rows, (0xFD, 0xE6, 0x8A), y0=300)         # the fault added by hand
