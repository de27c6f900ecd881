"""`fleetchaos sweep SCENARIO --vary KEY=V1,V2 ...`: its options and its printing.

The sweep itself (validation of every combination, the runs, sweep.json and the
reports) is library code in :mod:`fleetchaos.runs.sweep`; this module parses the
command line, prints the progress lines and renders the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fleetchaos.cli import crash_log
from fleetchaos.cli.options import add_options, values_from
from fleetchaos.common.errors import UsageError
from fleetchaos.runs.sweep import RunSettings, default_out_dir, parse_vary, prepare, run_sweep

EPILOG = """\
examples:
  fleetchaos sweep verbosity-flood-2021 \\
      --vary fleet.retry_policy=fixed-1s,exponential-full-jitter,retry-budget
  fleetchaos sweep api-500-storm --vary fleet.retry_policy=fixed-1s,retry-budget \\
      --vary fleet.cars=100,300 --repeat 3 --out sweep-out

KEY is any scenario field --set accepts (fleet.cars, timeline.0.verbosity.level, ...)
or a run option every run takes (seed, time_scale, workers, target, host).
Writes DIR/sweep.json, DIR/sweep.html, DIR/sweep.md and every run's journal in DIR.
exit codes: 0 every run completed, 2 bad input (nothing was started), 3 a run failed"""


def add_run_arguments(p: argparse.ArgumentParser, command: str = "sweep") -> None:
    """The scenario and the `fleetchaos run` options every run of a sweep or a search shares
    (declared in ``fleetchaos.common.run_options``)."""
    add_options(p, command)


def settings_from(ns: argparse.Namespace, out_dir: Path) -> RunSettings:
    """What every run shares, converted and checked by the options' declaration."""
    return RunSettings(**values_from(ns, ns.command), out_dir=out_dir)


HELP = "run a scenario once per combination of --vary values; one table and charts"
DESCRIPTION = ("Run a scenario once per combination of the --vary values (a matrix when several "
               "are given) and write one report: a row per combination, a column per SLO, a "
               "chart of each SLO against the varied value.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a scenario field and its values (repeatable: the runs are the matrix)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="runs per combination (cells show the median and how many held)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where the journals and reports go (default: fleetchaos-out/sweep-ID)")
    p.add_argument("--html", type=Path, metavar="FILE", help="HTML report (default DIR/sweep.html)")
    p.add_argument("--markdown", type=Path, metavar="FILE",
                   help="Markdown report (default DIR/sweep.md)")
    p.add_argument("--width", type=int, default=None, help="terminal width to render at")
    add_run_arguments(p)


def _say(text: str) -> None:
    print(text, flush=True)


def _warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(ns: argparse.Namespace) -> int:
    from rich.console import Console

    from fleetchaos.reports.sweep.terminal import SweepReport

    if ns.repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {ns.repeat}")
    vary = parse_vary(ns.vary)
    settings = settings_from(ns, ns.out or default_out_dir())
    sweep_plan = prepare(settings, vary, ns.repeat, html=ns.html, markdown=ns.markdown)
    crash_log.send_to_folder(sweep_plan.out_dir)  # a traceback beside the sweep's runs
    rc, sweep = run_sweep(sweep_plan, say=_say, warn=_warn)
    Console(width=ns.width).print(SweepReport(sweep))
    for label, path in (("data", sweep_plan.out_dir / "sweep.json"), ("HTML", sweep_plan.html_path),
                        ("Markdown", sweep_plan.md_path)):
        print(f"{label:>8}: {path}")
    return rc
