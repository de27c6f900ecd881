"""The sweep's report from a sweep.json alone (no runs): rows per combination, medians and
held counts with --repeat, the SLOs that differ, and one chart per SLO in the HTML."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console

from fleetchaos.reports.sweep.html import render_sweep_html
from fleetchaos.reports.sweep.markdown import render_sweep_markdown
from fleetchaos.reports.sweep.table import Sweep, combo_rows, differs, slo_infos
from fleetchaos.reports.sweep.terminal import SweepReport

UNLOCK = {"name": "unlocks work", "metric": "unlock_success_ratio", "op": ">=",
          "threshold": 0.95}
STRANDED = {"name": "nobody stranded", "metric": "stranded_drivers", "op": "<=",
            "threshold": 0}


def run(policy: str, repeat: int, unlock: float, stranded: int) -> dict[str, Any]:
    return {"combo": {"fleet.retry_policy": policy}, "repeat": repeat,
            "journal": f"out/{policy}-r{repeat}.journal.jsonl", "rc": 1, "verdict": "fail",
            "slos": [{**UNLOCK, "observed": unlock, "passed": unlock >= 0.95},
                     {**STRANDED, "observed": stranded, "passed": stranded <= 0}]}


SWEEP: dict[str, Any] = {"scenario": "verbosity-flood-2021", "repeat": 3,
                         "vary": {"fleet.retry_policy": ["fixed-1s", "retry-budget"]},
                         "runs": [run("fixed-1s", 1, 0.70, 9), run("fixed-1s", 2, 0.74, 7),
                                  run("fixed-1s", 3, 0.96, 8),
                                  run("retry-budget", 1, 0.99, 0), run("retry-budget", 2, 0.97, 0),
                                  run("retry-budget", 3, 0.98, 0)]}


def test_rows_hold_medians_held_counts_and_spread() -> None:
    rows = combo_rows(Sweep.from_json(SWEEP))
    assert [r.label for r in rows] == ["fleet.retry_policy=fixed-1s",
                                       "fleet.retry_policy=retry-budget"]
    fixed = rows[0].cells["unlocks work"]
    assert (fixed.observed, fixed.held, fixed.runs, fixed.passed) == (0.74, 1, 3, False)
    assert fixed.spread is not None and abs(fixed.spread - 0.26) < 1e-9
    assert rows[1].cells["nobody stranded"].passed
    assert len(rows[0].journals) == 3
    assert differs(rows, slo_infos(Sweep.from_json(SWEEP))) == ["unlocks work", "nobody stranded"]


def test_terminal_markdown_and_html_say_the_same() -> None:
    console = Console(record=True, width=100, color_system=None)
    console.print(SweepReport(SWEEP))
    text = console.export_text()
    assert "74.0% ✗ 1/3 held" in text and "98.0% ✓ 3/3 held" in text
    assert "SLO 1  unlocks work (≥ 95.0%)  (differs between combinations)" in text
    assert "out/fixed-1s-r2.journal.jsonl" in text
    md = render_sweep_markdown(SWEEP)
    assert "| fleet.retry_policy=retry-budget | 98.0% ✅ 3/3 held | 0 ✅ 3/3 held |" in md
    page = render_sweep_html(SWEEP)
    assert page.count('<figure class="chart"') == 2
    assert ">fixed-1s</span>" in page and ">retry-budget</span>" in page  # x axis labels
    assert 'class="threshold"' in page  # each SLO's threshold drawn
    assert page.count("<tr><td>") == 6  # every run listed with its journal


def test_a_combination_without_an_observation_breaks_the_sweeps_line() -> None:
    """Three cars values; the middle one has no observation for the SLO: its line stops
    there and starts again, instead of joining 100 to 300 across the missing value."""
    runs = [{"combo": {"fleet.cars": cars}, "repeat": 1, "journal": f"out/{cars}.jsonl",
             "rc": 1, "verdict": "fail",
             "slos": [] if cars == "200" else [{**UNLOCK, "observed": o, "passed": o >= 0.95}]}
            for cars, o in (("100", 0.99), ("200", 0.0), ("300", 0.7))]
    page = render_sweep_html({"scenario": "s", "repeat": 1,
                              "vary": {"fleet.cars": ["100", "200", "300"]}, "runs": runs})
    paths = re.findall(r'<path class="series"[^>]* d="([^"]+)"', page)
    assert paths and all(d.count("L") == 0 for d in paths)  # single points, no joining segment


def test_an_slo_a_run_could_not_judge_is_neither_held_nor_broke() -> None:
    """Issue 22: an SLO on 3 samples is not printed like one on 3,000. A run whose SLO was
    'insufficient' reads '?' and 'too few samples' in every renderer, never ✗ or ✓."""
    thin = {**SWEEP, "repeat": 1, "runs": [
        {**run("fixed-1s", 1, 1.0, 0), "verdict": "insufficient", "rc": 4,
         "slos": [{**UNLOCK, "observed": 1.0, "passed": False, "status": "insufficient",
                   "samples": 3, "min_samples": 20},
                  {**STRANDED, "observed": 0, "passed": True, "status": "pass"}]},
        run("retry-budget", 1, 0.99, 0)]}
    [fixed, budget] = combo_rows(Sweep.from_json(thin))
    cell = fixed.cells["unlocks work"]
    assert (cell.short, cell.passed) == (1, False)
    assert budget.cells["unlocks work"].passed
    console = Console(record=True, width=100, color_system=None)
    console.print(SweepReport(thin))
    text = console.export_text()
    assert "100.0% ? too few samples" in text and "100.0% ✗" not in text
    assert "| 100.0% ? too few samples |" in render_sweep_markdown(thin)
