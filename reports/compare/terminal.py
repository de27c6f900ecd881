"""`fleetchaos compare` in the terminal: the settings that differ, the SLOs, the phases'
figures, and the requests each run made (per phase and per phone API action).

Readable at 80 columns (``reports/fit.py``): an SLO's name is never cut; when the SLO
table would not fit, each SLO is its name on one line and its figures on the next.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from fleetchaos.reports.compare.comparison import (
    Comparison,
    Requests,
    Row,
    format_delta,
    format_tolerance,
    format_value_of,
)
from fleetchaos.reports.fit import Cell, Column, fitted_table
from fleetchaos.reports.format import num

STATUS_STYLE = {"regression": "bold red", "lost": "bold red", "improved": "green",
                "gained": "green", "same": "dim", "n/a": "dim"}
STATUS_TEXT = {"regression": "WORSE", "lost": "WORSE (no data)", "improved": "better",
               "gained": "better (data)", "same": "same", "n/a": "-"}
FIGURES = {"unlock_success_ratio": "unlock ok", "error_5xx_ratio": "5xx share",
           "stranded_drivers": "stranded", "telemetry_ack_ratio": "telemetry acked",
           "api_p95_ms": "API p95"}


def _verdict(passed: bool | None) -> str:
    return "" if passed is None else (" ✓" if passed else " ✗")


def _row_cells(row: Row) -> list[Cell]:
    return [format_value_of(row, False) + _verdict(row.base_passed),
            format_value_of(row, True) + _verdict(row.new_passed),
            format_delta(row), format_tolerance(row),
            Text(STATUS_TEXT[row.status], style=STATUS_STYLE[row.status])]


def requests_cells(r: Requests) -> list[str]:
    ratio = r.ratio
    return [num(r.base), num(r.new), "-" if ratio is None else f"x{ratio:.2f}"]


def requests_label(r: Requests) -> str:
    return r.phase if r.action is None else f"  {r.action}"


FIGURE_COLUMNS = [Column("BASE"), Column("NEW"), Column("change"),
                  Column("tolerance", drop=1), Column("", "left")]


class CompareReport:
    """Renders itself (rich), so the same object prints and exports."""

    def __init__(self, comparison: Comparison) -> None:
        self.c = comparison

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        c = self.c
        yield Text(f"BASE {c.base.label}  ({c.base.path})\nNEW  {c.new.label}  ({c.new.path})")
        style = "bold red" if c.regressions else "bold green"
        yield Text(c.headline(), style=style)
        yield self._settings()
        yield self._slos(console, options)
        if c.phases:
            rows: list[Sequence[Cell]] = [[row.group, FIGURES.get(row.metric, row.metric),
                                           *_row_cells(row)] for row in c.phases]
            note = ("phase figures an SLO already judges are not repeated: "
                    + ", ".join(c.judged_by_slo)) if c.judged_by_slo else None
            yield fitted_table(console, options,
                               [Column("phase", "left"), Column("figure", "left"),
                                *FIGURE_COLUMNS], rows, title="Phases", caption=note)
        if c.requests:
            rows = [[requests_label(r), *requests_cells(r)] for r in c.requests]
            yield fitted_table(console, options,
                               [Column("phase / action", "left"), Column("BASE"),
                                Column("NEW"), Column("NEW/BASE")], rows,
                               title="Requests (retries show as amplification)",
                               caption="requests are compared, never a regression by "
                                       "themselves")
        if c.only_base or c.only_new:
            yield Text("only in BASE: " + (", ".join(c.only_base) or "-") +
                       "\nonly in NEW: " + (", ".join(c.only_new) or "-"), style="yellow")

    def _settings(self) -> RenderableType:
        c = self.c
        if c.base.summary.config is None or c.new.summary.config is None:
            side = "BASE" if c.base.summary.config is None else "NEW"
            return Text(f"settings: not recorded for {side} (a summary of an earlier "
                        "version)", style="dim")
        if not c.settings:
            return Text("settings: the same for both runs", style="dim")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(style="yellow")
        for what, base, new in c.settings:  # a long value wraps beside its name
            grid.add_row(f"  {what}:", f"{base} → {new}")
        return Group(Text("settings that differ (BASE → NEW):", style="bold"), grid)

    def _slos(self, console: Console, options: ConsoleOptions) -> RenderableType:
        c = self.c
        title = "SLOs (✓ held, ✗ breached)"
        rows: list[Sequence[Cell]] = [[row.name, *_row_cells(row)] for row in c.slos]
        table = fitted_table(console, options, [Column("SLO", "left"), *FIGURE_COLUMNS], rows,
                             title=title)
        if not table.dropped:
            return table
        out: list[RenderableType] = [Text(title, style="italic")]
        for row in c.slos:  # narrow: the name whole on its own line, its figures below
            base, new, change, tolerance, status = _row_cells(row)
            line = Text(f"      {base} → {new}  {change} (tolerance {tolerance})  ")
            line.append_text(status if isinstance(status, Text) else Text(status))
            out += [Text(f"  {row.name}"), line]
        return Group(*out)
