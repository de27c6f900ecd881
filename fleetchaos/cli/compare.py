"""`fleetchaos compare BASE NEW`: the regression gate between two runs, its options and output.

Each side is a run's journal (``*.journal.jsonl``: time series, so the HTML can overlay
charts) or its summary JSON (``--summary``, or a ``--repeat`` summary whose SLOs carry
a median and a spread); reading them is :mod:`fleetchaos.runs.compare`. Exit 0 no
regression, 1 a regression, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fleetchaos.common.errors import EXIT_BREACH, EXIT_PASS, UsageError
from fleetchaos.reports.compare.comparison import DEFAULT_TOLERANCES, Comparison
from fleetchaos.runs.compare import run_compare

EPILOG = """\
examples:
  fleetchaos compare main.journal.jsonl branch.journal.jsonl --markdown comment.md
  fleetchaos compare base-summary.json new-summary.json --tolerance unlock_p95_ms=10%

default tolerances (NEW may be this much worse before it counts):
""" + "\n".join(f"  {m}={t}" for m, t in DEFAULT_TOLERANCES.items()) + """
  (runs made with --repeat: the larger of the two runs' measured spreads instead)
exit codes: 0 no regression, 1 a regression, 2 bad input"""


HELP = "compare two runs SLO by SLO; exit 1 when NEW regressed beyond a tolerance"
DESCRIPTION = ("Compare two runs (journals or summary JSON files) SLO by SLO and phase by phase; "
               "exit 1 when NEW is worse than BASE beyond a tolerance.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("base", metavar="BASE", help="the reference run: journal or summary JSON")
    p.add_argument("new", metavar="NEW", help="the run under test: journal or summary JSON")
    p.add_argument("--tolerance", action="append", default=[], metavar="METRIC=VALUE",
                   help="how much worse NEW may be, absolute (0.05) or relative to BASE "
                        "(10%%); repeatable")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="write Markdown (PR comment)")
    p.add_argument("--html", type=Path, metavar="FILE",
                   help="write HTML with the two runs' charts overlaid")
    p.add_argument("--width", type=int, default=None, help="terminal width to render at")


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _warnings(comparison: Comparison) -> list[str]:
    """What makes the comparison weaker than it looks: two different scenarios (SLOs are
    matched by name), a journal written by a newer fleetchaos."""
    from fleetchaos.scenarios.journal import version_warning

    out = []
    base, new = (side.summary.scenario or "" for side in (comparison.base, comparison.new))
    if base and new and base != new:
        out.append(f"BASE is a run of {base!r} and NEW of {new!r}: different scenarios, "
                   "compared SLO by SLO and phase by phase where the names match")
    for side in (comparison.base, comparison.new):
        if side.journal is not None:
            warning = version_warning([side.journal.header.to_json()], side.path)
            if warning:
                out.append(warning)
    return out


def run(ns: argparse.Namespace) -> int:
    from rich.console import Console

    from fleetchaos.reports.compare.terminal import CompareReport
    from fleetchaos.runs.output_paths import check_outputs

    check_outputs({"--markdown": ns.markdown, "--html": ns.html},
                  {"BASE": Path(ns.base), "NEW": Path(ns.new)})
    comparison = run_compare(ns.base, ns.new, ns.tolerance)
    for warning in _warnings(comparison):
        print(f"fleetchaos compare: warning: {warning}", file=sys.stderr)
    if ns.markdown is not None:
        from fleetchaos.reports.compare.markdown import render_compare_markdown

        _write(ns.markdown, render_compare_markdown(comparison))
    if ns.html is not None:
        from fleetchaos.reports.compare.html import render_compare_html

        _write(ns.html, render_compare_html(comparison))
    Console(width=ns.width).print(CompareReport(comparison))
    for label, path in (("Markdown", ns.markdown), ("HTML", ns.html)):
        if path is not None:
            print(f"{label:>8}: {path}")
    return EXIT_BREACH if comparison.regressions else EXIT_PASS
