"""`fleetchaos breakpoint SCENARIO --search KEY=LO..HI --slo NAME`: its options and printing.

The search itself (bisection, repeats near the boundary, its resumable journal) is
library code in :mod:`fleetchaos.runs.breakpoint`; this module parses the command line,
prints one line per run and renders the table and the finding.

Exit codes: 0 the search finished, 1 the budget ran out first (rerun to continue; also
when it was shorter than one run), 2 bad input (before any run: a ``--journal`` that is
not this search's own journal included), 3 a run failed, 4 a run measured nothing at its
value (the SLO lacked samples, or the fault was under-delivered): the search stops there
rather than count it as a break.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleetchaos.cli import crash_log
from fleetchaos.cli.sweep import add_run_arguments, settings_from
from fleetchaos.common.errors import (
    EXIT_BREACH,
    EXIT_NO_EFFECT,
    EXIT_PASS,
    VERDICT_CODES,
    UsageError,
)
from fleetchaos.runs.breakpoint import (
    RUN_OVERHEAD_S,
    Probe,
    SearchRun,
    Space,
    parse_budget,
    parse_space,
    resolve_slo,
    runner_for,
    search,
    search_journal,
)
from fleetchaos.runs.sweep import EXIT_RUN_FAILED

EPILOG = """\
example:
  fleetchaos breakpoint verbosity-flood-2021 --search timeline.0.verbosity.level=1..60 \\
      --slo "unlocks keep working during the flood" --budget 10m

LO..HI both whole numbers: whole values, resolution 1; otherwise --resolution
(default a twentieth of the range). The search's journal and every run's journal go
to DIR/breakpoint-<id>/ (the id comes from the arguments, so the same command resumes).
exit codes: 0 finished, 1 budget ran out (rerun to continue), 2 bad input, 3 a run failed,
  4 a run measured nothing (its SLO lacked samples or its fault was under-delivered)"""


HELP = "bisect a numeric parameter for the smallest value that breaks an SLO"
DESCRIPTION = ("Bisect a numeric scenario field for the smallest value at which an SLO breaks; "
               "repeat runs near the boundary; report the value and its band.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--search", required=True, metavar="KEY=LO..HI",
                   help="the field and the range to search, e.g. fleet.cars=100..3000")
    p.add_argument("--slo", required=True, metavar="NAME", help="the SLO's name, as the "
                   "scenario gives it (see `fleetchaos validate` or a run's report)")
    p.add_argument("--budget", default="10m", metavar="DURATION",
                   help="wall time for this invocation, e.g. 600s, 10m (default 10m)")
    p.add_argument("--repeat-near", type=int, default=3, metavar="N",
                   help="runs at each of the two values bracketing the break (default 3)")
    p.add_argument("--resolution", type=float, default=None, metavar="X",
                   help="stop bisecting when the bracket is this narrow")
    p.add_argument("--out", type=Path, default=Path("fleetchaos-out"), metavar="DIR",
                   help="where the search's folder goes (default fleetchaos-out)")
    p.add_argument("--journal", type=Path, default=None, metavar="PATH",
                   help="the search's journal (default DIR/breakpoint-<id>/search.jsonl)")
    p.add_argument("--width", type=int, default=None, help="terminal width to render at")
    add_run_arguments(p, "breakpoint")


def _print_probe(space: Space, metric_fmt: Callable[[float | None], str]) -> Callable[[Probe], None]:
    def show(p: Probe) -> None:
        state = "held" if p.held else "BROKE"
        if not p.measured:
            state = f"not measured: the run {p.why_not_measured()}"
        print(f"  {space.key}={space.text(p.value)}: {state} (observed {metric_fmt(p.observed)}, "
              f"{p.seconds:g} s) {p.journal}", flush=True)
    return show


def render(space: Space, slo: str, result: SearchRun, fmt: Callable[[float | None], str],
           width: int | None) -> None:
    from rich.console import Console

    Console(width=width).print(SearchTable(space, result, fmt))
    style = "bold yellow" if result.finding.status == "stopped" else "bold"
    Console(width=width).print(result.finding.sentence(space, slo), style=style)


class SearchTable:
    """Every run of the search, fitted to the terminal (``reports/fit.py``): the varied
    value under the key's last part, the journal's file name (their folder in the title),
    the journal column left out first when the terminal is narrow."""

    def __init__(self, space: Space, result: SearchRun,
                 fmt: Callable[[float | None], str]) -> None:
        self.space, self.result, self.fmt = space, result, fmt

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from fleetchaos.reports.fit import Column, fitted_table

        probes = self.result.probes
        folders = {str(Path(p.journal).parent) for p in probes}
        where = f", journals in {folders.pop()}/" if len(folders) == 1 else ""
        rows = []
        for n, p in enumerate(probes, 1):
            state = "held" if p.held else "broke"
            if p.rc not in VERDICT_CODES:
                state = "run failed"
            elif not p.measured:
                state = "not measured"
            rows.append([str(n), self.space.text(p.value), state, self.fmt(p.observed),
                         f"{p.seconds:g}", Path(p.journal).name if where else p.journal])
        columns = [Column("#"), Column(self.space.key.rsplit(".", 1)[-1], "left",
                                       name=self.space.key),
                   Column("SLO", "left"), Column("observed"), Column("s", drop=1),
                   Column("journal", "left", drop=2)]
        yield fitted_table(console, options, columns, rows,
                           title=f"every run of the search ({len(probes)}{where})")


def run(ns: argparse.Namespace) -> int:
    from fleetchaos.reports.format import format_value

    space = parse_space(ns.search, ns.resolution)
    budget_s = parse_budget(ns.budget)
    if ns.repeat_near < 1:
        raise UsageError(f"--repeat-near must be at least 1, got {ns.repeat_near}")
    settings = settings_from(ns, ns.out)
    slo, slo_metric, duration_s = resolve_slo(settings, space, ns.slo)
    journal, run_dir = search_journal(settings, space, slo, ns.repeat_near, ns.out, ns.journal)
    earlier = journal.load()
    crash_log.send_to_folder(run_dir)  # a traceback beside the search's runs

    def fmt(value: float | None) -> str:
        return format_value(slo_metric, value)

    print(f"breakpoint: '{slo}' over {space.key} = {space.text(space.lo)}..{space.text(space.hi)}"
          f" (resolution {space.text(space.resolution)}, {ns.repeat_near} runs near the "
          f"boundary, budget {budget_s:g} s)", flush=True)
    print(f"  journal {journal.path}" + (f" (resuming: {len(earlier)} runs already made)"
                                         if earlier else ""), flush=True)
    result = search(space, runner_for(settings, space, slo, run_dir, len(earlier)), journal,
                    repeat_near=ns.repeat_near, budget_s=budget_s,
                    first_estimate_s=duration_s + RUN_OVERHEAD_S,
                    on_probe=_print_probe(space, fmt))
    journal.result(result.finding)
    render(space, slo, result, fmt, ns.width)
    print(f"  journal {journal.path}")
    failed = result.failed
    if failed is not None and failed.rc in VERDICT_CODES:
        hint = {"insufficient": "give the SLO more samples (more drivers or cars, a longer "
                                "--time-scale) or lower its min_samples with --set",
                "not_judged": "see the run's journal for why it ended early"}.get(
            failed.status, "the run's report gives the fault's size asked and delivered")
        print(f"fleetchaos breakpoint: the run at {space.key}={space.text(failed.value)} "
              f"{failed.why_not_measured()}: it places nothing, so the search stopped; {hint} "
              f"({failed.journal})", file=sys.stderr)
        return EXIT_NO_EFFECT
    if failed is not None:
        print(f"fleetchaos breakpoint: the run at {space.key}={space.text(failed.value)} "
              f"failed (exit {failed.rc}); see {failed.journal} and its log; "
              "rerun the same command to continue", file=sys.stderr)
        return EXIT_RUN_FAILED
    if result.finding.status == "stopped" and not result.finding.runs:
        print(f"fleetchaos breakpoint: the budget ({budget_s:g} s) is shorter than one run "
              f"(about {duration_s + RUN_OVERHEAD_S:g} s): nothing was run; give a larger "
              "--budget", file=sys.stderr)
        return EXIT_BREACH
    if result.finding.status == "stopped":
        print("fleetchaos breakpoint: the budget ran out before the band narrowed; rerun the "
              "same command to continue", file=sys.stderr)
        return EXIT_BREACH
    return EXIT_PASS
